"""
Filtered summaries from the term bitmaps and the documents' values of the
DuckDB backend (`azul.backends.duckdb.bitmap_summaries`): answers checked
by hand on a few documents, equal to the SQL path's (a backend object with
the bitmaps off) over many filters and the conformance fixtures, the sums
that are not exact in 64-bit integers or doubles left to SQL, and a write
making them unused until they are built again, with the written values.
"""
import pytest
from backend_data import colored_doc, documents, replace_aggregates
from backend_data import registry as fixture_registry

from azul.backends.duckdb import DuckDBBackend, bitmap_advance, bitmap_store
from azul.core.fields import Field, FieldRegistry, FieldType
from azul.core.filters import Filters, Is
from azul.core.search import (
    Cardinality,
    Count,
    SearchRequest,
    Sort,
    Sum,
    SummaryRequest,
    TermBucket,
    Terms,
)

CATALOG, ENTITY_TYPE = 'cat', 'files'

REGISTRY = FieldRegistry((Field('color', FieldType.keyword, 'contents.color', facet=True),
                          Field('project', FieldType.keyword, 'contents.project', facet=True),
                          Field('lab', FieldType.keyword, 'contents.lab', facet=True),
                          Field('size', FieldType.long, 'contents.size'),
                          Field('cells', FieldType.double, 'contents.cells'),
                          Field('name', FieldType.keyword, 'contents.name')))
R = REGISTRY.__getitem__

# Colors are multi-valued, projects and labs one per document (f has no color,
# d no lab, c no cells)
ROWS = (('a', dict(color='red', project='P1', lab='L1', size=3, cells=10.0, name='n1')),
        ('b', dict(color=['red', 'blue'], project='P1', lab='L2', size=5, cells=20.0,
                   name='n2')),
        ('c', dict(color='blue', project='P2', lab='L1', size=7, name='n3')),
        ('d', dict(color='red', project='P2', size=11, cells=2.0, name='n4')),
        ('e', dict(color='green', project='P3', lab='L3', size=13, cells=4.0, name='n5')),
        ('f', dict(project='P1', lab='L1', size=17, cells=1.0, name='n6')))

RED = Filters((Is(R('color'), ('red',)),))
P1_OR_P3 = Filters((Is(R('project'), ('P1', 'P3')),))
FILTERS = (
    RED,
    P1_OR_P3,
    Filters((Is(R('color'), (None,)),)),
    Filters((Is(R('color'), ('red',), negated=True), Is(R('lab'), ('L1', None)))),
    Filters((Is(R('color'), ('blue', 'green')), Is(R('project'), ('P2', 'P3')))),
    Filters((Is(R('project'), ('P1',), negated=True),)),
    Filters((Is(R('color'), ('purple',)),)),
)


def _doc(entity_id: str, **contents):
    return colored_doc(REGISTRY, entity_id, **contents)


def _summary(filters: Filters) -> SummaryRequest:
    return SummaryRequest(ENTITY_TYPE, filters, (
        Count('n'),
        Sum('size', R('size')),
        Sum('cells', R('cells')),
        Cardinality('projects', R('project')),
        Cardinality('labs', R('lab')),
        Cardinality('labsOrNone', R('lab'), count_null=True),
        Cardinality('colors', R('color')),
        # A multi-valued field, term by term
        Terms('byColor', R('color'), sums=(R('size'),)),
        Terms('labsByColor', R('color'), distinct=(R('lab'),)),
        # A field of one term per document, grouped at once
        Terms('byProject', R('project'), sums=(R('cells'), R('size')), distinct=(R('lab'),)),
    ))


@pytest.fixture(autouse=True)
def unpaused(monkeypatch):
    monkeypatch.setattr(bitmap_store, 'BUILD_PAUSE', 0)


@pytest.fixture
def path(tmp_path):
    return tmp_path / 'summaries.duckdb'


def _backend(path, docs, registry: FieldRegistry = REGISTRY) -> DuckDBBackend:
    backend = DuckDBBackend(path, 'azul', 'summaries', result_cache=False, bitmap_min_rows=0)
    backend.create_indices(CATALOG, [ENTITY_TYPE], registry)
    replace_aggregates(backend, CATALOG, ENTITY_TYPE, docs)
    return backend


@pytest.fixture
def backend(path):
    backend = _backend(path, [_doc(i, **contents) for i, contents in ROWS])
    yield backend
    backend.close()


