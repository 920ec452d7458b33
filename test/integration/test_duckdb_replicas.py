"""
The DuckDB layout of replicas (issue 16): what a write stores, so that the
cost of a bundle stays independent of the catalog, and that the hashed lookup
keys never show a client another value's replicas.
"""
from collections.abc import Iterator

import pytest

from azul.backends.base import Replica
from azul.backends.duckdb import replicas as replica_sql
from azul.backends.duckdb.backend import DuckDBBackend
from azul.core.fields import FieldRegistry

CATALOG = 'test'


@pytest.fixture
def backend(tmp_path) -> Iterator[DuckDBBackend]:
    backend = DuckDBBackend(tmp_path / 'replicas.duckdb', 'azul', 'test')
    backend.create_indices(CATALOG, ['files'], FieldRegistry(()))
    try:
        yield backend
    finally:
        backend.close()


def _replica(entity_id: str, hub_ids: tuple[str, ...], version: int = 1,
             replica_type: str = 'donor_organism') -> Replica:
    return Replica(replica_type=replica_type, entity_id=entity_id,
                   contents={'id': entity_id, 'version': version}, source='src',
                   hub_ids=hub_ids)


def _counts(backend: DuckDBBackend) -> tuple[int, int, int]:
    name = backend._replica_name(CATALOG)
    tables = (name, replica_sql.hubs_table(name), replica_sql.replica_hubs_table(name))
    cursor = backend._cursor()
    return tuple(cursor.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
                 for table in tables)


def _bundle(i: int) -> list[Replica]:
    # A bundle of a project: the project (its own hub), a donor shared by
    # every bundle and a file of its own
    return [_replica('p', ('p',), replica_type='project'),
            _replica('donor', (f'f{i}',)),
            _replica(f'f{i}', (f'f{i}',), replica_type='sequence_file')]


def test_rows_grow_with_what_is_new(backend):
    for i in range(5):
        backend.write_replicas(CATALOG, _bundle(i))
    # One project and one donor row however many bundles wrote them; the
    # project's hub has one group, the same from every bundle
    assert _counts(backend) == (1 + 1 + 5, 1 + 5, 1 + 5 + 5)
    # Writing the bundles again adds nothing
    for i in range(5):
        backend.write_replicas(CATALOG, _bundle(i))
    assert _counts(backend) == (7, 6, 11)
    found = list(backend.scan_replicas(CATALOG, ['p', 'f3'], include_hub_ids=True))
    assert [(r.entity_id, r.hub_ids) for r in found] == [
        ('donor', tuple(sorted(f'f{i}' for i in range(5)))),
        ('f3', ('f3',)),
        ('p', ('p',)),
    ]


def test_a_changed_group_is_united_with_the_old(backend):
    backend.write_replicas(CATALOG, [_replica('e1', ('f1',))])
    # A newer version of the bundle: the file now also reaches another donor
    backend.write_replicas(CATALOG, [_replica('e1', ('f1',)), _replica('e2', ('f1',))])
    assert [r.entity_id for r in backend.scan_replicas(CATALOG, ['f1'])] == ['e1', 'e2']


def test_colliding_lookup_keys(backend, monkeypatch):
    # Every hub id and entity id hashed alike: a lookup finds every row, and
    # only those of the ids asked for may come back
    monkeypatch.setattr(replica_sql, '_lookup_key', lambda value: 42)
    backend.write_replicas(CATALOG, [_replica('e1', ('f1',)), _replica('e2', ('f2',)),
                                     _replica('e3', ('f3',), version=2)])
    assert [r.entity_id for r in backend.scan_replicas(CATALOG, ['f2'])] == ['e2']
    assert [r.entity_id for r in backend.scan_replicas(CATALOG, [], ['e3', 'e1'])] == \
        ['e1', 'e3']
    assert list(backend.scan_replicas(CATALOG, ['f4'], ['e4'])) == []


def _index_names(backend: DuckDBBackend, name: str) -> set[str]:
    rows = backend._cursor().execute('SELECT index_name FROM duckdb_indexes() '
                                     'WHERE table_name LIKE ?', [name + '%']).fetchall()
    return {index_name for index_name, in rows}


INDEXES = {'_key', '_hubs_key', '_replica_hubs_key', '_entity', '_hub_key', '_replica_key'}


def test_a_bulk_load_indexes_the_replicas_once_loaded(tmp_path):
    backend = DuckDBBackend(tmp_path / 'bulk.duckdb', 'azul', 'test')
    try:
        backend.begin_generation(CATALOG, ['files'], FieldRegistry(()))
        name = backend._replica_name(CATALOG)
        # Without indexes while the generation is being loaded
        assert _index_names(backend, name) == set()
        with backend.bulk_load(CATALOG):
            for i in range(5):
                backend.write_replicas(CATALOG, _bundle(i))
            # The same bundles again: nothing new, though nothing is looked up
            for i in range(5):
                backend.write_replicas(CATALOG, _bundle(i))
            assert _index_names(backend, name) == set()
        assert _index_names(backend, name) == {name + suffix for suffix in INDEXES}
        assert _counts(backend) == (7, 6, 11)
        backend.switch_generation(CATALOG)
        assert backend._replica_name(CATALOG) == name
        # The incremental path on the live generation: looked up in the indexes
        backend.write_replicas(CATALOG, _bundle(5) + _bundle(0))
        assert _counts(backend) == (8, 7, 13)
        found = list(backend.scan_replicas(CATALOG, ['p', 'f5'], include_hub_ids=True))
        assert [(r.entity_id, r.hub_ids) for r in found] == [
            ('donor', tuple(f'f{i}' for i in range(6))),
            ('f5', ('f5',)),
            ('p', ('p',)),
        ]
    finally:
        backend.close()


def test_a_generation_switched_to_without_a_bulk_load_is_indexed(tmp_path):
    backend = DuckDBBackend(tmp_path / 'plain.duckdb', 'azul', 'test')
    try:
        backend.begin_generation(CATALOG, ['files'], FieldRegistry(()))
        backend.write_replicas(CATALOG, _bundle(0))
        backend.write_replicas(CATALOG, _bundle(0))
        name = backend._replica_name(CATALOG)
        backend.switch_generation(CATALOG)
        assert _index_names(backend, name) == {name + suffix for suffix in INDEXES}
        assert _counts(backend) == (3, 2, 3)
    finally:
        backend.close()
