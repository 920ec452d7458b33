"""`collector.paused`: the cyclic collector off within the block, as it was after it."""
import gc

import pytest

from azul import collector


@pytest.fixture
def enabled():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_paused_within_and_enabled_after(enabled):
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_enabled_after_an_exception(enabled):
    with pytest.raises(ValueError), collector.paused():
        raise ValueError('in the block')
    assert gc.isenabled()


def test_a_pause_within_a_pause_leaves_the_outer_one(enabled):
    with collector.paused():
        with collector.paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_left_off_if_it_was_off(enabled):
    gc.disable()
    with collector.paused():
        pass
    assert not gc.isenabled()
