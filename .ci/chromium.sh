#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests (pytest -m e2e) when it is missing.
#
#   .ci/chromium.sh            # then: .venv/bin/pytest -m e2e
#
# Playwright drives /usr/bin/chromium (executable_path); its own browser download is not
# used. Also installs a CJK font so that pages and screenshots show Chinese labels.
# Idempotent: with both present it only prints the version. Needs root (or sudo) to install.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
FONT_PACKAGE="${EMERGENCY_CJK_FONT_PACKAGE:-fonts-wqy-microhei}"

log() { echo "chromium.sh: $*" >&2; }

missing=()
[[ -x "$CHROMIUM" ]] || missing+=(chromium)
if ! dpkg-query -W -f='${Status}' "$FONT_PACKAGE" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$FONT_PACKAGE")
fi

if ((${#missing[@]})); then
    SUDO=""
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null 2>&1 || { log "need root to install: ${missing[*]}"; exit 1; }
        SUDO="sudo"
    fi
    command -v apt-get >/dev/null 2>&1 || { log "no apt-get: install ${missing[*]} by hand"; exit 1; }
    log "installing ${missing[*]} (Debian packages)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

[[ -x "$CHROMIUM" ]] || { log "$CHROMIUM still missing after the install"; exit 1; }
# The Debian wrapper script prints shell noise on some systems; the version line is what matters.
"$CHROMIUM" --headless --no-sandbox --disable-gpu --version 2>/dev/null | head -1
