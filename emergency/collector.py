"""Memory: the cyclic garbage collector, paused where the engine makes millions of
objects; the C heap a solver freed, handed back to the system.

Loading a city, building its duties and model and solving them create millions of
objects and no reference cycles; every collection of the oldest generation rescans all of
them (the loaded city too), which cost a fifth of the load time and half the time of the
duties at 50,000 sources. Reference counting still frees everything as usual.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block (nested blocks leave it as they found it)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def release_freed_memory() -> bool:
    """Give back to the system the C heap freed since (glibc's ``malloc_trim``; nothing
    elsewhere). A solver's working memory (GLOP's: 140 MB at 50,000 sources) is freed
    when it returns, but glibc keeps it for later C allocations, which Python's own small
    objects do not use: the list written after the search then came on top of it (peak
    RSS of ``respond --json`` at 50,000 sources 943 MiB, 830 with this). Whether any
    memory was given back."""
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False


__all__ = ["gc_paused", "release_freed_memory"]
