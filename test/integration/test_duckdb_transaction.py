"""
`DuckDBBackend.transaction`: the writes of a block (replicas, contributions,
aggregates) are one unit. The worker writes a round in one (see
`Worker._process_together`), so that a process dying within it leaves
nothing of the round, and readers never see its contributions without their
aggregates.
"""
from collections.abc import Iterator

import pytest
from duckdb_rounds import CATALOG, file_round, from_another_thread

from azul.backends.base import AggregateWrite
from azul.backends.duckdb.backend import DuckDBBackend
from azul.core.fields import FieldRegistry


@pytest.fixture
def backend(tmp_path) -> Iterator[DuckDBBackend]:
    backend = DuckDBBackend(tmp_path / 'transaction.duckdb', 'azul', 'test')
    backend.create_indices(CATALOG, ['files'], FieldRegistry(()))
    try:
        yield backend
    finally:
        backend.close()


def _write_round(backend: DuckDBBackend, entity_id: str) -> None:
    replica, contribution, aggregate = file_round(entity_id)
    backend.write_replicas(CATALOG, [replica])
    backend.write_contributions(CATALOG, [contribution])
    conflicts = backend.write_aggregates(CATALOG, 'files', [
        AggregateWrite(entity_id, aggregate, None)])
    assert conflicts == []


def _stored(backend: DuckDBBackend, entity_id: str) -> tuple[int, int, bool]:
    """Replicas, contributions and whether the aggregate is stored, as a reader sees them."""
    replicas = len(list(backend.scan_replicas(CATALOG, [entity_id])))
    contributions = len(backend.read_contributions(CATALOG, 'files', [entity_id]))
    return replicas, contributions, backend.get_aggregate(CATALOG, 'files', entity_id) is not None


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
        assert from_another_thread(_stored, backend, 'e1') == (0, 0, False)
        assert from_another_thread(_stored, backend, 'e2') == (0, 0, False)
        assert from_another_thread(backend.content_version, CATALOG) == version
    assert from_another_thread(_stored, backend, 'e1') == (1, 1, True)
    assert from_another_thread(_stored, backend, 'e2') == (1, 1, True)
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
    assert from_another_thread(_stored, backend, 'e3') == (1, 1, True)
