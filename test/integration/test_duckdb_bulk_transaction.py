"""
`DuckDBBackend.bulk_load` into a generation being built: one transaction,
committed at the end of the load (its commit checkpoints instead of writing
the WAL), or, past `BULK_TRANSACTION_BYTES`, along the way too; into a live
generation, every write commits as before.
"""
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from duckdb_rounds import CATALOG, file_round, from_another_thread

from azul.backends.duckdb import bulk
from azul.backends.duckdb.backend import DuckDBBackend
from azul.core.fields import FieldRegistry


@pytest.fixture
def path(tmp_path) -> Path:
    return tmp_path / 'bulk.duckdb'


@pytest.fixture
def backend(path) -> Iterator[DuckDBBackend]:
    backend = DuckDBBackend(path, 'azul', 'test')
    backend.create_indices(CATALOG, ['files'], FieldRegistry(()))
    try:
        yield backend
    finally:
        backend.close()


def _load(backend: DuckDBBackend, entity_id: str) -> None:
    """As a reindex writes one bundle's worth: replicas, contributions, an aggregate."""
    replica, contribution, aggregate = file_round(entity_id)
    backend.write_replicas(CATALOG, [replica])
    backend.load_contributions(CATALOG, [contribution])
    assert backend.load_aggregates(CATALOG, 'files', [aggregate]) == []


def _contributions(backend: DuckDBBackend, entity_id: str) -> int:
    return len(backend.read_contributions(CATALOG, 'files', [entity_id]))


def _rows(path: Path) -> dict[str, int]:
    """Rows per table of the generation being built, as a new process would find them."""
    con = duckdb.connect(str(path))
    try:
        tables = [name for name, in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '%\\_\\_g%' "
            "ESCAPE '\\'").fetchall()]
        return {name.split('__g')[0] + name.split('__g')[1][20:]:
                con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                for name in tables}
    finally:
        con.close()


def test_a_load_into_a_new_generation_is_one_transaction(backend, path):
    backend.begin_generation(CATALOG, ['files'], FieldRegistry(()))
    with backend.bulk_load(CATALOG):
        _load(backend, 'e1')
        _load(backend, 'e2')
        # This thread's reads see the load's writes (the indexer folds
        # again what a notification took), other threads' none yet
        assert _contributions(backend, 'e1') == 1
        assert from_another_thread(_contributions, backend, 'e1') == 0
    assert from_another_thread(_contributions, backend, 'e2') == 1
    backend.switch_generation(CATALOG)
    assert backend.count(CATALOG, 'files') == 2
    assert [r.entity_id for r in backend.scan_replicas(CATALOG, ['e1', 'e2'])] == ['e1', 'e2']
    backend.close()
    # All of it in the file, the replica indexes included, and nothing
    # left in the WAL for the next open to replay
    assert not Path(str(path) + '.wal').exists() or Path(str(path) + '.wal').stat().st_size == 0
    rows = _rows(path)
    assert rows == {'azul_test_test_files_aggregate': 2,
                    'azul_test_test_files_aggregate__counts': 0,
                    'azul_test_test_files_aggregate__terms': 0,
                    'azul_test_test_files_contribution': 2,
                    'azul_test_test_files_contribution_inner': 2,
                    'azul_test_test_replica': 2,
                    'azul_test_test_replica_hubs': 2,
                    'azul_test_test_replica_replica_hubs': 2}


def test_a_load_into_a_new_generation_that_raises_leaves_none_of_it(backend, path):
    backend.begin_generation(CATALOG, ['files'], FieldRegistry(()))
    with pytest.raises(ZeroDivisionError):
        with backend.bulk_load(CATALOG):
            _load(backend, 'e1')
            _load(backend, 'e2')
            raise ZeroDivisionError
    assert _contributions(backend, 'e1') == 0
    assert from_another_thread(_contributions, backend, 'e1') == 0
    # The reindex abandons the generation; until then it is as created
    assert set(_rows(path).values()) == {0}
    # And this thread writes on, each write its own transaction again
    _load(backend, 'e3')
    assert from_another_thread(_contributions, backend, 'e3') == 1


def test_a_load_into_a_live_generation_commits_every_write(backend):
    with backend.bulk_load(CATALOG):
        _load(backend, 'e1')
        # Durable, and seen, as soon as written
        assert from_another_thread(_contributions, backend, 'e1') == 1
        _load(backend, 'e2')
    assert backend.count(CATALOG, 'files') == 2


def test_a_large_load_into_a_new_generation_commits_along_the_way(backend, monkeypatch):
    # Past the limit, each write commits what the load holds
    monkeypatch.setattr(bulk, 'BULK_TRANSACTION_BYTES', 0)
    backend.begin_generation(CATALOG, ['files'], FieldRegistry(()))
    with backend.bulk_load(CATALOG):
        _load(backend, 'e1')
        assert from_another_thread(_contributions, backend, 'e1') == 1
        # Not within a caller's transaction, which stays whole
        with backend.transaction():
            _load(backend, 'e2')
            assert from_another_thread(_contributions, backend, 'e2') == 0
        # Committed by the next write out of it
        _load(backend, 'e3')
        assert from_another_thread(_contributions, backend, 'e2') == 1
    backend.switch_generation(CATALOG)
    assert backend.count(CATALOG, 'files') == 3
    assert ([r.entity_id for r in backend.scan_replicas(CATALOG, ['e1', 'e2', 'e3'])]
            == ['e1', 'e2', 'e3'])
