"""Settings for the whole suite."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# The data-folder cache (emergency.datacache) of the commands the tests run goes to a
# throw-away folder, never to the user's ~/.cache; tests of the cache set their own.
if "EMERGENCY_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="emergency-cache-")
    os.environ["EMERGENCY_CACHE_DIR"] = _cache
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)