@pytest.fixture
def plain(path, backend):
    plain = DuckDBBackend(path, 'azul', 'summaries', result_cache=False, bitmap_limit=0)
    yield plain
    plain.close()


def _build(backend: DuckDBBackend, filters: Filters, registry: FieldRegistry = REGISTRY):
    """A filtered search, after which the version's bitmaps and values are built."""
    sort = Sort(registry['entryId' if 'entryId' in registry else 'name'])
    backend.search(CATALOG, SearchRequest(ENTITY_TYPE, filters, sort, 2,
                                          facets=registry.facets))
    backend._bitmaps.wait()


def _answered(backend: DuckDBBackend, request: SummaryRequest) -> set[int]:
    """The positions of the aggregations the bitmaps answer."""
    table = backend._table(CATALOG, request.entity_type)
    with backend._snapshot():
        return set(backend._bitmap_summary(CATALOG, table, request))


def _unanswered(backend: DuckDBBackend, request: SummaryRequest) -> set[int]:
    return set(range(len(request.aggregations))) - _answered(backend, request)


def test_by_hand(backend, plain):
    _build(backend, RED)
    request = _summary(RED)
    assert _answered(backend, request) == set(range(len(request.aggregations)))
    result = backend.summary(CATALOG, request)
    # Red: a, b, d
    assert result == {
        'n': 3, 'size': 19.0, 'cells': 32.0, 'projects': 2, 'labs': 2, 'labsOrNone': 3,
        'colors': 2,
        'byColor': (TermBucket('red', 3, {'size': 19.0}), TermBucket('blue', 1, {'size': 5.0})),
        'labsByColor': (TermBucket('red', 3, {}, {'lab': ('L1', 'L2')}),
                        TermBucket('blue', 1, {}, {'lab': ('L2',)})),
        'byProject': (TermBucket('P1', 2, {'cells': 30.0, 'size': 8.0}, {'lab': ('L1', 'L2')}),
                      TermBucket('P2', 1, {'cells': 2.0, 'size': 11.0}, {'lab': ()})),
    }
    assert [type(result[k]) for k in ('n', 'size', 'cells', 'projects')] == [int, float,
                                                                              float, int]
    # Not numpy's scalars, which compare equal
    for name in ('byColor', 'byProject'):
        bucket = result[name][0]
        assert [type(bucket.count), type(bucket.sums['size'])] == [int, float]
    assert result == plain.summary(CATALOG, request)
    request = _summary(P1_OR_P3)
    result = backend.summary(CATALOG, request)
    # a, b, e, f; f has no color, the null term, last among the equal counts
    assert result['n'] == 4 and result['size'] == 38.0 and result['cells'] == 35.0
    assert result['byColor'] == (TermBucket('red', 2, {'size': 8.0}),
                                 TermBucket('blue', 1, {'size': 5.0}),
                                 TermBucket('green', 1, {'size': 13.0}),
                                 TermBucket(None, 1, {'size': 17.0}))
    assert result['byProject'] == (
        TermBucket('P1', 3, {'cells': 31.0, 'size': 25.0}, {'lab': ('L1', 'L2')}),
        TermBucket('P3', 1, {'cells': 4.0, 'size': 13.0}, {'lab': ('L3',)}))
    assert (result['labs'], result['colors']) == (3, 3)
    assert result == plain.summary(CATALOG, request)


@pytest.mark.parametrize('filters', FILTERS)
def test_equal_to_sql(backend, plain, filters):
    _build(backend, filters)
    request = _summary(filters)
    assert _answered(backend, request) == set(range(len(request.aggregations)))
    assert backend.summary(CATALOG, request) == plain.summary(CATALOG, request)


