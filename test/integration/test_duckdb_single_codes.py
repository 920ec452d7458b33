"""
The single code columns `s{i}` of a DuckDB aggregate table (see
`schema.TableSpec.singled`): kept by inserts, updates and deletions as the
code of a row's one term of the field, NULL for a row with several; and the
filters testing them answer as the reference does.
"""
from backend_data import replace_aggregates

from azul.backends.duckdb import DuckDBBackend
from azul.core.documents import Aggregate, IndexedAggregate
from azul.core.fields import Field, FieldRegistry, FieldType
from azul.core.filters import Filters, Is
from azul.core.search import SearchRequest, Sort, reference_search

CATALOG = 'cat'
ENTITY_TYPE = 'files'
REGISTRY = FieldRegistry((Field('color', FieldType.keyword, 'contents.color', facet=True),
                          Field('flag', FieldType.boolean, 'contents.flag', facet=True),
                          Field('size', FieldType.long, 'contents.size', facet=True),
                          Field('name', FieldType.keyword, 'contents.name')))


def _doc(entity_id: str, **contents) -> IndexedAggregate:
    aggregate = Aggregate(ENTITY_TYPE, entity_id, contents, (), (), 1)
    return IndexedAggregate(aggregate, REGISTRY.extract(aggregate.to_json()))


def _write(backend: DuckDBBackend, *docs: IndexedAggregate, deleted: tuple[str, ...] = ()):
    replace_aggregates(backend, CATALOG, ENTITY_TYPE, docs, deleted)


def _singles(backend: DuckDBBackend) -> dict[str, tuple]:
    """Per row its `s0` (color) and `s1` (flag) as dictionary keys, None for NULL."""
    table = backend._table(CATALOG, ENTITY_TYPE)
    # color is field 0, flag 1; size (a long) and name (no facet) have none
    assert [s.single for s in table.fields if table.single_spec(s)] == ['s0', 's1']
    rows = backend._cursor().execute(
        f'SELECT r.entity_id, c.value, f.value FROM {table.table} r '
        f'LEFT JOIN {table.terms_table} c ON c.code = r.s0 '
        f'LEFT JOIN {table.terms_table} f ON f.code = r.s1 ORDER BY r.entity_id').fetchall()
    return {entity_id: (color, flag) for entity_id, color, flag in rows}


def _agree(backend: DuckDBBackend, docs: list[IndexedAggregate]) -> None:
    cases = [Filters((Is(REGISTRY['color'], ('red',)),)),
             Filters((Is(REGISTRY['color'], ('blue', 'green')), Is(REGISTRY['flag'], (True,)))),
             Filters((Is(REGISTRY['color'], (None,)),)),
             Filters((Is(REGISTRY['color'], ('red',), negated=True),
                      Is(REGISTRY['flag'], (False, None))))]
    for filters in cases:
        request = SearchRequest(ENTITY_TYPE, filters, Sort(REGISTRY['name']), 10,
                                facets=REGISTRY.facets)
        assert backend.search(CATALOG, request) == reference_search(docs, request)


def test_single_codes_follow_writes(tmp_path):
    backend = DuckDBBackend(tmp_path / 'index.duckdb', 'azul', 'singles')
    try:
        backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
        a = _doc('a', color='red', flag=True, size=1, name='a')
        b = _doc('b', color=['red', 'blue'], flag=False, size=2, name='b')
        c = _doc('c', size=[3, 4], name='c')
        _write(backend, a, b, c)
        # A row without a value has the null term's code, its only term
        assert _singles(backend) == {'a': ('"red"', 'true'), 'b': (None, 'false'),
                                     'c': ('null', 'null')}
        _agree(backend, [a, b, c])
        # Updates: one term to two, two to one, a null term to a value
        a = _doc('a', color=['blue', 'green'], flag=True, size=1, name='a')
        b = _doc('b', color='blue', flag=[True, False], size=2, name='b')
        c = _doc('c', color='green', flag=True, name='c')
        _write(backend, a, b, c)
        assert _singles(backend) == {'a': (None, 'true'), 'b': ('"blue"', None),
                                     'c': ('"green"', 'true')}
        _agree(backend, [a, b, c])
        d = _doc('d', color=[None, 'red'], flag=None, name='d')
        _write(backend, d, deleted=('b',))
        assert _singles(backend) == {'a': (None, 'true'), 'c': ('"green"', 'true'),
                                     'd': (None, 'null')}
        _agree(backend, [a, c, d])
    finally:
        backend.close()
