"""
The term bitmaps of the DuckDB backend (`azul.backends.duckdb.bitmaps`): a
filtered search answered from them equals the SQL path's answer (a backend
object with them off) on every page, sort and cursor, over hand-made filters
(the null term, multi-valued fields, negations, facets with their own
filter, an empty result) and the conformance fixtures; the counts of a few
requests are checked by hand; a write makes them unused until they are built
again; the size limit and the switch keep them from being built.
"""
import time

import pytest
from backend_data import colored_doc, colored_docs, documents, replace_aggregates
from backend_data import registry as fixture_registry

from azul.backends.duckdb import (
    DuckDBBackend,
    bitmap_advance,
    bitmap_queries,
    bitmap_store,
    bitmaps,
    sql,
)
from azul.core.documents import IndexedAggregate
from azul.core.fields import Field, FieldRegistry, FieldType
from azul.core.filters import Filters, Is
from azul.core.search import (
    Cardinality,
    Count,
    FacetResult,
    SearchRequest,
    SearchResult,
    Sort,
    SummaryRequest,
    Terms,
)

CATALOG, ENTITY_TYPE = 'cat', 'files'

REGISTRY = FieldRegistry((Field('color', FieldType.keyword, 'contents.color', facet=True),
                          Field('flag', FieldType.boolean, 'contents.flag', facet=True),
                          Field('size', FieldType.long, 'contents.size', facet=True),
                          Field('name', FieldType.keyword, 'contents.name')))
R = REGISTRY.__getitem__

RED = Filters((Is(R('color'), ('red',)),))
# Two groups: each facet ignores its own
RED_OR_BLUE_FLAGGED = Filters((Is(R('color'), ('red', 'blue')), Is(R('flag'), (True,))))
# The null term, and a negation within the group of the same field
NO_COLOR = Filters((Is(R('color'), (None,)),))
NOT_RED = Filters((Is(R('color'), ('red',), negated=True), Is(R('flag'), (True, None))))
# A value no document has
NOTHING = Filters((Is(R('color'), ('purple',)), Is(R('flag'), (True,))))
SORTS = (Sort(R('name')), Sort(R('name'), 'desc'), Sort(R('size'), 'desc'), Sort(R('size')))


def _doc(entity_id: str, **contents) -> IndexedAggregate:
    return colored_doc(REGISTRY, entity_id, **contents)


DOCS = colored_docs(REGISTRY)


def _request(filters: Filters, sort: Sort = SORTS[0], size: int = 2,
             registry: FieldRegistry = REGISTRY, **cursor) -> SearchRequest:
    return SearchRequest(ENTITY_TYPE, filters, sort, size, facets=registry.facets, **cursor)


@pytest.fixture(autouse=True)
def unpaused(monkeypatch):
    # Builds one after the other, as the tests write and search at once
    monkeypatch.setattr(bitmap_store, 'BUILD_PAUSE', 0)


@pytest.fixture
def path(tmp_path):
    return tmp_path / 'bitmaps.duckdb'


@pytest.fixture
def backend(path):
    # Every table is large enough; nothing kept, so that every search counts
    backend = DuckDBBackend(path, 'azul', 'bitmaps', result_cache=False, bitmap_min_rows=0)
    backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    replace_aggregates(backend, CATALOG, ENTITY_TYPE, DOCS)
    yield backend
    backend.close()


@pytest.fixture
def plain(path, backend):
    plain = DuckDBBackend(path, 'azul', 'bitmaps', result_cache=False, bitmap_limit=0)
    yield plain
    plain.close()


def _bitmapped(backend: DuckDBBackend, request: SearchRequest):
    """The bitmap path's answer (total, facets, rows), None if it would not answer."""
    table = backend._table(CATALOG, request.entity_type)
    page = sql.PageSpec(request.sort, request.size, request.search_after, request.search_before)
    with backend._snapshot():
        return backend._bitmapped(CATALOG, table, request, page, None)


def _paged(backend: DuckDBBackend, request: SearchRequest):
    """The bitmap path's answer if the bitmaps gave the page too, else None."""
    answer = _bitmapped(backend, request)
    return None if answer is None or answer[2] is None else answer


def _built(backend: DuckDBBackend, request: SearchRequest) -> SearchResult:
    """The first search (by SQL), after which the bitmaps and the sort's order are built."""
    result = backend.search(CATALOG, request)
    backend._bitmaps.wait()
    assert _paged(backend, request) is not None
    return result


