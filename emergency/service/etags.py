"""Strong ETags of the answers clients revalidate, each from what that answer depends on.

An ETag here is a hash of the inputs of an answer, never of its bytes: a client that sends
it back in ``If-None-Match`` is answered 304 after one small query, without reading or
rendering the answer. Each function checks the actor's right to the resource first, with
the same rules as the function that makes the answer: a 304 is only ever given to whoever
would get the 200.
"""

from __future__ import annotations

import hashlib


def etag(*parts: object) -> str:
    """A strong ETag (quoted) of ``parts``."""
    seen = "|".join(str(p) for p in parts)
    return '"' + hashlib.sha256(seen.encode()).hexdigest()[:32] + '"'
