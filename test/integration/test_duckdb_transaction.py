"""
`DuckDBBackend.transaction`: the writes of a block (replicas, contributions,
aggregates) are one unit. The worker writes a round in one (see
`Worker._process_together`), so that a process dying within it leaves
nothing of the round, and readers never see its contributions without their
aggregates.
"""
import threading
from collections.abc import Iterator

import pytest

from azul.backends.base import AggregateWrite, Replica
from azul.backends.duckdb.backend import DuckDBBackend
from azul.core.documents import Aggregate, BundleFQID, Contribution, IndexedAggregate
from azul.core.fields import FieldRegistry

CATALOG = 'test'
V1 = '2020-01-01T00:00:00.000000Z'


@pytest.fixture
def backend(tmp_path) -> Iterator[DuckDBBackend]:
    backend = DuckDBBackend(tmp_path / 'transaction.duckdb', 'azul', 'test')
    backend.create_indices(CATALOG, ['files'], FieldRegistry(()))
    try:
        yield backend
    finally:
        backend.close()


def _write_round(backend: DuckDBBackend, entity_id: str) -> None:
    bundle = BundleFQID('b-' + entity_id, V1)
    backend.write_replicas(CATALOG, [Replica('file', entity_id, {'name': entity_id}, 'src',
                                             (entity_id,))])
    backend.write_contributions(CATALOG, [Contribution(
        entity_type='files', entity_id=entity_id, bundle=bundle, source='src', deleted=False,
        contents={'files': [{'document_id': entity_id}]})])
    aggregate = Aggregate(entity_type='files', entity_id=entity_id,
                          contents={'files': [{'document_id': entity_id}]},
                          bundles=(bundle,), sources=('src',), num_contributions=1)
    conflicts = backend.write_aggregates(CATALOG, 'files', [
        AggregateWrite(entity_id, IndexedAggregate(aggregate, {}), None)])
    assert conflicts == []


def _stored(backend: DuckDBBackend, entity_id: str) -> tuple[int, int, bool]:
    """Replicas, contributions and whether the aggregate is stored, as a reader sees them."""
    replicas = len(list(backend.scan_replicas(CATALOG, [entity_id])))
    contributions = len(backend.read_contributions(CATALOG, 'files', [entity_id]))
    return replicas, contributions, backend.get_aggregate(CATALOG, 'files', entity_id) is not None


def _from_another_thread(function, *args):
    result = []
    thread = threading.Thread(target=lambda: result.append(function(*args)))
    thread.start()
    thread.join()
    return result[0]


def test_a_transaction_is_seen_whole_and_only_at_its_end(backend):
    version = backend.content_version(CATALOG)
    with backend.transaction():
        _write_round(backend, 'e1')
        # Nested: still the outer one's
        with backend.transaction():
            _write_round(backend, 'e2')
        # Its own reads see its writes (a scan of replicas has a cursor of its own)
        assert _stored(backend, 'e1')[1:] == _stored(backend, 'e2')[1:] == (1, True)
        # Other readers see none of them yet, nor a new content version
        assert _from_another_thread(_stored, backend, 'e1') == (0, 0, False)
        assert _from_another_thread(_stored, backend, 'e2') == (0, 0, False)
        assert _from_another_thread(backend.content_version, CATALOG) == version
    assert _from_another_thread(_stored, backend, 'e1') == (1, 1, True)
    assert _from_another_thread(_stored, backend, 'e2') == (1, 1, True)
    assert backend.content_version(CATALOG) != version


def test_a_transaction_that_raises_leaves_nothing(backend):
    _write_round(backend, 'e0')
    version = backend.content_version(CATALOG)
    with pytest.raises(RuntimeError, match='in the middle'), backend.transaction():
        _write_round(backend, 'e1')
        with backend.transaction():
            _write_round(backend, 'e2')
        raise RuntimeError('in the middle')
    for entity_id in ('e1', 'e2'):
        assert _stored(backend, entity_id) == (0, 0, False)
    assert _stored(backend, 'e0') == (1, 1, True)
    assert backend.content_version(CATALOG) == version
    # The backend writes on as before
    _write_round(backend, 'e3')
    assert _from_another_thread(_stored, backend, 'e3') == (1, 1, True)
