"""
The local worker's pool of processes (`azul.indexer.live_pool`), with real
spawned processes: what it transforms and folds is what the worker's own
process makes of the same bundles, a process killed in the middle of a round
loses no message and changes no aggregate, and the processes end with the
server, or soon after a server killed with SIGKILL.
"""
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import pytest

from azul.adapters.server import LocalServer, worker_pool
from azul.config import Config
from azul.indexer.index import Indexer, Tally
from azul.indexer.live_pool import MIN_POOLED_FOLD, LivePool
from azul.indexer.queue import NOTIFICATIONS, LocalQueue
from azul.indexer.worker import Worker
from azul.runtime import Runtime
from conftest import CATALOG, SOURCE, make_config

ROOT = Path(__file__).resolve().parents[2]

# The DSS fixture bundles of SOURCE, counted by hand
# (ls /work/shared/fixtures/hca/bundles/indexer/*.dss.hca.json | wc -l)
FIXTURE_BUNDLES = 50


def _config(tmp_path: Path, name: str, **env) -> Config:
    return make_config('duckdb', tmp_path / name, 't' + uuid.uuid4().hex[:10],
                       catalogs={CATALOG: {'atlas': 'hca', 'internal': False,
                                           'plugins': {'metadata': {'name': 'hca'},
                                                       'repository': {'name': 'canned'}},
                                           'sources': [SOURCE]}},
                       extra_env=env)


def _bodies(runtime: Runtime) -> list[dict]:
    listing = runtime.repository_plugin(CATALOG).list_bundles(SOURCE)
    assert len(listing.bundles) == FIXTURE_BUNDLES and not listing.problems
    return [{'catalog': CATALOG, 'action': 'add', 'source': SOURCE,
             'uuid': fqid.uuid, 'version': fqid.version} for fqid in listing.bundles]


def _alive(pid: int) -> bool:
    # A zombie (dead, not yet waited for) counts as gone
    try:
        state = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != 'Z'


def _gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(map(_alive, pids)):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_the_setting_of_the_number_of_processes(tmp_path):
    assert _config(tmp_path, 'a', AZUL_INDEXER_PROCESSES='3').indexer_processes == 3
    assert _config(tmp_path, 'b').indexer_processes is None
    # One process: the worker transforms and folds in its own, as on Lambda
    assert worker_pool(_config(tmp_path, 'c', AZUL_INDEXER_PROCESSES='1')) is None
    # Opt-in: unset means the worker's own thread does it all
    assert worker_pool(_config(tmp_path, 'e')) is None
    assert worker_pool(_config(tmp_path, 'd', AZUL_INDEXER_PROCESSES='2')).processes == 2
    from azul.errors import ConfigError
    with pytest.raises(ConfigError, match='AZUL_INDEXER_PROCESSES'):
        _config(tmp_path, 'e', AZUL_INDEXER_PROCESSES='0')


def test_pool_transforms_and_folds_as_the_worker_does_despite_a_killed_process(tmp_path):
    runtime = Runtime(_config(tmp_path, 'index'))
    pool = LivePool(runtime.config, 2)
    try:
        bodies = _bodies(runtime)
        # A bundle the source does not hold fails alone, with the repository's error
        bodies.insert(7, {**bodies[0], 'uuid': str(uuid.uuid4())})
        indexer = Indexer(runtime)
        expected = []
        for body in bodies:
            try:
                expected.append(indexer.transform_bundle(
                    CATALOG, SOURCE, _fqid(body), deleted=False))
            except Exception as e:
                expected.append(e)
        assert [isinstance(e, Exception) for e in expected].count(True) == 1
        pool.start(wait=True)
        pending = pool.transform(bodies)
        # Whether it dies while its task runs or waits, the tasks it held
        # (or the pool, once broken, refuses) are done again
        os.kill(pool.pids()[0], signal.SIGKILL)
        results = pending.results()
        assert pool.replaced == 1
        assert len(results) == len(bodies)
        for result, reference in zip(results, expected, strict=True):
            if isinstance(reference, Exception):
                assert type(result) is type(reference) and str(result) == str(reference)
            else:
                assert result == reference
        by_entity = defaultdict(list)
        for result in expected:
            if not isinstance(result, Exception):
                for c in result[0]:
                    by_entity[c.entity_type, c.entity_id].append(c)
        pooled = set()
        for entity_type in {t for t, _ in by_entity}:
            contributions = {i: cs for (t, i), cs in by_entity.items() if t == entity_type}
            ids = sorted(contributions) + ['no-such-entity']
            folded = pool.fold(CATALOG, entity_type, ids, contributions)
            if sum(map(len, contributions.values())) < MIN_POOLED_FOLD:
                # The 50 projects contributions, say: left to the caller
                assert folded is None
            else:
                pooled.add(entity_type)
                assert folded == indexer.fold_all(CATALOG, entity_type, ids, contributions)
                assert folded['no-such-entity'] is None
        assert 'files' in pooled
        # A process killed while idle: the next task starts a new pool
        victim = pool.pids()[0]
        os.kill(victim, signal.SIGKILL)
        assert _gone_within([victim], 5)
        assert pool.transform(bodies[:2]).results() == expected[:2]
        assert pool.replaced == 2
    finally:
        pool.close()
        runtime.close()


