"""
The local worker on DuckDB writes a round in one transaction
(`Worker._process_together`): the round's replicas, contributions and the
aggregates they lead to, with no tally sent. The aggregates are those of a
plain `Indexer.index_bundles` of the same bundles; a tally the backend
refuses makes the transaction fail, and then fails alone while the round's
bundles are indexed in steps. Real DuckDB files and queues throughout.
"""
import sqlite3
import time
import uuid
from pathlib import Path

from azul.core.documents import BundleFQID
from azul.indexer.index import Indexer, Tally
from azul.indexer.queue import NOTIFICATIONS, TALLIES, LocalQueue
from azul.indexer.worker import Worker
from azul.runtime import Runtime
from conftest import CATALOG, SOURCE, catalog_spec, make_config

# The DSS fixture bundles of SOURCE, counted by hand
# (ls /work/shared/fixtures/hca/bundles/indexer/*.dss.hca.json | wc -l)
FIXTURE_BUNDLES = 50


def _runtime(tmp_path: Path, name: str) -> Runtime:
    return Runtime(make_config('duckdb', tmp_path / name, 't' + uuid.uuid4().hex[:10],
                               catalogs={CATALOG: catalog_spec([SOURCE])}))


def _bodies(runtime: Runtime) -> list[dict]:
    listing = runtime.repository_plugin(CATALOG).list_bundles(SOURCE)
    assert len(listing.bundles) == FIXTURE_BUNDLES and not listing.problems
    return [{'catalog': CATALOG, 'action': 'add', 'source': SOURCE,
             'uuid': fqid.uuid, 'version': fqid.version} for fqid in listing.bundles]


def _reference(tmp_path: Path, bodies: list[dict]) -> tuple[Runtime, set[tuple[str, str]]]:
    """The bundles indexed without the worker, and the entities they touch."""
    reference = _runtime(tmp_path, 'reference')
    indexer = Indexer(reference)
    indexer.create_indices(CATALOG)
    fqids = [BundleFQID(b['uuid'], b['version']) for b in bodies]
    indexer.index_bundles(CATALOG, SOURCE, fqids)
    tally = Tally()
    for fqid in fqids:
        contributions, _ = indexer.transform_bundle(CATALOG, SOURCE, fqid, deleted=False)
        tally.add(contributions)
    return reference, tally.entities


def _assert_same_aggregates(runtime: Runtime, reference: Runtime,
                            entities: set[tuple[str, str]]) -> None:
    assert len(entities) > FIXTURE_BUNDLES
    for entity_type, entity_id in entities:
        assert (runtime.backend.get_aggregate(CATALOG, entity_type, entity_id)
                == reference.backend.get_aggregate(CATALOG, entity_type, entity_id))


def test_a_round_is_written_at_once_without_tallies(tmp_path):
    runtime = _runtime(tmp_path, 'worker')
    queue = LocalQueue(tmp_path / 'queue.sqlite')
    try:
        bodies = _bodies(runtime)
        reference, entities = _reference(tmp_path, bodies)
        queue.send(NOTIFICATIONS, bodies)
        worker = Worker(runtime, queue)
        assert runtime.backend.transactional
        # One round: every notification acknowledged, no tally left to send
        assert worker.process_once() == FIXTURE_BUNDLES
        assert queue.counts() == {}
        _assert_same_aggregates(runtime, reference, entities)
        # Again (a re-delivery, say): the same aggregates
        queue.send(NOTIFICATIONS, bodies[:10])
        assert worker.process_once() == 10
        assert queue.counts() == {}
        _assert_same_aggregates(runtime, reference, entities)
        reference.close()
    finally:
        queue.close()
        runtime.close()


def test_a_refused_tally_fails_alone(tmp_path):
    # A tally of an entity type the catalog has no index for (the plugin
    # dropped it since, say) makes the backend refuse the round's
    # transaction; the round is then written in steps, and only the tally
    # waits for its next delivery
    runtime = _runtime(tmp_path, 'worker')
    queue = LocalQueue(tmp_path / 'queue.sqlite')
    try:
        bodies = _bodies(runtime)
        reference, entities = _reference(tmp_path, bodies)
        queue.send(TALLIES, [{'catalog': CATALOG, 'entity_type': 'gone',
                              'entity_ids': ['e1']}])
        queue.send(NOTIFICATIONS, bodies)
        worker = Worker(runtime, queue)
        begun = time.time()
        # The notifications, the refused tally and those of the bundles written in steps
        assert worker.process_once() > FIXTURE_BUNDLES + 1
        ended = time.time()
        assert queue.counts() == {TALLIES: {'queued': 1, 'failed': 0}}
        with sqlite3.connect(tmp_path / 'queue.sqlite') as db:
            body, attempts, visible_at = db.execute(
                'SELECT body, attempts, visible_at FROM messages').fetchone()
        assert '"gone"' in body and attempts == 1
        # The back-off of a failed tally (`retry_delay(1, transient=True)`: 10 s),
        # from when the worker put it back, some time within the round
        assert begun + 10 - 0.01 <= visible_at <= ended + 10 + 0.01
        _assert_same_aggregates(runtime, reference, entities)
        reference.close()
    finally:
        queue.close()
        runtime.close()
