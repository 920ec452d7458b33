"""
The per-term sums that DuckDB's writes keep in the counts table (`sums`):
the unfiltered summary after inserts, updates and deletes, against answers
worked out by hand, and the fallback to summing afresh while a `Double`
field's kept sums would not be exact. Also the unfiltered cardinality and
facet of a `Double` field, which count its codes.
"""
import pytest

from azul.backends.base import AggregateWrite
from azul.backends.duckdb import DuckDBBackend, summaries, sums
from azul.backends.duckdb.schema import TableSpec
from azul.core.documents import Aggregate, BundleFQID, IndexedAggregate
from azul.core.fields import Field, FieldRegistry, FieldType
from azul.core.filters import Filters, Is
from azul.core.search import (
    Cardinality,
    Count,
    FacetResult,
    SearchRequest,
    Sort,
    Sum,
    SummaryRequest,
    TermBucket,
    Terms,
)

CATALOG, ENTITY_TYPE = 'cat', 'files'

REGISTRY = FieldRegistry((
    Field('format', FieldType.keyword, 'contents.format', facet=True),
    Field('organ', FieldType.keyword, 'contents.organ', facet=True),
    Field('size', FieldType.long, 'contents.size'),
    Field('cells', FieldType.double, 'contents.cells'),
))
R = REGISTRY.__getitem__

REQUEST = SummaryRequest(ENTITY_TYPE, Filters(), (
    Count('fileCount'),
    Sum('totalSize', R('size')),
    Sum('totalCells', R('cells')),
    Cardinality('organCount', R('organ')),
    Terms('formats', R('format'), sums=(R('size'), R('cells'))),
    Terms('organs', R('organ'), sums=(R('size'),), distinct=(R('format'),)),
))


def _doc(entity_id: str, format_: str, organ: tuple, size: tuple, cells: tuple
         ) -> IndexedAggregate:
    fields = {'format': (format_,), 'organ': organ, 'size': size, 'cells': cells}
    contents = {name: [v for v in values if v is not None] for name, values in fields.items()}
    aggregate = Aggregate(entity_type=ENTITY_TYPE, entity_id=entity_id, contents=contents,
                          bundles=(BundleFQID('b', 'v'),), sources=('s',), num_contributions=1)
    return IndexedAggregate(aggregate, fields)


D1 = _doc('d1', 'bam', ('brain', 'heart'), (10,), (2.0,))
D2 = _doc('d2', 'bam', ('brain',), (5,), (None,))
D3 = _doc('d3', 'fastq', (None,), (7, 1), (3.0,))


@pytest.fixture
def backend(tmp_path):
    backend = DuckDBBackend(tmp_path / 'sums.duckdb', 'azul', 'sums')
    backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    yield backend
    backend.close()


def _write(backend, *writes: tuple[IndexedAggregate | str, bool]) -> None:
    """Writes of documents (new, or replacing a stored one) and deletes (an entity id)."""
    ids = [w.entity_id if isinstance(w, IndexedAggregate) else w for w, _ in writes]
    versions = backend.read_versions(CATALOG, ENTITY_TYPE, ids)
    batch = [AggregateWrite(entity_id, w if isinstance(w, IndexedAggregate) else None,
                            versions.get(entity_id) if stored else None)
             for (w, stored), entity_id in zip(writes, ids, strict=True)]
    assert backend.write_aggregates(CATALOG, ENTITY_TYPE, batch) == []


def _kept(backend) -> frozenset[str]:
    """The names of the fields whose kept sums the unfiltered summary reads."""
    table = backend._table(CATALOG, ENTITY_TYPE)
    spec = summaries.SummarySpec.of(table, REQUEST.aggregations)
    ids = backend._kept(table, spec)
    return frozenset(s.field.name for s in table.fields if s.id in ids)


def _totals(backend) -> tuple:
    """Field -1's rows: the totals, magnitudes and inexact values of size and cells."""
    table = backend._table(CATALOG, ENTITY_TYPE)
    size, cells = table.spec(R('size')).sum, table.spec(R('cells')).sum
    return tuple(backend._cursor().execute(
        f'SELECT code, n, {size}, {cells} FROM {table.counts_table} '
        f'WHERE field = -1 ORDER BY code DESC').fetchall())