def _fqid(body):
    from azul.core.documents import BundleFQID
    return BundleFQID(body['uuid'], body['version'])


def test_worker_with_a_process_killed_mid_round_loses_nothing(tmp_path):
    reference = Runtime(_config(tmp_path, 'reference'))
    runtime = Runtime(_config(tmp_path, 'pooled'))
    queue = LocalQueue(tmp_path / 'queue.sqlite')
    pool = LivePool(runtime.config, 2)
    worker = Worker(runtime, queue, pool)
    try:
        bodies = _bodies(runtime)
        reference_indexer = Indexer(reference)
        reference_indexer.create_indices(CATALOG)
        reference_indexer.index_bundles(CATALOG, SOURCE, [_fqid(b) for b in bodies])
        pool.start(wait=True)
        queue.send(NOTIFICATIONS, bodies)
        victim = pool.pids()[0]
        # Some time into the first round, which transforms 50 bundles
        killer = threading.Timer(0.2, os.kill, (victim, signal.SIGKILL))
        killer.start()
        rounds = 0
        while worker.process_once():
            rounds += 1
            assert rounds < 20
        killer.join()
        assert not _alive(victim)
        assert pool.replaced == 1
        # Every message acknowledged, none failed
        assert queue.counts() == {}
        entities = _entities(reference_indexer, bodies)
        assert len(entities) > FIXTURE_BUNDLES
        for entity_type, entity_id in entities:
            assert (runtime.backend.get_aggregate(CATALOG, entity_type, entity_id)
                    == reference.backend.get_aggregate(CATALOG, entity_type, entity_id))
    finally:
        worker.close()
        queue.close()
        runtime.close()
        reference.close()


def _entities(indexer: Indexer, bodies) -> set[tuple[str, str]]:
    tally = Tally()
    for body in bodies:
        contributions, _ = indexer.transform_bundle(CATALOG, SOURCE, _fqid(body), deleted=False)
        tally.add(contributions)
    return tally.entities


def test_server_stops_its_processes(tmp_path):
    runtime = Runtime(_config(tmp_path, 'index', AZUL_INDEXER_PROCESSES='2'))
    server = LocalServer(runtime, '127.0.0.1', 0)
    try:
        server.start()
        pids = server.worker.pool.pids()
        assert len(pids) == 2 and all(map(_alive, pids))
    finally:
        server.stop()
        runtime.close()
    # Waited for, not merely signalled
    assert not any(map(_alive, pids))


# A server stand-in: a pool of two processes, started and waited for, whose
# process ids are printed before the process sleeps
_ORPHANING = '''
import pickle, sys, time
from azul.indexer.live_pool import LivePool
pool = LivePool(pickle.load(sys.stdin.buffer), 2)
pool.start(wait=True)
print(*pool.pids(), flush=True)
time.sleep(600)
'''


def test_processes_end_soon_after_their_server_is_killed(tmp_path):
    config = _config(tmp_path, 'index')
    env = {**os.environ, 'PYTHONPATH': str(ROOT / 'src')}
    proc = subprocess.Popen([sys.executable, '-c', _ORPHANING], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=False)
    try:
        proc.stdin.write(pickle.dumps(config))
        proc.stdin.close()
        pids = [int(pid) for pid in proc.stdout.readline().split()]
        assert len(pids) == 2 and all(map(_alive, pids))
    finally:
        proc.kill()
        proc.wait()
    # The processes check their parent every ORPHAN_CHECK_S (0.5 s)
    assert _gone_within(pids, 5)
