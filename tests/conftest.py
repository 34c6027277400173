"""Settings for the whole suite."""

from __future__ import annotations

import os
import tempfile

# The data-folder cache (emergency.datacache) of the commands the tests run goes to a
# throw-away folder, never to the user's ~/.cache; tests of the cache set their own.
os.environ.setdefault("EMERGENCY_CACHE_DIR", tempfile.mkdtemp(prefix="emergency-cache-"))