def _pages(backend: DuckDBBackend, filters: Filters, sort: Sort,
           registry: FieldRegistry = REGISTRY) -> list[SearchResult]:
    """Every page forward by `search_after`, then back from the last by `search_before`."""
    results = [backend.search(CATALOG, _request(filters, sort, registry=registry))]
    while len(results[-1].hits) == 2:
        last = results[-1].hits[-1].sort
        results.append(backend.search(CATALOG, _request(filters, sort, registry=registry,
                                                        search_after=last)))
    for _ in range(len(results)):
        first = results[-1].hits[0].sort if results[-1].hits else None
        if first is None:
            break
        results.append(backend.search(CATALOG, _request(filters, sort, registry=registry,
                                                        search_before=first)))
    return results


def test_counts_by_hand(backend):
    for filters in (RED, RED_OR_BLUE_FLAGGED, NO_COLOR, NOT_RED, NOTHING):
        _built(backend, _request(filters))
    result = backend.search(CATALOG, _request(RED))
    # Red: a, b, d, f, h, i. The color facet ignores its own filter: all ten
    assert result.total == 6
    assert result.facets == {
        'color': FacetResult(10, {'red': 6, 'blue': 3, 'green': 2, None: 1}),
        'flag': FacetResult(6, {True: 4, False: 2, None: 1}),
        'size': FacetResult(6, {3: 1, 5: 1, 1: 1, 9: 1, 4: 1, None: 1}),
    }
    assert [h.entity_id for h in result.hits] == ['a', 'h']
    # Red or blue, and flagged: a, c, d, f, h, j. Color ignores its own: the
    # flagged a, c, d, e, f, g, h, j; flag ignores its own: a, b, c, d, f, h, i, j
    result = backend.search(CATALOG, _request(RED_OR_BLUE_FLAGGED))
    assert result.total == 6
    assert result.facets['color'] == FacetResult(8, {'red': 4, 'blue': 2, 'green': 2, None: 1})
    assert result.facets['flag'] == FacetResult(8, {True: 6, False: 2, None: 1})
    assert result.facets['size'] == FacetResult(6, {3: 2, 1: 1, 9: 1, 7: 1, None: 1})
    # No color: g
    result = backend.search(CATALOG, _request(NO_COLOR))
    assert result.total == 1 and [h.entity_id for h in result.hits] == ['g']
    assert result.facets['flag'] == FacetResult(1, {True: 1})
    # Not red, and flagged or without a flag: c, e, g, j; by name n1, n2, n2, n5. Color
    # ignores its own: all but b
    result = backend.search(CATALOG, _request(NOT_RED, size=10))
    assert result.total == 4 and [h.entity_id for h in result.hits] == ['c', 'e', 'j', 'g']
    assert result.facets['color'] == FacetResult(9, {'red': 5, 'blue': 2, 'green': 2, None: 1})
    # Nothing purple: flag counts the colors' complement of nothing, color the flagged
    result = backend.search(CATALOG, _request(NOTHING))
    assert result.total == 0 and result.hits == ()
    assert result.facets['flag'] == FacetResult(0, {})
    assert result.facets['size'] == FacetResult(0, {})
    assert result.facets['color'] == FacetResult(8, {'red': 4, 'blue': 2, 'green': 2, None: 1})


@pytest.mark.parametrize('filters', [RED, RED_OR_BLUE_FLAGGED, NO_COLOR, NOT_RED, NOTHING],
                         ids=['red', 'two-groups', 'null', 'negated', 'empty'])
def test_every_page_answers_as_sql(backend, plain, filters):
    for sort in SORTS:
        _built(backend, _request(filters, sort))
        pages = _pages(backend, filters, sort)
        assert pages == _pages(plain, filters, sort)
        assert all(_paged(backend, _request(filters, sort, search_after=p.hits[-1].sort))
                   is not None for p in pages if p.hits)


def test_long_walks_ask_duckdb_for_the_page(backend, plain, monkeypatch):
    # As if few documents passed: the walk gives up after one document
    monkeypatch.setattr(bitmaps, 'WALK_LIMIT', 1)
    for filters in (RED, NOT_RED, NOTHING):
        for sort in SORTS:
            _built(backend, _request(filters, sort))
            assert _pages(backend, filters, sort) == _pages(plain, filters, sort)


