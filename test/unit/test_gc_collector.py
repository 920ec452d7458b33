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

