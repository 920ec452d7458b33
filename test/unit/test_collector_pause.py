"""`collector.paused`: the cyclic collector off within the block, as it was after it."""
import gc
import threading

import pytest

from azul import collector


@pytest.fixture
def enabled():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def _pausing(begun: threading.Event, ended: threading.Event):
    """A thread's target pausing the collector from `begun` until `ended`."""
    def target():
        with collector.paused():
            begun.set()
            ended.wait(5)
    return target


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


def test_a_pause_ending_in_another_thread_does_not_resume_under_this_one(enabled):
    # The worker's rounds and the aggregate writes pause from several threads
    # of one process: the collector stays off until the last pause ends
    begun, ended = threading.Event(), threading.Event()
    other = _pausing(begun, ended)
    thread = threading.Thread(target=other)
    thread.start()
    assert begun.wait(5)
    with collector.paused():
        ended.set()
        thread.join(5)
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_pause_begun_in_another_thread_keeps_it_off_after_this_one(enabled):
    begun, ended = threading.Event(), threading.Event()
    other = _pausing(begun, ended)
    with collector.paused():
        thread = threading.Thread(target=other)
        thread.start()
        assert begun.wait(5)
    assert not gc.isenabled()
    ended.set()
    thread.join(5)
    assert gc.isenabled()
