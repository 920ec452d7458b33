import gc

import pytest

from azul import collector


@pytest.fixture(autouse=True)
def restored():
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()


def test_frozen_leaves_what_is_held_out_of_the_passes_until_its_end():
    assert gc.get_freeze_count() == 0
    with collector.frozen():
        held = gc.get_freeze_count()
        assert held > 0
        made = [[] for _ in range(1000)]
        # Not exactly `held`: a thread of another test in this process may
        # freeze or make objects meanwhile; what matters is that these are left
        assert gc.get_freeze_count() < held + 1000
        collector.settle()
        assert gc.get_freeze_count() >= held + 1000
        del made
    assert gc.get_freeze_count() == 0


def test_a_cycle_made_within_frozen_is_collected_within():
    with collector.frozen():
        a = []
        a.append(a)
        del a
        assert gc.collect() >= 1


def _full_passes(make: int) -> int:
    """Full passes while `make` lists are made and held (each survives the young passes)."""
    passes = []

    def count(phase, info):
        if phase == 'start' and info['generation'] == 2:
            passes.append(1)

    gc.callbacks.append(count)
    try:
        held = [[] for _ in range(make)]
        del held
    finally:
        gc.callbacks.remove(count)
    return len(passes)


def test_rare_full_passes_makes_full_passes_rarer_within_and_restores_the_threshold():
    threshold = gc.get_threshold()
    # On, whatever another test's thread left (the fixture restores it)
    gc.enable()
    try:
        gc.set_threshold(700, 10, 10)
        # Whether a full pass is taken depends on how many objects survived
        # the last one: frozen, and a full pass after, the heap of the tests
        # run before in this process counts for nothing (the fixture
        # unfreezes it)
        gc.collect()
        gc.freeze()
        gc.collect()
        often = _full_passes(1_000_000)
        with collector.rare_full_passes(10):
            assert gc.get_threshold() == (700, 10, 100)
            gc.collect()
            gc.freeze()
            gc.collect()
            rarely = _full_passes(1_000_000)
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*threshold)
    # 1,000,000 held lists: a young pass per 700, a middle one per 7,000, a
    # full one considered per 70,000 (per 700,000 within), and taken when
    # the lists held since the last exceed a quarter of those that survived
    # it: 8 and 1 on CPython 3.11
    assert often >= 5
    assert rarely <= often // 5