def test_sums_follow_inserts_updates_and_deletes(backend):
    _write(backend, (D1, False), (D2, False))
    _write(backend, (D3, False))
    assert _kept(backend) == {'size', 'cells'}
    # d3's two sizes count as 8; d2 has no cells
    assert _totals(backend) == ((-1, 3, 23, 5), (-2, 0, 23, 5), (-3, 0, 0, 0))
    assert backend.summary(CATALOG, REQUEST) == {
        'fileCount': 3,
        'totalSize': 23.0,
        'totalCells': 5.0,
        'organCount': 2,
        'formats': (TermBucket('bam', 2, {'size': 15.0, 'cells': 2.0}),
                    TermBucket('fastq', 1, {'size': 8.0, 'cells': 3.0})),
        'organs': (TermBucket('brain', 2, {'size': 15.0}, {'format': ('bam',)}),
                   TermBucket('heart', 1, {'size': 10.0}, {'format': ('bam',)}),
                   TermBucket(None, 1, {'size': 8.0}, {'format': ('fastq',)})),
    }
    # d1 replaced, d2 deleted, in one batch
    d1 = _doc('d1', 'fastq', ('heart',), (100,), (1.0,))
    _write(backend, (d1, True), ('d2', True))
    assert _totals(backend) == ((-1, 2, 108, 4), (-2, 0, 108, 4), (-3, 0, 0, 0))
    expected = {
        'fileCount': 2,
        'totalSize': 108.0,
        'totalCells': 4.0,
        'organCount': 1,
        'formats': (TermBucket('fastq', 2, {'size': 108.0, 'cells': 4.0}),),
        'organs': (TermBucket('heart', 1, {'size': 100.0}, {'format': ('fastq',)}),
                   TermBucket(None, 1, {'size': 8.0}, {'format': ('fastq',)})),
    }
    assert backend.summary(CATALOG, REQUEST) == expected
    # The terms no row has any more keep a row with nothing in it
    table = backend._table(CATALOG, ENTITY_TYPE)
    size = table.spec(R('size')).sum
    rows = backend._cursor().execute(
        f'SELECT t.value, c.n, c.{size} FROM {table.counts_table} c '
        f'JOIN {table.terms_table} t ON t.code = c.code ORDER BY t.field, t.value').fetchall()
    assert rows == [('"bam"', 0, 0), ('"fastq"', 2, 108),
                    ('"brain"', 0, 0), ('"heart"', 1, 100), ('null', 1, 8)]


def test_non_integer_cells_are_summed_afresh(backend):
    _write(backend, (D1, False), (D3, False))
    _write(backend, (_doc('d4', 'bam', ('brain',), (1,), (0.25, 2.0)), False))
    # d4's cells are not integers: they count as one inexact row, nothing else
    assert _totals(backend) == ((-1, 3, 19, 5), (-2, 0, 19, 5), (-3, 0, 0, 1))
    assert _kept(backend) == {'size'}
    result = backend.summary(CATALOG, REQUEST)
    assert result['totalCells'] == 7.25
    assert result['formats'] == (TermBucket('bam', 2, {'size': 11.0, 'cells': 4.25}),
                                 TermBucket('fastq', 1, {'size': 8.0, 'cells': 3.0}))
    # Replaced by integers: exact again
    _write(backend, (_doc('d4', 'bam', ('brain',), (1,), (4.0,)), True))
    assert _totals(backend) == ((-1, 3, 19, 9), (-2, 0, 19, 9), (-3, 0, 0, 0))
    assert _kept(backend) == {'size', 'cells'}
    result = backend.summary(CATALOG, REQUEST)
    assert result['totalCells'] == 9.0
    assert result['formats'] == (TermBucket('bam', 2, {'size': 11.0, 'cells': 6.0}),
                                 TermBucket('fastq', 1, {'size': 8.0, 'cells': 3.0}))


def test_large_cells_are_summed_afresh(backend):
    big = 2.0 ** 53
    # Summed as doubles in this order, 2 ** 53 + 1 rounds to 2 ** 53 (ties
    # to even), and so does adding the second 1: the exact 2 ** 53 + 2 differs
    _write(backend, (_doc('d1', 'bam', ('brain',), (1,), (big,)), False))
    _write(backend, (_doc('d2', 'bam', ('brain',), (1,), (1.0,)), False))
    _write(backend, (_doc('d3', 'bam', ('brain',), (1,), (1.0,)), False))
    assert _totals(backend)[1] == (-2, 0, 3, 2 ** 53 + 2)
    assert _kept(backend) == {'size'}
    assert backend.summary(CATALOG, REQUEST)['totalCells'] == big
    _write(backend, ('d3', True))
    # The magnitudes still add up to more than 2 ** 53
    assert _kept(backend) == {'size'}
    _write(backend, ('d2', True))
    assert _kept(backend) == {'size', 'cells'}
    assert backend.summary(CATALOG, REQUEST)['totalCells'] == big


def test_huge_cells_are_summed_afresh(backend):
    # An integer, but not one a HUGEINT holds
    _write(backend, (_doc('d1', 'bam', ('brain',), (1,), (1e300,)), False))
    _write(backend, (_doc('d2', 'bam', ('brain',), (2,), (3.0,)), False))
    assert _totals(backend) == ((-1, 2, 3, 3), (-2, 0, 3, 3), (-3, 0, 0, 1))
    assert _kept(backend) == {'size'}
    assert backend.summary(CATALOG, REQUEST)['totalCells'] == 1e300