def test_the_fixtures_answer_as_sql(tmp_path):
    path = tmp_path / 'fixtures.duckdb'
    reg = fixture_registry()
    backend = DuckDBBackend(path, 'azul', 'fixtures', result_cache=False, bitmap_min_rows=0)
    plain = None
    try:
        backend.create_indices(CATALOG, [ENTITY_TYPE], reg)
        replace_aggregates(backend, CATALOG, ENTITY_TYPE, documents())
        plain = DuckDBBackend(path, 'azul', 'fixtures', result_cache=False, bitmap_limit=0)
        cases = [
            Filters((Is(reg['fileFormat'], ('bam', 'loom')),)),
            Filters((Is(reg['organ'], ('brain', 'Brain')), Is(reg['isIntermediate'], (False,)))),
            Filters((Is(reg['organ'], (None,)), Is(reg['unused'], (None,)))),
            Filters((Is(reg['fileFormat'], ('tsv',), negated=True),
                     Is(reg['organ'], ('liver', 'kidney')))),
            Filters((Is(reg['organ'], ('kidney',)),)),
        ]
        sorts = [Sort(reg['fileSize']), Sort(reg['organ'], 'desc'), Sort(reg['entryId'])]
        compared = 0
        for filters in cases:
            for sort in sorts:
                _built(backend, _request(filters, sort, registry=reg))
                pages = _pages(backend, filters, sort, reg)
                assert pages == _pages(plain, filters, sort, reg)
                compared += len(pages)
        # Multi-valued organs, the null term and the numbers' facets were among them
        assert compared > 60
    finally:
        if plain is not None:
            plain.close()
        backend.close()


@pytest.fixture
def no_advance(monkeypatch):
    """Every new version needs a full build (see `bitmap_advance`)."""
    monkeypatch.setattr(bitmap_advance, 'ADVANCE_MIN', 0)
    monkeypatch.setattr(bitmap_advance, 'ADVANCE_SHARE', 0)


def test_a_write_makes_them_unused_until_built_again(backend, plain, no_advance):
    _built(backend, _request(RED))
    replace_aggregates(backend, CATALOG, ENTITY_TYPE,
                       [_doc('k', color='red', flag=False, size=6, name='n0')], deleted=('a',))
    # Of the old version: not used; the search is the SQL path's, with the write
    assert _bitmapped(backend, _request(RED)) is None
    result = backend.search(CATALOG, _request(RED))
    assert result == plain.search(CATALOG, _request(RED))
    assert result.total == 6 and [h.entity_id for h in result.hits] == ['k', 'h']
    # That search asked for a build of the new version
    backend._bitmaps.wait()
    assert _paged(backend, _request(RED)) is not None
    assert backend.search(CATALOG, _request(RED)) == result


def test_builds_pause_after_a_build(backend, plain, monkeypatch, no_advance):
    monkeypatch.setattr(bitmap_store, 'BUILD_PAUSE', 1e6)
    attempts = _count_calls(monkeypatch, 'advance')
    _built(backend, _request(RED))
    # The held version's order of another sort is built all the same
    _built(backend, _request(RED, SORTS[2]))
    replace_aggregates(backend, CATALOG, ENTITY_TYPE,
                       [_doc('k', color='red', flag=False, size=6, name='n0')])
    # Writes keep coming: the new version is answered by SQL, no build follows
    assert backend.search(CATALOG, _request(RED)) == plain.search(CATALOG, _request(RED))
    backend._bitmaps.wait()
    assert _bitmapped(backend, _request(RED)) is None
    # Nor another advance from the bitmaps that could not
    assert attempts[0] == 1
    backend.search(CATALOG, _request(RED, SORTS[1]))
    replace_aggregates(backend, CATALOG, ENTITY_TYPE,
                       [_doc('l', color='red', flag=False, size=6, name='n0')])
    backend.search(CATALOG, _request(RED))
    backend._bitmaps.wait()
    assert attempts[0] == 1


def test_advances_pause_after_an_advance(backend, plain, monkeypatch):
    monkeypatch.setattr(bitmap_store, 'BUILD_PAUSE', 1e6)
    _built(backend, _request(RED))
    # A full build does not hold back the advance after it, which the write starts
    replace_aggregates(backend, CATALOG, ENTITY_TYPE,
                       [_doc('k', color='red', flag=False, size=6, name='n0')])
    backend._bitmaps.wait()
    assert _paged(backend, _request(RED)) is not None
    # But that advance holds back the next one
    replace_aggregates(backend, CATALOG, ENTITY_TYPE,
                       [_doc('l', color='red', flag=True, size=6, name='n0')])
    assert backend.search(CATALOG, _request(RED)) == plain.search(CATALOG, _request(RED))
    backend._bitmaps.wait()
    assert _bitmapped(backend, _request(RED)) is None


