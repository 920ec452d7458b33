"""
DuckDB's cache of the total and facets of filtered searches by content
version (`azul.backends.duckdb.cache`): a page whose counts are kept is read
alone, and answers as a backend object that keeps nothing
(`result_cache=False`) does, for every sort and cursor; a write (of this
backend object or another on the same file) stamps a new version and so new
counts; a generation being built is never kept; a backend object that keeps
nothing has no entries. The counts of one request are checked by hand.
"""
import pytest
from backend_data import colored_doc, colored_docs, replace_aggregates

from azul.backends.duckdb import DuckDBBackend
from azul.core.documents import IndexedAggregate
from azul.core.fields import Field, FieldRegistry, FieldType
from azul.core.filters import Filters, Is, Within
from azul.core.search import FacetResult, SearchRequest, SearchResult, Sort

CATALOG, ENTITY_TYPE = 'cat', 'files'

REGISTRY = FieldRegistry((Field('color', FieldType.keyword, 'contents.color', facet=True),
                          Field('flag', FieldType.boolean, 'contents.flag', facet=True),
                          Field('size', FieldType.long, 'contents.size'),
                          Field('name', FieldType.keyword, 'contents.name')))
R = REGISTRY.__getitem__

RED = Filters((Is(R('color'), ('red',)),))
# Two groups (each facet ignores its own), a range on a column without codes
MIXED = Filters((Is(R('color'), ('red', 'blue')), Is(R('flag'), (True,)),
                 Within(R('size'), ((1, 9),))))
SORTS = (Sort(R('name')), Sort(R('name'), 'desc'), Sort(R('size'), 'desc'), Sort(R('size')))


def _doc(entity_id: str, **contents) -> IndexedAggregate:
    return colored_doc(REGISTRY, entity_id, **contents)


DOCS = colored_docs(REGISTRY)


def _write(backend: DuckDBBackend, *docs: IndexedAggregate, deleted: tuple[str, ...] = ()):
    replace_aggregates(backend, CATALOG, ENTITY_TYPE, docs, deleted)


def _request(filters: Filters, sort: Sort = SORTS[0], size: int = 2, **cursor) -> SearchRequest:
    return SearchRequest(ENTITY_TYPE, filters, sort, size, facets=REGISTRY.facets, **cursor)


@pytest.fixture
def path(tmp_path):
    return tmp_path / 'facets.duckdb'


@pytest.fixture
def backend(path):
    backend = DuckDBBackend(path, 'azul', 'facets')
    backend.create_indices(CATALOG, [ENTITY_TYPE], REGISTRY)
    _write(backend, *DOCS)
    yield backend
    backend.close()


@pytest.fixture
def uncached(path, backend):
    uncached = DuckDBBackend(path, 'azul', 'facets', result_cache=False)
    yield uncached
    uncached.close()


def _pages(backend: DuckDBBackend, filters: Filters, sort: Sort) -> list[SearchResult]:
    """Every page forward by `search_after`, then back from the last by `search_before`."""
    results = [backend.search(CATALOG, _request(filters, sort))]
    while len(results[-1].hits) == 2:
        last = results[-1].hits[-1].sort
        results.append(backend.search(CATALOG, _request(filters, sort, search_after=last)))
    for _ in range(len(results)):
        first = results[-1].hits[0].sort if results[-1].hits else None
        if first is None:
            break
        results.append(backend.search(CATALOG, _request(filters, sort, search_before=first)))
    return results


def test_red_counts_by_hand(backend):
    result = backend.search(CATALOG, _request(RED))
    # Red: a, b, d, f, h, i. The color facet ignores its own filter: all ten
    assert result.total == 6
    assert result.facets == {
        'color': FacetResult(10, {'red': 6, 'blue': 3, 'green': 2, None: 1}),
        'flag': FacetResult(6, {True: 4, False: 2, None: 1}),
    }
    assert [h.entity_id for h in result.hits] == ['a', 'h']
    # The page after, its counts kept
    again = backend.search(CATALOG, _request(RED, search_after=result.hits[-1].sort))
    assert again.facets is result.facets and again.total == 6
    assert [h.entity_id for h in again.hits] == ['b', 'd']