def test_summed_fields_without_facets(tmp_path):
    # No codes at all: the totals are kept all the same
    registry = FieldRegistry((Field('size', FieldType.long, 'contents.size'),))
    backend = DuckDBBackend(tmp_path / 'plain.duckdb', 'azul', 'plain')
    try:
        backend.create_indices(CATALOG, [ENTITY_TYPE], registry)
        for i, size in enumerate((3, 4)):
            aggregate = Aggregate(entity_type=ENTITY_TYPE, entity_id=f'd{i}',
                                  contents={'size': [size]}, bundles=(BundleFQID('b', 'v'),),
                                  sources=('s',), num_contributions=1)
            writes = [AggregateWrite(f'd{i}', IndexedAggregate(aggregate, {'size': (size,)}),
                                     None)]
            assert backend.write_aggregates(CATALOG, ENTITY_TYPE, writes) == []
        request = SummaryRequest(ENTITY_TYPE, Filters(), (Sum('total', registry['size']),))
        assert backend.summary(CATALOG, request) == {'total': 7.0}
    finally:
        backend.close()


def test_filtered_summaries_sum_afresh(backend):
    _write(backend, (D1, False), (D2, False), (D3, False))
    request = SummaryRequest(ENTITY_TYPE, Filters((Is(R('format'), ('bam',)),)),
                             REQUEST.aggregations)
    assert backend.summary(CATALOG, request) == {
        'fileCount': 2,
        'totalSize': 15.0,
        'totalCells': 2.0,
        'organCount': 2,
        'formats': (TermBucket('bam', 2, {'size': 15.0, 'cells': 2.0}),),
        'organs': (TermBucket('brain', 2, {'size': 15.0}, {'format': ('bam',)}),
                   TermBucket('heart', 1, {'size': 10.0}, {'format': ('bam',)})),
    }


def test_tally_of_rows():
    table = TableSpec.of('t', REGISTRY)
    summed = table.summed_fields
    assert [s.field.name for s in summed] == ['size', 'cells']
    tally = sums.Tally(summed)
    # Codes 1 and 2 for one row, 2 for the other; a None value adds nothing
    tally.add([[1, 2], [2]], [[(3, -4), (1.5, None)], [(None,), (-2.0,)]])
    assert tally.changes({1: 0, 2: 1}) == (
        [0, 1, -1, -1, -1],
        [1, 2, -1, -2, -3],
        [1, 2, 2, 0, 0],
        [-1, -1, -1, 7, 0],
        [0, -2, -2, 2, 1],
    )


def test_tally_of_rows_with_the_same_codes():
    # Rows with one set of codes are summed together before their codes
    # are: the same sums, counts and order of codes as row by row
    tally = sums.Tally(TableSpec.of('t', REGISTRY).summed_fields)
    tally.add([[1, 2], [1, 2], [2, 1], [3, 3], [1, 2]],
              [[(5,), (2.0,)],
               [(7,), (None,)],
               # The same codes in another order; sizes that cancel
               [(-12,), (1.0,)],
               # A code twice in a row: counted and summed twice
               [(4,), ()],
               # A value of a double that is no integer: marked, not summed
               [(1,), (0.5,)]])
    assert tally.changes({1: 0, 2: 1, 3: 0}) == (
        [0, 1, 0, -1, -1, -1],
        [1, 2, 3, -1, -2, -3],
        [4, 4, 2, 5, 0, 0],
        [1, 1, 8, 5, 29, 0],
        [3, 3, 0, 3, 3, 1],
    )


def test_zeros_of_a_double_facet_are_one_term(tmp_path):
    registry = FieldRegistry((Field('x', FieldType.double, 'contents.x', facet=True),))
    backend = DuckDBBackend(tmp_path / 'zeros.duckdb', 'azul', 'zeros')
    try:
        backend.create_indices(CATALOG, [ENTITY_TYPE], registry)
        # Each in a batch of its own: within one, the two are one key already
        for i, x in enumerate((0.0, -0.0, 1.0)):
            aggregate = Aggregate(entity_type=ENTITY_TYPE, entity_id=f'd{i}',
                                  contents={'x': [x]}, bundles=(BundleFQID('b', 'v'),),
                                  sources=('s',), num_contributions=1)
            writes = [AggregateWrite(f'd{i}', IndexedAggregate(aggregate, {'x': (x,)}), None)]
            assert backend.write_aggregates(CATALOG, ENTITY_TYPE, writes) == []
        x = registry['x']
        request = SummaryRequest(ENTITY_TYPE, Filters(), (Cardinality('c', x), Terms('t', x)))
        assert backend.summary(CATALOG, request) == {
            'c': 2, 't': (TermBucket(0.0, 2, {}), TermBucket(1.0, 1, {}))}
        search = SearchRequest(ENTITY_TYPE, Filters(), Sort(x), 10, facets=(x,))
        assert backend.search(CATALOG, search).facets == {
            'x': FacetResult(total=3, counts={0.0: 2, 1.0: 1})}
    finally:
        backend.close()