def test_inexact_sums_are_left_to_sql(path):
    rows = [_doc('a', color='red', project='P1', size=2 ** 53, cells=0.5, name='n1'),
            _doc('b', color='red', project='P2', size=2 ** 53 - 1, cells=1.0, name='n2'),
            _doc('c', color='blue', project='P2', size=1, cells=1.0, name='n3'),
            # Doubles adding 1 to 2 ** 53 keep 2 ** 53
            _doc('d', color='green', project='P3', size=2 ** 53, cells=1.0, name='n4'),
            _doc('e', color='green', project='P3', size=1, cells=1.0, name='n5'),
            _doc('f', color='green', project='P3', size=1, cells=1.0, name='n6')]
    backend = _backend(path, rows)
    plain = DuckDBBackend(path, 'azul', 'summaries', result_cache=False, bitmap_limit=0)
    try:
        _build(backend, RED)
        request = _summary(RED)
        answered = _answered(backend, request)
        # The cells' sums need SQL (0.5 is no integer); the sizes add up beyond 2 ** 53,
        # exact only as integers, each of them a double
        assert answered == set(range(len(request.aggregations))) - {2, 9}
        result = backend.summary(CATALOG, request)
        assert result['size'] == float(2 ** 54 - 1) == 2.0 ** 54
        assert result['cells'] == 1.5
        assert result['byColor'] == (TermBucket('red', 2, {'size': 2.0 ** 54}),)
        assert result == plain.summary(CATALOG, request)
        green = Filters((Is(R('color'), ('green',)),))
        request = SummaryRequest(ENTITY_TYPE, green, (
            Sum('size', R('size')), Terms('byProject', R('project'), sums=(R('size'),))))
        _build(backend, green)
        assert _unanswered(backend, request) == set()
        result = backend.summary(CATALOG, request)
        assert result == {'size': float(2 ** 53 + 2),
                          'byProject': (TermBucket('P3', 3, {'size': float(2 ** 53 + 2)}),)}
        assert result == plain.summary(CATALOG, request)
        for filters in FILTERS:
            assert backend.summary(CATALOG, _summary(filters)) == plain.summary(
                CATALOG, _summary(filters))
    finally:
        plain.close()
        backend.close()


def test_sizes_beyond_2_to_the_53_are_left_to_sql(path):
    rows = [_doc('a', color='red', project='P1', size=2 ** 60 + 1, cells=1.0, name='n1'),
            _doc('b', color='red', project='P2', size=-3, cells=1.0, name='n2')]
    backend = _backend(path, rows)
    plain = DuckDBBackend(path, 'azul', 'summaries', result_cache=False, bitmap_limit=0)
    try:
        _build(backend, RED)
        request = _summary(RED)
        # The size's sums and the terms aggregations summing them
        assert _unanswered(backend, request) == {1, 7, 9}
        assert backend.summary(CATALOG, request) == plain.summary(CATALOG, request)
        assert backend.summary(CATALOG, request)['size'] == float(2 ** 60 - 2)
    finally:
        plain.close()
        backend.close()


@pytest.mark.parametrize('advancing', [False, True], ids=['built', 'advanced'])
def test_a_write_makes_them_unused_until_built_again_or_advanced(backend, plain, monkeypatch,
                                                                  advancing):
    if advancing:
        # However slow the machine, the summary waits for the advance
        monkeypatch.setattr(bitmap_store, 'ADVANCE_WAIT_MIN', 10)
    else:
        monkeypatch.setattr(bitmap_advance, 'ADVANCE_MIN', 0)
        monkeypatch.setattr(bitmap_advance, 'ADVANCE_SHARE', 0)
    _build(backend, RED)
    request = _summary(RED)
    assert backend.summary(CATALOG, request)['size'] == 19.0
    replace_aggregates(backend, CATALOG, ENTITY_TYPE,
                       [_doc('g', color='red', project='P4', lab='L4', size=100, cells=3.0,
                             name='n7')], deleted=('a',))
    everything = set(range(len(request.aggregations)))
    # Advanced once the write committed (the summary waits for it), or else
    # unused until built again
    assert _answered(backend, request) == (everything if advancing else set())
    # b, d, g
    assert backend.summary(CATALOG, request)['size'] == 116.0
    _build(backend, RED)
    assert _answered(backend, request) == everything
    result = backend.summary(CATALOG, request)
    assert (result['n'], result['size'], result['cells']) == (3, 116.0, 25.0)
    assert result['byProject'][-1] == TermBucket('P4', 1, {'cells': 3.0, 'size': 100.0},
                                                 {'lab': ('L4',)})
    assert result == plain.summary(CATALOG, request)


