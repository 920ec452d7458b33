"""
The garbage collector during bulk work.

A reindex makes millions of containers, and nearly all of them are freed by
reference counting: the collector's passes find almost nothing (the fixture
reindex: a few hundred objects of 1.5 million made), while each full pass
walks every object the process holds, the contributions held for the fold
among them. The fixture reindex spent 0.25 to 0.35 CPU s in 500 passes, 60
to 80 ms in each of the 3 to 5 full ones.

`paused` suspends the collector for a bounded unit of work (a batch of
aggregate writes, a round of the live indexer): the cycles it makes wait for
the next pass after it, so memory grows by at most one unit's garbage.
`frozen` moves the objects already held out of the collector's view
(`gc.freeze`) for a block, and `settle` those held by then: the passes
within see only what the block makes since. Objects frozen are still freed
by reference counting; only the cycles among them, none made before a
reindex or by holding its contributions, wait for the block's end.
`rare_full_passes` makes full passes rarer for a block whose objects
survive the young passes without being held for long (the bundle pass of a
reindex, whose results wait in a queue): each full pass walks all of them.

`freeze_held` does for a serving process what `frozen` does for a block:
once started, the service holds ~37,000 objects that live as long as it
(modules, classes, the apps, numpy's and DuckDB's), and a full pass walking
them took 18 to 33 ms on the 2-core machine, added to whichever request
made it. Requests make enough objects for a full pass every ten or so
summaries at 1M documents, so the passes were the slowest tenth of them.
"""
import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Pauses in progress, in every thread, and whether the collector ran before
# the first of them: the collector is one per process, so a pause ending in
# one thread must not resume it under another thread's pause, and a pause
# begun while another ends must not leave it off for good
_lock = threading.Lock()
_pauses = 0
_resume = False


@contextmanager
def paused() -> Iterator[None]:
    global _pauses, _resume
    with _lock:
        if not _pauses:
            # Not resumed after the last pause if something else had paused it
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if not _pauses and _resume:
                gc.enable()


@contextmanager
def rare_full_passes(factor: int = 10) -> Iterator[None]:
    """
    Within the block, a full pass comes after `factor` times as many passes
    of the middle generation: the cycles that only a full pass frees wait
    that much longer, so memory grows by at most that many times the
    garbage between two full passes.
    """
    threshold = gc.get_threshold()
    gc.set_threshold(threshold[0], threshold[1], threshold[2] * factor)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


@contextmanager
def frozen() -> Iterator[None]:
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def settle() -> None:
    """Within `frozen`: leave what the process holds now out of the passes to come."""
    gc.freeze()


def freeze_held() -> None:
    """
    Leave what a long-lived process holds once started out of the passes to
    come (until `release_held`); collected first, so that no garbage is
    frozen with it. Objects frozen are still freed by reference counting;
    only cycles among them, which modules and apps held for the process's
    life do not become, would wait.
    """
    gc.collect()
    gc.freeze()


def release_held() -> None:
    gc.unfreeze()
