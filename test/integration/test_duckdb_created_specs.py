"""
`DuckDBBackend.create_indices` keeps the spec of each aggregate table it
makes, so that the writes of a reindex do not read it back from DuckDB's
catalog (a query of every column of the file per table). The kept spec must
be the very one that reading it back gives, and a table rolled back must not
stay known.
"""
from collections.abc import Iterator

import pytest

from azul.backends.duckdb.backend import DuckDBBackend
from azul.backends.duckdb.schema import TableSpec
from azul.core.fields import Field, FieldRegistry, FieldType
from azul_dev import benchdata

CATALOG = 'cat'
ENTITY_TYPES = ['files', 'projects']


@pytest.fixture
def backend(tmp_path) -> Iterator[DuckDBBackend]:
    backend = DuckDBBackend(tmp_path / 'specs.duckdb', 'azul', 'test')
    try:
        yield backend
    finally:
        backend.close()


def _read_back(backend: DuckDBBackend, name: str) -> TableSpec:
    """The spec as a backend without the kept one makes it: from the stored registry and columns."""
    [(registry,)] = backend._cursor().execute(
        f'SELECT registry FROM {backend._meta} WHERE table_name = ?', [name]).fetchall()
    return backend._spec(name, registry)


def _aggregate_names(backend: DuckDBBackend) -> list[str]:
    rows = backend._cursor().execute(f'SELECT table_name FROM {backend._meta} '
                                     f'WHERE aggregate ORDER BY 1').fetchall()
    return [name for name, in rows]


def _registry() -> FieldRegistry:
    # With a field whose attributes beyond those stored are not the defaults
    count = Field('totalCells', FieldType.long, 'contents.totalCells', nullable=False, default=0)
    return FieldRegistry((*benchdata.registry().fields, count))


@pytest.mark.parametrize('generation', [False, True])
def test_kept_specs_are_those_read_back(backend, generation):
    registry = _registry()
    if generation:
        backend.begin_generation(CATALOG, ENTITY_TYPES, registry)
    else:
        backend.create_indices(CATALOG, ENTITY_TYPES, registry)
    names = _aggregate_names(backend)
    assert len(names) == len(ENTITY_TYPES)
    for name in names:
        kept = backend._tables[name]
        assert kept == _read_back(backend, name)
        # Every column of the current layout, as the table was made
        assert (kept.coded, kept.prefixed, kept.packed, kept.summed, kept.singled) == (True,) * 5
        assert [spec.field.name for spec in kept.fields] == [f.name for f in registry.fields]
        # The stored registry's fields, as reading back makes them, not the given ones
        count = kept.fields[-1].field
        assert (count.name, count.nullable, count.default) == ('totalCells', True, None)


def test_existing_tables_are_left_as_they_are(backend):
    registry = _registry()
    backend.create_indices(CATALOG, ['files'], registry)
    before = backend._cursor().execute(f'SELECT * FROM {backend._meta} ORDER BY 1').fetchall()
    backend._tables.clear()
    # A second call (a new entity type beside an existing one) makes only the new tables
    backend.create_indices(CATALOG, ['files', 'projects'], registry)
    after = backend._cursor().execute(f'SELECT * FROM {backend._meta} ORDER BY 1').fetchall()
    assert set(before) < set(after)
    assert {row[2] for row in set(after) - set(before)} == {'projects'}
    # Kept only for what it made; the existing one is read back when needed
    assert [name for name in backend._tables if 'files' in name] == []
    assert backend._stored_table(CATALOG, 'files') == _read_back(
        backend, _aggregate_names(backend)[0])


def test_tables_rolled_back_are_not_kept(backend):
    registry = _registry()
    with pytest.raises(RuntimeError, match='rolled back'), backend.transaction():
        backend.create_indices(CATALOG, ENTITY_TYPES, registry)
        raise RuntimeError('rolled back')
    assert backend._tables == {}
    assert _aggregate_names(backend) == []
    assert backend._stored_table(CATALOG, 'files') is None