def test_a_cursor_whose_row_changed_reads_the_page_by_sql(backend, plain):
    first = _built(backend, _request(RED))
    cursor = first.hits[-1].sort
    replace_aggregates(backend, CATALOG, ENTITY_TYPE,
                       [_doc('h', color='red', flag=True, size=9, name='n7')])
    _built(backend, _request(RED))
    request = _request(RED, search_after=cursor)
    # The cursor's row has another name now: its place in the order is not the
    # cursor's. The counts come from the bitmaps, the page from DuckDB
    total, facets, rows = _bitmapped(backend, request)
    assert rows is None and total == 6
    assert backend.search(CATALOG, request) == plain.search(CATALOG, request)


def test_without_an_order_the_page_is_read_by_sql(backend, plain, monkeypatch):
    _built(backend, _request(RED))
    # No order of any sort is built: each page of every sort is read by DuckDB
    monkeypatch.setattr(bitmap_store.BitmapStore, '_keep_order', lambda self, key, order: None)
    for sort in SORTS[2:]:
        backend.search(CATALOG, _request(RED, sort))
        backend._bitmaps.wait()
        total, facets, rows = _bitmapped(backend, _request(RED, sort))
        assert rows is None and (total, facets) == _bitmapped(backend, _request(RED))[:2]
        for filters in (RED, RED_OR_BLUE_FLAGGED, NOT_RED, NOTHING):
            assert _pages(backend, filters, sort) == _pages(plain, filters, sort)


def test_over_the_limit_they_are_not_built(path, backend):
    small = DuckDBBackend(path, 'azul', 'bitmaps', result_cache=False, bitmap_min_rows=0,
                          bitmap_limit=64)
    try:
        small.search(CATALOG, _request(RED))
        small._bitmaps.wait()
        assert small._bitmaps.nbytes == 0 and _bitmapped(small, _request(RED)) is None
        # Refused for this version: no second build
        assert not small._bitmaps.request((CATALOG, small._table(CATALOG, ENTITY_TYPE).name),
                                          small._table(CATALOG, ENTITY_TYPE),
                                          small.content_version(CATALOG), None,
                                          small._read_version(CATALOG))
    finally:
        small.close()


def test_turned_off_or_small_nothing_is_built(plain, path, backend):
    plain.search(CATALOG, _request(RED))
    assert plain._bitmaps._thread is None
    default = DuckDBBackend(path, 'azul', 'bitmaps', result_cache=False)
    try:
        # Ten documents: below the default minimum
        default.search(CATALOG, _request(RED))
        assert default._bitmaps._thread is None
    finally:
        default.close()


def test_unversioned_content_has_none(backend, plain):
    # As in a file made before content versions: content may change under one version
    backend._cursor().execute(f'DELETE FROM {backend._content}')
    assert backend.search(CATALOG, _request(RED)) == plain.search(CATALOG, _request(RED))
    table = backend._table(CATALOG, ENTITY_TYPE)
    # A build started anyway reads the missing version and keeps nothing
    assert backend._bitmaps.request((CATALOG, table.name), table, 'none', SORTS[0],
                                    backend._read_version(CATALOG))
    backend._bitmaps.wait()
    assert backend._bitmaps.nbytes == 0 and _bitmapped(backend, _request(RED)) is None


def test_a_generation_being_built_has_none(backend):
    _built(backend, _request(RED))
    backend.begin_generation(CATALOG, [ENTITY_TYPE], REGISTRY)
    try:
        # Writes fill the new generation without a new version: the held bitmaps are not its
        assert backend.search(CATALOG, _request(RED)).total == 0
        replace_aggregates(backend, CATALOG, ENTITY_TYPE,
                           [_doc('x', color='red', flag=True, size=1, name='x')])
        assert _bitmapped(backend, _request(RED)) is None
        assert backend.search(CATALOG, _request(RED)).total == 1
        # Nor are bitmaps built of it, which the next write would leave behind
        backend._bitmaps.wait()
        replace_aggregates(backend, CATALOG, ENTITY_TYPE,
                           [_doc('y', color='red', flag=False, size=2, name='y')])
        assert _bitmapped(backend, _request(RED)) is None
        assert backend.search(CATALOG, _request(RED)).total == 2
        backend.switch_generation(CATALOG)
    except BaseException:
        backend.abandon_generation(CATALOG)
        raise
    _built(backend, _request(RED))
    result = backend.search(CATALOG, _request(RED))
    assert result.total == 2 and [h.entity_id for h in result.hits] == ['x', 'y']
    assert result.facets['flag'] == FacetResult(2, {True: 1, False: 1})


