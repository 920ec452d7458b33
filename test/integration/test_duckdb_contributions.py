"""
The DuckDB layout of contributions (issue 16): each distinct inner entity
stored once, contributions stored whole before this still read back.
"""
from collections.abc import Iterator

import pytest

from azul.backends.duckdb.backend import DuckDBBackend
from azul.backends.duckdb.contributions import contribution_inner_table
from azul.core.documents import BundleFQID, Contribution
from azul.core.fields import FieldRegistry

CATALOG = 'test'
V1 = '2020-01-01T00:00:00.000000Z'


@pytest.fixture
def backend(tmp_path) -> Iterator[DuckDBBackend]:
    backend = DuckDBBackend(tmp_path / 'contributions.duckdb', 'azul', 'test')
    backend.create_indices(CATALOG, ['files'], FieldRegistry(()))
    try:
        yield backend
    finally:
        backend.close()


def _contribution(entity_id: str, bundle: str, **contents) -> Contribution:
    return Contribution(entity_type='files', entity_id=entity_id, bundle=BundleFQID(bundle, V1),
                        source='src', deleted=False, contents=contents)


def _bundle(bundle: str, files: int) -> list[Contribution]:
    # As a transform makes them: one project object in every contribution
    project = {'document_id': 'p', 'title': 'A project'}
    return [_contribution(f'{bundle}-f{i}', bundle, projects=[project],
                          files=[{'document_id': f'{bundle}-f{i}'}])
            for i in range(files)]


def _inner_rows(backend: DuckDBBackend) -> int:
    name = backend._name(CATALOG, 'files', False)
    table = contribution_inner_table(name)
    return backend._cursor().execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def test_an_inner_entity_is_stored_once_per_batch(backend):
    contributions = _bundle('b1', 3) + _bundle('b2', 2)
    assert backend.load_contributions(CATALOG, contributions) == 5
    # The project (equal in both bundles) and five files
    assert _inner_rows(backend) == 1 + 5
    # A bulk load does not look for texts stored by an earlier batch
    assert backend.load_contributions(CATALOG, _bundle('b3', 1)) == 1
    assert _inner_rows(backend) == 6 + 2
    # An upsert does
    assert backend.write_contributions(CATALOG, _bundle('b1', 4)) == 4
    assert _inner_rows(backend) == 8 + 1
    read = backend.read_contributions(CATALOG, 'files', ['b1-f0', 'b1-f3', 'b2-f1'])
    assert {entity_id: [c.contents for c in cs] for entity_id, cs in read.items()} == {
        entity_id: [{'projects': [{'document_id': 'p', 'title': 'A project'}],
                     'files': [{'document_id': entity_id}]}]
        for entity_id in ('b1-f0', 'b1-f3', 'b2-f1')
    }
    # Parsed once for all of them
    projects = [c.contents['projects'][0] for cs in read.values() for c in cs]
    assert projects[0] is projects[1] is projects[2]


def test_contributions_stored_whole_read_back(backend):
    name = backend._name(CATALOG, 'files', False)
    backend._cursor().execute(
        f'INSERT INTO "{name}" VALUES (?, ?, ?, ?, ?, ?, ?)',
        ['old', 'f-old', 'b0', V1, False, 'src', '{"projects":[{"document_id":"p"}]}'])
    backend.load_contributions(CATALOG, _bundle('b1', 1))
    read = backend.read_contributions(CATALOG, 'files', ['f-old', 'b1-f0'])
    assert read['f-old'] == [_contribution('f-old', 'b0', projects=[{'document_id': 'p'}])]
    assert read['b1-f0'] == _bundle('b1', 1)


def test_the_inner_entities_are_dropped_with_the_index(backend):
    backend.load_contributions(CATALOG, _bundle('b1', 1))
    name = contribution_inner_table(backend._name(CATALOG, 'files', False))
    backend.delete_indices(CATALOG)
    tables = backend._cursor().execute('SELECT table_name FROM duckdb_tables()').fetchall()
    assert (name,) not in tables
