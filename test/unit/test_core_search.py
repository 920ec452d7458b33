"""The reference semantics of search: sorting, nulls, cursors and facets."""
import random

import pytest

from azul.core.documents import Aggregate, IndexedAggregate
from azul.core.fields import Field, FieldRegistry, FieldType
from azul.core.filters import parse_filters
from azul.core.search import SearchRequest, Sort, reference_search

registry = FieldRegistry((
    Field('organ', FieldType.keyword, 'organ', facet=True),
    Field('cells', FieldType.long, 'cells'),
))


def doc(i: int, organs, cells) -> IndexedAggregate:
    aggregate = Aggregate('files', f'e{i:02}', {'organ': organs, 'cells': cells}, (), (), 1)
    return IndexedAggregate(aggregate, registry.extract({'organ': organs, 'cells': cells}))


rng = random.Random(7)
docs = [doc(i, rng.sample(['brain', 'heart', 'liver', None], rng.randint(0, 2)),
            rng.choice([None, 1, 2, 3, [1, 5]])) for i in range(30)]


@pytest.mark.parametrize('field', ['organ', 'cells'])
@pytest.mark.parametrize('order', ['asc', 'desc'])
def test_paging_visits_every_entity_once_and_back(field, order):
    sort = Sort(registry[field], order)
    request = SearchRequest('files', parse_filters(None, registry), sort, size=7)
    pages = []
    while True:
        result = reference_search(docs, request)
        pages.append([h.entity_id for h in result.hits])
        if len(result.hits) < 7:
            break
        request = SearchRequest('files', request.filters, sort, 7,
                                search_after=result.hits[-1].sort)
    ids = [i for page in pages for i in page]
    assert sorted(ids) == sorted(d.entity_id for d in docs)
    assert len(set(ids)) == len(ids)
    # nulls last ascending, first descending
    keys = [reference_search(docs, SearchRequest('files', request.filters, sort, 30)).hits]
    values = [h.sort[0] for h in keys[0]]
    nulls = [v is None for v in values]
    assert nulls == sorted(nulls, reverse=order == 'desc')
    present = [v for v in values if v is not None]
    assert present == sorted(present, reverse=order == 'desc')
    # walking back with search_before gives the same pages
    back = []
    first_of_page = None
    for page in reversed(pages[1:]):
        first_of_page = next(h for h in reference_search(docs, SearchRequest(
            'files', request.filters, sort, 30)).hits if h.entity_id == page[0])
        result = reference_search(docs, SearchRequest('files', request.filters, sort, 7,
                                                      search_before=first_of_page.sort))
        back.append([h.entity_id for h in result.hits])
    assert back == list(reversed(pages[:-1]))


def test_facets_ignore_their_own_filter():
    filters = parse_filters({'organ': {'is': ['brain']}, 'cells': {'within': [[1, 2]]}}, registry)
    result = reference_search(docs, SearchRequest('files', filters, Sort(registry['organ']), 5,
                                                  facets=(registry['organ'],)))
    in_scope = [d for d in docs if any(v is not None and 1 <= v <= 2 for v in d.fields['cells'])]
    assert result.facets['organ'].total == len(in_scope)
    assert result.facets['organ'].counts['heart'] == sum('heart' in d.fields['organ']
                                                         for d in in_scope)
    assert result.total == sum('brain' in d.fields['organ'] for d in in_scope)


# Checked by hand against the original Azul's sort (PaginationStage and
# FieldType.es_sort_mode): `mode: min` in both directions, `missing: _last`
# ascending and `_first` descending (and null indexed as `~null`, which sorts
# after every value), then `entity_id` in the same direction as the sort.
_by_hand = [doc(0, ['brain'], None), doc(1, ['liver'], None), doc(2, ['brain', 'liver'], None),
            doc(3, [None], None), doc(4, ['heart'], None), doc(5, [None, 'heart'], None),
            doc(6, [], None)]


def _ids(**kwargs) -> list[str]:
    order = kwargs.pop('order')
    size = kwargs.pop('size', 10)
    request = SearchRequest('files', parse_filters(None, registry),
                            Sort(registry['organ'], order), size, **kwargs)
    return [h.entity_id for h in reference_search(_by_hand, request).hits]


def test_sort_order_by_hand():
    assert _ids(order='asc') == ['e00', 'e02', 'e04', 'e05', 'e01', 'e03', 'e06']
    # e02 sorts by brain, its smallest organ, also descending
    assert _ids(order='desc') == ['e06', 'e03', 'e01', 'e05', 'e04', 'e02', 'e00']


def test_cursors_by_hand():
    assert _ids(order='desc', size=3) == ['e06', 'e03', 'e01']
    assert _ids(order='desc', size=3, search_after=('liver', 'e01')) == ['e05', 'e04', 'e02']
    assert _ids(order='desc', size=3, search_after=('brain', 'e02')) == ['e00']
    assert _ids(order='desc', size=3, search_after=(None, 'e06')) == ['e03', 'e01', 'e05']
    assert _ids(order='desc', size=3, search_before=('heart', 'e05')) == ['e06', 'e03', 'e01']
    assert _ids(order='desc', size=3, search_before=(None, 'e03')) == ['e06']
    assert _ids(order='asc', size=3, search_after=('liver', 'e01')) == ['e03', 'e06']
    assert _ids(order='asc', size=3, search_before=(None, 'e03')) == ['e04', 'e05', 'e01']