def _summary_request(filters: Filters) -> SummaryRequest:
    return SummaryRequest(ENTITY_TYPE, filters, (
        Count('n'),
        Cardinality('colors', R('color')),
        Cardinality('colorsOrNone', R('color'), count_null=True),
        Cardinality('flags', R('flag')),
        Cardinality('flagsOrNone', R('flag'), count_null=True),
        # Not keyword or boolean facets: counted by SQL
        Cardinality('sizes', R('size')),
        Cardinality('names', R('name')),
        Terms('byColor', R('color'), sums=(R('size'),)),
    ))


def test_summary_cardinalities_by_hand(backend, plain):
    cases = {
        # Red: a, b, d, f, h, i: red, blue, green; True, False and i's none;
        # sizes 3, 5, 1, 9, 4; names n1, n2, n3, n4, n6
        RED: (6, 3, 3, 2, 3, 5, 5),
        # a, c, d, f, h, j: red, blue, green; True, False; sizes 3, 1, 9, 7
        RED_OR_BLUE_FLAGGED: (6, 3, 3, 2, 2, 4, 4),
        # g: only the null color; True; size 2; n5
        NO_COLOR: (1, 0, 1, 1, 1, 1, 1),
        NOTHING: (0, 0, 0, 0, 0, 0, 0),
    }
    for filters, expected in cases.items():
        _built(backend, _request(filters))
        request = _summary_request(filters)
        table = backend._table(CATALOG, ENTITY_TYPE)
        with backend._snapshot():
            # The count, the four of keyword and boolean facets and the terms
            # summing integers come from the bitmaps
            assert set(backend._bitmap_summary(CATALOG, table, request)) == {0, 1, 2, 3, 4, 7}
        result = backend.summary(CATALOG, request)
        assert list(result) == [a.name for a in request.aggregations]
        names = ['n', 'colors', 'colorsOrNone', 'flags', 'flagsOrNone', 'sizes', 'names']
        assert tuple(result[name] for name in names) == expected
        assert result == plain.summary(CATALOG, request)


def test_summary_without_bitmaps_of_the_version(backend, plain, no_advance):
    request = _summary_request(RED)
    _built(backend, _request(RED))
    replace_aggregates(backend, CATALOG, ENTITY_TYPE, DOCS[1:])
    table = backend._table(CATALOG, ENTITY_TYPE)
    with backend._snapshot():
        assert backend._bitmap_summary(CATALOG, table, request) == {}
    # Without a: the colors and flags of b, d, f, h, i are still all three, and two
    assert backend.summary(CATALOG, request) == plain.summary(CATALOG, request)
    assert backend.summary(CATALOG, request)['flagsOrNone'] == 3


def _count_calls(monkeypatch, name: str) -> list[int]:
    """The number of calls of a function of `bitmap_store` from now on, as the list's one item."""
    count = [0]
    function = getattr(bitmap_store, name)

    def counted(*args, **kwargs):
        count[0] += 1
        return function(*args, **kwargs)

    monkeypatch.setattr(bitmap_store, name, counted)
    return count


@pytest.fixture
def builds(monkeypatch):
    """The number of full builds of bitmaps so far."""
    return _count_calls(monkeypatch, 'build_bitmaps')


PURPLE = Filters((Is(R('color'), ('purple',)),))


def _advance_write(backend):
    # A new document with a new term, one changed (c: blue to red), one deleted (a)
    replace_aggregates(backend, CATALOG, ENTITY_TYPE,
                       [_doc('k', color='purple', flag=False, size=6, name='n0'),
                        _doc('c', color='red', flag=True, size=3, name='n1')],
                       deleted=('a',))


