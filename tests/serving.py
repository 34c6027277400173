"""Shared by the live-server fixtures (pages and reliability tests)."""

from __future__ import annotations

import subprocess
import time

import httpx


def wait_until_healthy(
    process: subprocess.Popen[bytes], url: str, timeout_s: float, poll_s: float = 0.1
) -> bool | None:
    """Wait for ``GET {url}/api/v1/health`` to answer 200.

    Returns True when it does, None when the process exited first, False on time-out.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return None
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(poll_s)
    return False
