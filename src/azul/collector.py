"""
Python's cyclic garbage collector paused around work that makes many
long-lived objects and few cycles (a batch of aggregates, a round of the
live indexer): each young-generation pass the allocations trigger examines
the objects made so far, and every few passes a full one walks the whole
heap, finding nothing, while reference counting frees what the work made at
its end.
"""
import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # Not if something else had paused it
        if enabled:
            gc.enable()
