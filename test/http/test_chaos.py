"""
Crashes lose nothing: the local server (a real `azul serve` process) is
killed with SIGKILL while it indexes posted notifications, at several
points, and restarted; once its queue has drained, every aggregate document
equals that of a clean build of the same bundles (made in process by the
indexer, without the server or the queue). The durable queue re-delivers
what was in flight, and every indexing step is idempotent.
"""
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from azul.config import Config
from azul.core.filters import Filters
from azul.indexer.index import Indexer
from azul.runtime import Runtime
from conftest import FIXTURES, catalog_spec

ROOT = Path(__file__).resolve().parents[2]
CATALOG = 'chaos'
# DSS fixture bundles of several projects: the first 30 by uuid
SOURCE = f'file://{FIXTURES}/hca/bundles/indexer/*.dss.hca.json'
BUNDLES = 30
ENTITY_TYPES = ('files', 'samples', 'projects', 'bundles')


def _env(data_dir: Path, port: int) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith('AZUL_')},
        'AZUL_DEPLOYMENT': 'local', 'AZUL_DATA_DIR': str(data_dir),
        'AZUL_CATALOGS': json.dumps({CATALOG: catalog_spec([SOURCE])}),
        'AZUL_INDEX_BACKEND': 'duckdb', 'AZUL_DUCKDB_PATH': str(data_dir / 'index.duckdb'),
        'AZUL_ES_TIMEOUT': '30', 'AZUL_INDEX_PREFIX': 'azul', 'AZUL_HOST': '127.0.0.1',
        'AZUL_PORT': str(port), 'AZUL_QUEUE': 'local',
        'AZUL_QUEUE_PATH': str(data_dir / 'queue.sqlite'), 'AZUL_DEMO_BUNDLES': '1',
        'AZUL_AWS_REGION': 'us-east-1', 'AZUL_LOG_LEVEL': 'WARNING',
        'AZUL_DRS_DOMAIN': 'drs.chaos.test',
        # The environment files must not override the settings above
        'AZUL_ENV_MANAGED': '',
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _start(env: dict[str, str], port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, '-m', 'azul.adapters.cli', 'serve'],
                               env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f'http://127.0.0.1:{port}/health/basic', timeout=2)
            return process
        except OSError:
            assert process.poll() is None, 'the server exited'
            time.sleep(0.2)
    raise AssertionError('the server did not start')


def _post(port: int, fqid: dict, source: str) -> int:
    body = json.dumps({'bundle_fqid': {**fqid, 'source': {'id': 'chaos', 'spec': source}}})
    request = urllib.request.Request(f'http://127.0.0.1:{port}/{CATALOG}/add',
                                     data=body.encode(), method='POST',
                                     headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def _pending(queue_path: Path) -> int:
    """Messages the killed server left queued or in flight."""
    with sqlite3.connect(queue_path) as db:
        return db.execute('SELECT count(*) FROM messages WHERE failed = 0').fetchone()[0]


def _progress(port: int) -> dict:
    url = f'http://127.0.0.1:{port}/health/progress?catalog={CATALOG}'
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())['progress']


def _documents(runtime: Runtime) -> dict[str, list]:
    return {entity_type: list(runtime.backend.scan(CATALOG, entity_type, Filters()))
            for entity_type in ENTITY_TYPES}


@pytest.mark.xdist_group('chaos')
def test_kill_minus_nine_loses_nothing(tmp_path):
    rng = random.Random(int(os.environ.get('AZUL_CHAOS_SEED', '7')))
    port = _free_port()
    env = _env(tmp_path / 'served', port)
    config = Config.from_env(env)
    clean = Runtime(Config.from_env(_env(tmp_path / 'clean', port)))
    try:
        listing = clean.repository_plugin(CATALOG).list_bundles(SOURCE)
        bundles = sorted(listing.bundles, key=lambda b: b.uuid)[:BUNDLES]
        indexer = Indexer(clean)
        indexer.create_indices(CATALOG)
        indexer.index_bundles(CATALOG, SOURCE, bundles)
        expected = _documents(clean)
    finally:
        clean.close()
    assert all(expected.values())

    process = _start(env, port)
    try:
        for fqid in bundles:
            assert _post(port, {'uuid': fqid.uuid, 'version': fqid.version}, SOURCE) == 202
        # Kill it while it works, three times, at random moments
        pending = []
        for _ in range(3):
            time.sleep(rng.uniform(0.1, 1.5))
            process.send_signal(signal.SIGKILL)
            process.wait()
            pending.append(_pending(tmp_path / 'served' / 'queue.sqlite'))
            process = _start(env, port)
        # Else the test would prove nothing about crashes
        assert pending[0] > 0, pending
        deadline = time.monotonic() + 300
        while (progress := _progress(port)) != {'up': True, 'unindexed_bundles': 0,
                                                'unindexed_documents': 0}:
            assert time.monotonic() < deadline, progress
            time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    served = Runtime(config)
    try:
        actual = _documents(served)
        failed = served.queue.counts()
    finally:
        served.close()
    assert all(c.get('failed', 0) == 0 for c in failed.values()), failed
    for entity_type in ENTITY_TYPES:
        assert [d['entity_id'] for d in actual[entity_type]] == \
            [d['entity_id'] for d in expected[entity_type]], entity_type
        assert actual[entity_type] == expected[entity_type], entity_type