@pytest.mark.parametrize('filters', [RED, MIXED], ids=['red', 'mixed'])
def test_kept_counts_answer_as_uncached(backend, uncached, filters):
    expected = [_pages(uncached, filters, sort) for sort in SORTS]
    assert len(uncached._counts) == 0
    first = backend.search(CATALOG, _request(filters, SORTS[0]))
    assert len(backend._counts) == 1
    pages = [_pages(backend, filters, sort) for sort in SORTS]
    assert pages == expected
    # Every page after the first one was answered from the one entry
    assert len(backend._counts) == 1
    assert all(p.facets is first.facets for ps in pages for p in ps)
    # The walks went somewhere: several pages, hits on each but the last
    assert all(len(ps) >= 4 for ps in pages)
    # Another request's counts are another entry
    backend.search(CATALOG, _request(RED if filters is MIXED else MIXED))
    assert len(backend._counts) == 2


def test_a_page_past_the_end_and_an_empty_page(backend, uncached):
    backend.search(CATALOG, _request(RED))
    for request in [_request(RED, size=0), _request(RED, search_after=('n9', 'z')),
                    _request(RED, sort=SORTS[2], size=10, search_before=(None, 'a'))]:
        assert backend.search(CATALOG, request) == uncached.search(CATALOG, request)


def test_a_write_gives_new_counts(backend, uncached, path):
    before = backend.search(CATALOG, _request(RED))
    _write(backend, _doc('k', color='red', flag=False, size=6, name='n0'))
    after = backend.search(CATALOG, _request(RED))
    assert after.total == 7 and after.facets['flag'] == FacetResult(7, {True: 4, False: 3,
                                                                          None: 1})
    assert [h.entity_id for h in after.hits] == ['k', 'a']
    assert after == uncached.search(CATALOG, _request(RED))
    assert before.total == 6
    # A write of another backend object on the same file
    other = DuckDBBackend(path, 'azul', 'facets')
    try:
        _write(other, deleted=('a', 'k'))
    finally:
        other.close()
    deleted = backend.search(CATALOG, _request(RED, sort=SORTS[2]))
    assert deleted.total == 5 and deleted.facets['color'].counts['red'] == 5
    assert deleted == uncached.search(CATALOG, _request(RED, sort=SORTS[2]))


def test_a_generation_being_built_is_not_kept(backend):
    live = backend.search(CATALOG, _request(RED))
    assert len(backend._counts) == 1
    backend.begin_generation(CATALOG, [ENTITY_TYPE], REGISTRY)
    try:
        # Writes fill the new generation without a new version
        assert backend.search(CATALOG, _request(RED)).total == 0
        _write(backend, _doc('x', color='red', flag=True, size=1, name='x'))
        built = backend.search(CATALOG, _request(RED))
        assert built.total == 1 and built.facets['flag'] == FacetResult(1, {True: 1})
        assert backend.search(CATALOG, _request(RED)).facets is not built.facets
        assert len(backend._counts) == 1
        backend.switch_generation(CATALOG)
    except BaseException:
        backend.abandon_generation(CATALOG)
        raise
    switched = backend.search(CATALOG, _request(RED))
    assert switched.total == 1 and switched.facets is not live.facets
    assert backend.search(CATALOG, _request(RED)).facets is switched.facets


def test_unversioned_content_is_not_kept(backend, uncached):
    # As in a file made before content versions
    backend._cursor().execute(f'DELETE FROM {backend._content}')
    assert backend.content_version(CATALOG) == 'none'
    assert backend.search(CATALOG, _request(RED)) == uncached.search(CATALOG, _request(RED))
    assert len(backend._counts) == 0


def test_nothing_is_kept_when_turned_off(uncached):
    first = uncached.search(CATALOG, _request(RED))
    again = uncached.search(CATALOG, _request(RED))
    assert first == again and first.facets is not again.facets
    assert len(uncached._counts) == 0


def test_unfiltered_searches_are_not_kept(backend):
    backend.search(CATALOG, _request(Filters()))
    assert len(backend._counts) == 0