def test_a_write_advances_them(backend, plain, builds):
    for filters in (RED, PURPLE, NOT_RED):
        _built(backend, _request(filters))
    assert builds[0] == 1
    _advance_write(backend)
    for filters in (RED, PURPLE, NOT_RED):
        _built(backend, _request(filters))
    # Advanced, not built again; two rows gone: a's, and c's before its change
    assert builds[0] == 1
    assert backend._bitmaps.bitmaps((CATALOG, backend._table(CATALOG, ENTITY_TYPE).name),
                                    backend.content_version(CATALOG)).stale == 2
    # By hand: red are b, c, d, f, h, i; by name n2, n1, n3, n4, n1, n6. Color
    # ignores its own filter: all ten of b to k, blue only b and j now
    result = backend.search(CATALOG, _request(RED))
    assert result.total == 6 and [h.entity_id for h in result.hits] == ['c', 'h']
    assert result.facets['color'] == FacetResult(10, {'red': 6, 'blue': 2, 'green': 2,
                                                      'purple': 1, None: 1})
    assert result.facets['flag'] == FacetResult(6, {True: 4, False: 2, None: 1})
    result = backend.search(CATALOG, _request(PURPLE))
    assert result.total == 1 and [h.entity_id for h in result.hits] == ['k']
    # Not red, flagged or not flagged at all: e, g and j (k is not flagged, a is gone);
    # by name n2, n5, n2, ties by id
    result = backend.search(CATALOG, _request(NOT_RED, size=10))
    assert result.total == 3 and [h.entity_id for h in result.hits] == ['e', 'j', 'g']
    for filters in (RED, RED_OR_BLUE_FLAGGED, NO_COLOR, NOT_RED, NOTHING, PURPLE):
        for sort in SORTS:
            _built(backend, _request(filters, sort))
            assert _pages(backend, filters, sort) == _pages(plain, filters, sort)
        request = _summary_request(filters)
        assert backend.summary(CATALOG, request) == plain.summary(CATALOG, request)
    assert builds[0] == 1


def test_advanced_values_leave_out_what_is_no_longer_one_term(backend, plain, builds):
    _built(backend, _request(RED))
    table = backend._table(CATALOG, ENTITY_TYPE)
    key = (CATALOG, table.name)
    before = backend._bitmaps.bitmaps(key, backend.content_version(CATALOG))
    size = table.spec(R('size'))
    # Every document has one size term (None for d), but f has two flags
    assert size.id in before.values.terms and table.spec(R('flag')).id not in before.values.terms
    replace_aggregates(backend, CATALOG, ENTITY_TYPE, [_doc('k', color='red', size=[4, 5])])
    _built(backend, _request(RED))
    after = backend._bitmaps.bitmaps(key, backend.content_version(CATALOG))
    assert builds[0] == 1 and after is not before
    assert size.id not in after.values.terms
    assert table.spec(R('color')).id not in after.values.terms
    request = _summary_request(RED)
    assert backend.summary(CATALOG, request) == plain.summary(CATALOG, request)


@pytest.mark.parametrize('change', ['many', 'remade'])
def test_builds_again_when_they_cannot_advance(backend, plain, builds, monkeypatch, change):
    _built(backend, _request(RED))
    if change == 'many':
        monkeypatch.setattr(bitmap_advance, 'ADVANCE_MIN', 1)
        monkeypatch.setattr(bitmap_advance, 'ADVANCE_SHARE', 0)
        _advance_write(backend)
    else:
        # The table made again numbers its documents from the start
        backend.delete_indices(CATALOG)
        backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
        replace_aggregates(backend, CATALOG, ENTITY_TYPE, DOCS[1:])
    _built(backend, _request(RED))
    assert builds[0] == 2
    for sort in SORTS:
        _built(backend, _request(RED, sort))
        assert _pages(backend, RED, sort) == _pages(plain, RED, sort)


