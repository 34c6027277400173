"""Take ``docs/list.png``: the curtailment list of the bundled city in headless Chromium.

    .venv/bin/python docs/screenshot.py [--out docs/list.png] [--data DIR]

Opens a throw-away SQLite database for the data folder (the bundled one by default; the
folder itself is only read), lets a consultation open an orange response from tomorrow,
starts the service with uvicorn on a free port, signs in with a planner token and
photographs the list at 1366 px wide. Needs /usr/bin/chromium (``.ci/chromium.sh``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.pages.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.pages.live import LiveServer, seed  # noqa: E402

WIDTH, HEIGHT = 1366, 1180


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "list.png")
    parser.add_argument("--data", type=Path, default=REPO, help="data folder (default: bundled)")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: run .ci/chromium.sh", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="emergency-shot-") as tmp:
        db = f"sqlite:///{Path(tmp) / 'emergency.sqlite'}"
        print("seeding: tokens and an orange response ...", file=sys.stderr)
        seeded = seed(args.data, db)
        with (
            LiveServer(args.data, db, log=Path(tmp) / "uvicorn.log") as server,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": WIDTH, "height": 768}, locale="zh-CN")
            page.goto(f"{server.url}/login")
            page.get_by_label("令牌 Token").fill(seeded.tokens["planner"])
            page.get_by_role("button", name="登录 Sign in").click()
            page.wait_for_url(f"{server.url}/")
            page.goto(f"{server.url}/responses/{seeded.response_id}")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(
                path=str(args.out),
                full_page=True,
                clip={"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT},
            )
            browser.close()
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