def test_the_fixtures_answer_as_sql(tmp_path):
    path = tmp_path / 'fixtures.duckdb'
    reg = fixture_registry()
    backend = _backend(path, documents(), reg)
    plain = DuckDBBackend(path, 'azul', 'summaries', result_cache=False, bitmap_limit=0)
    try:
        cases = [
            Filters((Is(reg['fileFormat'], ('bam', 'loom')),)),
            Filters((Is(reg['organ'], ('brain', 'Brain')), Is(reg['isIntermediate'], (False,)))),
            Filters((Is(reg['organ'], (None,)),)),
            Filters((Is(reg['fileFormat'], ('tsv',), negated=True),
                     Is(reg['organ'], ('liver', 'kidney')))),
        ]
        aggregations = (
            Count('n'), Sum('size', reg['fileSize']), Sum('cells', reg['cellCount']),
            Sum('donors', reg['donorCount']),
            Cardinality('projects', reg['projectId']), Cardinality('organs', reg['organ']),
            Terms('formats', reg['fileFormat'], sums=(reg['fileSize'], reg['donorCount'])),
            Terms('organs', reg['organ'], sums=(reg['cellCount'],),
                  distinct=(reg['projectId'],)),
            Terms('projects', reg['projectId'], sums=(reg['fileSize'],),
                  distinct=(reg['fileFormat'],)),
            Terms('intermediate', reg['isIntermediate'], sums=(reg['donorCount'],)),
        )
        answered = set()
        for filters in cases:
            _build(backend, filters, reg)
            request = SummaryRequest(ENTITY_TYPE, filters, aggregations)
            answered |= _answered(backend, request)
            assert backend.summary(CATALOG, request) == plain.summary(CATALOG, request)
        # Counts, sums of integers, the formats' buckets at least
        assert {0, 1, 3, 4, 5, 6, 9} <= answered
    finally:
        plain.close()
        backend.close()


def test_a_summary_has_them_built(backend, plain, path):
    request = _summary(RED)
    assert _answered(backend, request) == set()
    # By SQL, and the build asked for
    assert backend.summary(CATALOG, request) == plain.summary(CATALOG, request)
    backend._bitmaps.wait()
    assert _answered(backend, request) == set(range(len(request.aggregations)))
    small = DuckDBBackend(path, 'azul', 'summaries', result_cache=False, bitmap_min_rows=7)
    try:
        small.summary(CATALOG, request)
        small._bitmaps.wait()
        # Six documents, fewer than the seven a build needs
        assert _answered(small, request) == set()
    finally:
        small.close()


def _held(backend: DuckDBBackend, catalog: str = CATALOG):
    table = backend._table(catalog, ENTITY_TYPE)
    with backend._snapshot():
        return backend._bitmaps.bitmaps((catalog, table.name), backend.content_version(catalog))


def test_values_within_the_limit(path, backend, plain):
    _build(backend, RED)
    full = _held(backend)
    values = full.values.nbytes
    assert values > 0
    request = _summary(RED)
    bitmaps_only = full.nbytes - values
    small = DuckDBBackend(path, 'azul', 'summaries', result_cache=False, bitmap_min_rows=0,
                          bitmap_limit=bitmaps_only)
    try:
        _build(small, RED)
        assert _held(small).nbytes == bitmaps_only
        # The count and the cardinalities from the bitmaps, the sums and terms by SQL
        assert _answered(small, request) == {0, 3, 4, 5, 6}
        assert small.summary(CATALOG, request) == plain.summary(CATALOG, request)
    finally:
        small.close()
    # Room for one table's bitmaps and values and another's bitmaps: the
    # second kept without values
    other = 'other'
    two = DuckDBBackend(path, 'azul', 'summaries', result_cache=False, bitmap_min_rows=0)
    try:
        two.create_indices(other, [ENTITY_TYPE], REGISTRY)
        replace_aggregates(two, other, ENTITY_TYPE, [_doc(i, **c) for i, c in ROWS])
        _build(two, RED)
        # The first table's bitmaps, values and order, and the second's bitmaps and
        # order (4 bytes a document), but not its values
        two._bitmaps.limit = two._bitmaps.nbytes + bitmaps_only + 4 * len(ROWS)
        assert values > 4 * len(ROWS)
        two.search(other, SearchRequest(ENTITY_TYPE, RED, Sort(R('name')), 2,
                                        facets=REGISTRY.facets))
        two._bitmaps.wait()
        assert _held(two).values is not None
        assert _held(two, other).values is None
        assert _held(two, other).nbytes == bitmaps_only
        assert two.summary(other, request) == two.summary(CATALOG, request)
    finally:
        two.close()