def test_orders_advance_with_them(backend, plain, builds, monkeypatch):
    orders = _count_calls(monkeypatch, 'build_order')
    for sort in SORTS:
        _built(backend, _request(RED, sort))
    # By name and by size, each ascending order serving both directions
    assert orders[0] == 2
    # Equal names (n1 of c and h), a size no other has and none (sizes sort
    # nulls last, by id), a new smallest name, deletions; written in two rounds
    replace_aggregates(backend, CATALOG, ENTITY_TYPE,
                       [_doc('m', color='red', flag=True, name='n1'),
                        _doc('k', color='red', flag=False, size=6, name='n0'),
                        _doc('ab', color='red', size=3, name='n1')], deleted=('a', 'i'))
    _built(backend, _request(RED))
    replace_aggregates(backend, CATALOG, ENTITY_TYPE,
                       [_doc('l', color='blue', name='n9'),
                        _doc('b', color='red', flag=False, size=5, name='n1')])
    _built(backend, _request(RED))
    assert builds[0] == 1 and orders[0] == 2
    # Red by name: k n0; ab, b, h, m n1; d n3, f n4. By size: ab 3, f 1... and
    # d, m without one, last, by id
    result = backend.search(CATALOG, _request(RED, size=10))
    assert [h.entity_id for h in result.hits] == ['k', 'ab', 'b', 'h', 'm', 'd', 'f']
    result = backend.search(CATALOG, _request(RED, SORTS[3], size=10))
    assert [h.entity_id for h in result.hits] == ['f', 'ab', 'b', 'k', 'h', 'd', 'm']
    for filters in (RED, RED_OR_BLUE_FLAGGED, NO_COLOR, NOT_RED):
        for sort in SORTS:
            assert _paged(backend, _request(filters, sort)) is not None
            assert _pages(backend, filters, sort) == _pages(plain, filters, sort)
    assert builds[0] == 1 and orders[0] == 2


def test_a_write_advances_them_before_any_request(backend, plain, builds):
    for sort in SORTS[1:3]:
        _built(backend, _request(RED, sort))
    _advance_write(backend)
    # The commit started the advance: no search has asked for it
    backend._bitmaps.wait()
    for sort in SORTS[1:3]:
        assert _paged(backend, _request(RED, sort)) is not None
        assert _pages(backend, RED, sort) == _pages(plain, RED, sort)
    assert builds[0] == 1


def test_a_request_waits_for_the_advance_under_way(backend, plain, builds, monkeypatch):
    monkeypatch.setattr(bitmap_store, 'ADVANCE_WAIT_MIN', 10)
    _built(backend, _request(RED))
    slow = bitmap_store.advance

    def slower(*args, **kwargs):
        time.sleep(0.2)
        return slow(*args, **kwargs)

    monkeypatch.setattr(bitmap_store, 'advance', slower)
    _advance_write(backend)
    # No wait for the store: the request itself waits for the advance the commit started
    assert _paged(backend, _request(RED)) is not None
    assert backend.search(CATALOG, _request(RED)) == plain.search(CATALOG, _request(RED))
    assert builds[0] == 1
    # Without an advance under way, no wait: the SQL path
    monkeypatch.setattr(bitmap_advance, 'ADVANCE_MIN', 0)
    monkeypatch.setattr(bitmap_advance, 'ADVANCE_SHARE', 0)
    replace_aggregates(backend, CATALOG, ENTITY_TYPE, [_doc('z', color='red', name='n0')])
    backend._bitmaps.wait()
    start = time.monotonic()
    assert _bitmapped(backend, _request(RED)) is None
    assert time.monotonic() - start < 5


def test_deleted_rows_as_the_writes_tell_them(backend, plain, builds, monkeypatch):
    _built(backend, _request(RED))
    # Every `doc` is read only when the deleted rows are not known otherwise
    read_all = [0]
    documents = bitmap_queries.documents

    def counted(table):
        read_all[0] += 1
        return documents(table)

    monkeypatch.setattr(bitmap_queries, 'documents', counted)
    # This object's write tells it which rows it deleted (a's, c's old one)
    _advance_write(backend)
    _built(backend, _request(RED))
    assert read_all[0] == 0
    assert _pages(backend, RED, SORTS[0]) == _pages(plain, RED, SORTS[0])
    # Another object's deletion of b is not told: every `doc` is read
    replace_aggregates(plain, CATALOG, ENTITY_TYPE, [], deleted=('b',))
    _built(backend, _request(RED))
    assert read_all[0] == 1 and builds[0] == 1
    for sort in SORTS:
        _built(backend, _request(RED, sort))
        assert _pages(backend, RED, sort) == _pages(plain, RED, sort)
    # Red by name: c, h (n1), d (n3), f (n4), i (n6); b is gone
    result = backend.search(CATALOG, _request(RED, size=10))
    assert [h.entity_id for h in result.hits] == ['c', 'h', 'd', 'f', 'i'] and result.total == 5
