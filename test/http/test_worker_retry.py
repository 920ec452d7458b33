"""
How long a failed notification waits before its next delivery: a backend
that is down gets a back-off that spans a cluster restart, a bundle that
does not exist fails fast. Delays are the literal schedule of
`retry_delay`'s docstring.
"""
import sqlite3
import time
import uuid

import pytest

from azul.backends.opensearch.backend import OpenSearchBackend
from azul.errors import BadRequestError, ServiceUnavailableError
from azul.indexer.queue import NOTIFICATIONS, LocalQueue
from azul.indexer.worker import Worker, retry_delay
from azul.runtime import Runtime
from conftest import CATALOG, SOURCES, make_config

# A DSS fixture bundle of the source (its file name carries uuid and version)
BUNDLE = {'uuid': 'aaa96233-bf27-44c7-82df-b4dc15ad4d9d',
          'version': '2018-11-02T11:33:44.698028Z'}


def test_schedule():
    assert [retry_delay(n, transient=True) for n in range(1, 8)] == \
        [10, 30, 90, 270, 600, 600, 600]
    assert [retry_delay(n, transient=False) for n in range(1, 8)] == \
        [2, 4, 8, 16, 32, 60, 60]


def _visible_at(queue_path) -> float:
    with sqlite3.connect(queue_path) as db:
        (visible_at,) = db.execute('SELECT visible_at FROM messages').fetchone()
    return visible_at


def _delayed_by(queue_path, delay: float, begun: float, ended: float) -> bool:
    """
    Whether the message is due `delay` seconds after some moment between
    `begun` and `ended`, when the worker put it back: a bound that holds
    however slowly the worker ran (a loaded machine took more than 2 s).
    """
    visible_at = _visible_at(queue_path)
    return begun + delay - 0.01 <= visible_at <= ended + delay + 0.01


@pytest.mark.parametrize('down', [True, False])
def test_worker_backs_off(tmp_path, down):
    config = make_config('duckdb', tmp_path, 't' + uuid.uuid4().hex[:10])
    backend = OpenSearchBackend('http://127.0.0.1:9', 'azul', 'x', timeout=2) if down else None
    runtime = Runtime(config, backend=backend)
    queue = LocalQueue(tmp_path / 'queue.sqlite')
    try:
        body = {'catalog': CATALOG, 'action': 'add', 'source': SOURCES[0], **BUNDLE}
        if not down:
            # A bundle the source does not hold: the repository refuses it
            body['uuid'] = str(uuid.uuid4())
        queue.send(NOTIFICATIONS, [body])
        begun = time.time()
        Worker(runtime, queue).process_once()
        ended = time.time()
        assert queue.counts()[NOTIFICATIONS] == {'queued': 1, 'failed': 0}
        # The schedule's first delay (`test_schedule`): 10 s if transient, else 2 s
        assert _delayed_by(tmp_path / 'queue.sqlite', 10 if down else 2, begun, ended)
    finally:
        queue.close()
        runtime.close()


def test_one_bad_notification_fails_alone(tmp_path):
    # Notifications are contributed as a batch (one write for all); a bundle
    # the source does not hold is released for a later attempt while the
    # others of its batch are indexed and their tallies sent
    config = make_config('duckdb', tmp_path, 't' + uuid.uuid4().hex[:10])
    runtime = Runtime(config)
    queue = LocalQueue(tmp_path / 'queue.sqlite')
    try:
        good = {'catalog': CATALOG, 'action': 'add', 'source': SOURCES[0], **BUNDLE}
        bad = {**good, 'uuid': str(uuid.uuid4())}
        queue.send(NOTIFICATIONS, [bad, good])
        worker = Worker(runtime, queue)
        worker.process_once()
        assert queue.counts()[NOTIFICATIONS] == {'queued': 1, 'failed': 0}
        while worker.process_once():
            pass
        # The good bundle's (only) bundles aggregate is there
        assert runtime.backend.get_aggregate(CATALOG, 'bundles', BUNDLE['uuid']) is not None
    finally:
        queue.close()
        runtime.close()


def _three_bundles(runtime: Runtime) -> list[dict[str, str]]:
    listing = runtime.repository_plugin(CATALOG).list_bundles(SOURCES[0])
    return [{'catalog': CATALOG, 'action': 'add', 'source': SOURCES[0],
             'uuid': fqid.uuid, 'version': fqid.version}
            for fqid in sorted(listing.bundles)[:3]]


@pytest.mark.parametrize('transient', [False, True])
def test_refused_write_fails_alone(tmp_path, transient):
    # A round's contributions are written in one call; if the backend
    # refuses it for cause, each bundle is written on its own, so that only
    # the one it refuses is released. A backend that is down fails the whole
    # round at once, without asking it again per bundle.
    config = make_config('duckdb', tmp_path, 't' + uuid.uuid4().hex[:10])
    runtime = Runtime(config)
    queue = LocalQueue(tmp_path / 'queue.sqlite')
    backend = runtime.backend
    write = backend.write_contributions
    calls = []
    try:
        bodies = _three_bundles(runtime)
        bad = bodies[1]['uuid']

        def refusing(catalog, contributions):
            contributions = list(contributions)
            calls.append({c.bundle.uuid for c in contributions})
            if transient:
                raise ServiceUnavailableError('down')
            if any(c.bundle.uuid == bad for c in contributions):
                raise BadRequestError('refused')
            return write(catalog, contributions)

        backend.write_contributions = refusing
        queue.send(NOTIFICATIONS, bodies)
        worker = Worker(runtime, queue)
        begun = time.time()
        worker.process_once()
        ended = time.time()
        assert queue.counts()[NOTIFICATIONS] == {'queued': 3 if transient else 1, 'failed': 0}
        if transient:
            assert len(calls) == 1
            assert _delayed_by(tmp_path / 'queue.sqlite', 10, begun, ended)
        else:
            assert calls[0] == {b['uuid'] for b in bodies}
            assert sorted(map(len, calls[1:])) == [1, 1, 1]
            while worker.process_once():
                pass
            for body in bodies:
                found = runtime.backend.get_aggregate(CATALOG, 'bundles', body['uuid'])
                assert (found is None) == (body['uuid'] == bad)
    finally:
        queue.close()
        runtime.close()
