"""The durable local queue: SQS semantics on a SQLite file."""
import time

from azul.indexer.queue import LocalQueue


def test_messages_survive_reopening(tmp_path):
    path = tmp_path / 'queue.sqlite'
    queue = LocalQueue(path)
    queue.send('notifications', [{'n': 1}, {'n': 2}])
    queue.close()
    reopened = LocalQueue(path)
    messages = reopened.receive('notifications', 10)
    assert [m.body for m in messages] == [{'n': 1}, {'n': 2}]
    assert reopened.counts() == {'notifications': {'queued': 2, 'failed': 0}}


def test_received_messages_are_invisible_until_timeout(tmp_path):
    queue = LocalQueue(tmp_path / 'q.sqlite')
    queue.send('q', [{'a': 1}])
    [message] = queue.receive('q', visibility_timeout=0.2)
    assert queue.receive('q') == []
    time.sleep(0.25)
    [again] = queue.receive('q')
    assert again.body == {'a': 1}
    assert again.attempts == 2


def test_deleted_messages_are_gone(tmp_path):
    queue = LocalQueue(tmp_path / 'q.sqlite')
    queue.send('q', [{'a': 1}])
    [message] = queue.receive('q')
    queue.delete(message)
    assert queue.receive('q', visibility_timeout=0) == []
    assert queue.counts() == {}


def test_in_flight_messages_are_recovered_after_a_crash(tmp_path):
    path = tmp_path / 'q.sqlite'
    queue = LocalQueue(path)
    queue.send('q', [{'a': 1}])
    assert len(queue.receive('q', visibility_timeout=3600)) == 1
    queue.close()  # the process dies with the message in flight
    restarted = LocalQueue(path)
    assert restarted.receive('q') == []
    assert restarted.recover() == 1
    assert [m.body for m in restarted.receive('q')] == [{'a': 1}]


def test_failing_messages_move_to_the_fail_queue(tmp_path):
    queue = LocalQueue(tmp_path / 'q.sqlite', max_attempts=3)
    queue.send('q', [{'a': 1}])
    for attempt in range(1, 4):
        [message] = queue.receive('q')
        assert message.attempts == attempt
        queue.release(message)
    assert queue.receive('q') == []
    assert queue.counts() == {'q': {'queued': 0, 'failed': 1}}
    assert queue.redrive('q') == 1
    assert [m.body for m in queue.receive('q')] == [{'a': 1}]


def test_queues_are_separate(tmp_path):
    queue = LocalQueue(tmp_path / 'q.sqlite')
    queue.send('a', [{'x': 1}])
    queue.send('b', [{'y': 2}])
    assert [m.body for m in queue.receive('b')] == [{'y': 2}]
    assert [m.body for m in queue.receive('a')] == [{'x': 1}]


def test_messages_that_time_out_repeatedly_fail_too(tmp_path):
    queue = LocalQueue(tmp_path / 'q.sqlite', max_attempts=2)
    queue.send('q', [{'a': 1}])
    for _ in range(2):
        # received, then never acknowledged nor released: the worker died
        assert len(queue.receive('q', visibility_timeout=0)) == 1
    assert queue.receive('q', visibility_timeout=0) == []
    assert queue.counts() == {'q': {'queued': 0, 'failed': 1}}


def test_recovery_keeps_the_back_off_of_released_messages(tmp_path):
    queue = LocalQueue(tmp_path / 'q.sqlite')
    queue.send('q', [{'a': 1}, {'b': 2}])
    first, second = queue.receive('q', visibility_timeout=3600)
    queue.release(first, delay=3600)
    assert queue.recover() == 1  # only the one in flight
    assert [m.body for m in queue.receive('q')] == [{'b': 2}]


def test_fail_queue_operations(tmp_path):
    queue = LocalQueue(tmp_path / 'q.sqlite', max_attempts=1)
    queue.send('q', [{'n': 1}, {'n': 2}, {'n': 3}])
    queue.send('other', [{'n': 9}])
    for message in queue.receive('q', 10):
        queue.release(message)
    assert queue.failed('q', 2) == [{'n': 1}, {'n': 2}]
    assert queue.failed('q', 10) == [{'n': 1}, {'n': 2}, {'n': 3}]
    # Listing changes nothing
    assert queue.counts()['q'] == {'queued': 0, 'failed': 3}
    assert queue.purge_failed('q') == 3
    assert 'q' not in queue.counts()
    assert queue.failed('q', 10) == []
    # Other queues are left alone
    assert queue.counts()['other'] == {'queued': 1, 'failed': 0}
