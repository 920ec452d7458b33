"""
The original Azul's sorting, paging, filter and summary rules, on both
backends, against a handful of documents whose answers were worked out by
hand from the original's code (no expected value here is computed by the code
under test):

- sorting (`PaginationStage` in the original's service): `mode: min` whatever
  the order, `missing: _last` ascending and `_first` descending, null values
  indexed as sentinels that sort after every real value, ties broken by
  `entity_id` in the direction of the sort;
- cell counts are sums, so 0 (not null) without any count (`HCAAggregate`);
- `within` on dates, and the ranges of one filter ANDed (one range query per
  range in the original's `FilterStage`);
- accessions are `nested`: a filter value matches an accession having all of
  its entries;
- a cardinality counts the `~null` term (`labCount`).
"""
from collections.abc import Iterator

import pytest
from backend_data import CATALOG, ENTITY_TYPE, loaded_backend

from azul.backends.base import SearchBackend
from azul.core.documents import Aggregate, IndexedAggregate
from azul.core.fields import Field, FieldRegistry, FieldType, ObjectShape
from azul.core.filters import Filters, parse_filters
from azul.core.search import Cardinality, SearchRequest, Sort, SummaryRequest
from azul_testing import BACKENDS

REGISTRY = FieldRegistry((
    Field('entryId', FieldType.keyword, 'entity_id'),
    Field('organ', FieldType.keyword, 'contents.samples.organ', facet=True),
    Field('cellCount', FieldType.long, 'contents.cell_counts.total', default=0),
    Field('lastModified', FieldType.date, 'contents.dates.modified'),
    Field('accessions', FieldType.object, 'contents.projects.accessions',
          shape=ObjectShape(('namespace', 'accession'), nullable=('namespace', 'accession'),
                            partial=True)),
    Field('laboratory', FieldType.keyword, 'contents.projects.laboratory', facet=True),
))


def _doc(entity_id: str, organ: list, cells: int | None, modified: str | None,
         accessions: list, laboratory: list) -> IndexedAggregate:
    contents = {
        'samples': [{'organ': organ}],
        'cell_counts': [{'total': cells}],
        'dates': [{'modified': modified}],
        'projects': [{'accessions': accessions, 'laboratory': laboratory}],
    }
    aggregate = Aggregate(ENTITY_TYPE, entity_id, contents, (), ('s',), 1)
    return IndexedAggregate(aggregate, REGISTRY.extract(aggregate.to_json()))


GEO1 = {'namespace': 'geo', 'accession': 'GSE1'}
GEO2 = {'namespace': 'geo', 'accession': 'GSE2'}
PRJ9 = {'namespace': 'insdc', 'accession': 'PRJ9'}
E1 = {'namespace': 'array_express', 'accession': 'E-1'}

DOCS = [
    _doc('e0', ['brain'], 5, '2020-01-01T00:00:00.000000Z', [GEO1], ['Lab A']),
    _doc('e1', ['liver'], None, '2021-06-01T00:00:00.000000Z', [], []),
    _doc('e2', ['brain', 'liver'], 10, '2019-12-31T23:59:59.999999Z', [PRJ9, GEO2], ['Lab B']),
    _doc('e3', [None], None, None, [E1], [None]),
    _doc('e4', ['heart'], 1, '2020-06-15T12:00:00.000000Z', [], ['Lab A']),
    _doc('e5', [None, 'heart'], 3, None, [], ['Lab B']),
    _doc('e6', [], None, None, [], ['Lab A']),
]


@pytest.fixture(scope='module', params=BACKENDS)
def backend(request, tmp_path_factory) -> Iterator[SearchBackend]:
    with loaded_backend(request.param, tmp_path_factory.mktemp(request.param),
                        REGISTRY, DOCS) as backend:
        yield backend


def _ids(backend: SearchBackend, sort: str = 'entryId', order: str = 'asc', size: int = 10,
         filters: dict | None = None, **cursor) -> list[str]:
    request = SearchRequest(ENTITY_TYPE, parse_filters(filters, REGISTRY),
                            Sort(REGISTRY[sort], order), size, **cursor)
    return [h.entity_id for h in backend.search(CATALOG, request).hits]


@pytest.mark.parametrize('sort, order, expected', [
    # e2 sorts by brain, its smallest organ, in both directions; e3 and e6
    # have no organ: last ascending, first descending, by id in the sort's
    # direction
    ('organ', 'asc', ['e0', 'e2', 'e4', 'e5', 'e1', 'e3', 'e6']),
    ('organ', 'desc', ['e6', 'e3', 'e1', 'e5', 'e4', 'e2', 'e0']),
    # Without a count the cell count is 0, not null: e1, e3, e6 come first
    # ascending
    ('cellCount', 'asc', ['e1', 'e3', 'e6', 'e4', 'e5', 'e0', 'e2']),
    ('cellCount', 'desc', ['e2', 'e0', 'e5', 'e4', 'e6', 'e3', 'e1']),
    ('lastModified', 'asc', ['e2', 'e0', 'e4', 'e1', 'e3', 'e5', 'e6']),
    ('lastModified', 'desc', ['e6', 'e5', 'e3', 'e1', 'e4', 'e0', 'e2']),
])
def test_sort(backend, sort, order, expected):
    assert _ids(backend, sort, order) == expected


def test_hit_sort_keys(backend):
    request = SearchRequest(ENTITY_TYPE, Filters(), Sort(REGISTRY['organ'], 'desc'), 3)
    hits = backend.search(CATALOG, request).hits
    assert [h.sort for h in hits] == [(None, 'e6'), (None, 'e3'), ('liver', 'e1')]


def test_paging_descending(backend):
    page = {'sort': 'organ', 'order': 'desc', 'size': 3}
    assert _ids(backend, **page) == ['e6', 'e3', 'e1']
    assert _ids(backend, **page, search_after=('liver', 'e1')) == ['e5', 'e4', 'e2']
    assert _ids(backend, **page, search_after=('brain', 'e2')) == ['e0']
    assert _ids(backend, **page, search_after=(None, 'e6')) == ['e3', 'e1', 'e5']
    assert _ids(backend, **page, search_before=('brain', 'e0')) == ['e5', 'e4', 'e2']
    assert _ids(backend, **page, search_before=('heart', 'e5')) == ['e6', 'e3', 'e1']
    assert _ids(backend, **page, search_before=(None, 'e3')) == ['e6']


def test_paging_ascending_through_nulls(backend):
    page = {'sort': 'organ', 'order': 'asc', 'size': 3}
    assert _ids(backend, **page, search_after=('liver', 'e1')) == ['e3', 'e6']
    assert _ids(backend, **page, search_after=(None, 'e3')) == ['e6']
    assert _ids(backend, **page, search_before=(None, 'e3')) == ['e4', 'e5', 'e1']
    assert _ids(backend, **page, search_before=(None, 'e6')) == ['e5', 'e1', 'e3']


@pytest.mark.parametrize('filters, expected', [
    ({'lastModified': {'within': [['2020-01-01T00:00:00.000000Z',
                                   '2020-12-31T23:59:59.999999Z']]}}, ['e0', 'e4']),
    # Both ranges must be met
    ({'lastModified': {'within': [['2019-01-01T00:00:00.000000Z',
                                   '2020-12-31T23:59:59.999999Z'],
                                  ['2020-06-01T00:00:00.000000Z',
                                   '2021-12-31T23:59:59.999999Z']]}}, ['e4']),
    ({'cellCount': {'within': [[0, 3], [3, 10]]}}, ['e5']),
    ({'cellCount': {'is': [0]}}, ['e1', 'e3', 'e6']),
    ({'cellCount': {'is': [None]}}, []),
    ({'accessions': {'is': [{'namespace': 'geo'}]}}, ['e0', 'e2']),
    ({'accessions': {'is': [{'accession': 'E-1'}]}}, ['e3']),
    ({'accessions': {'is': [{}]}}, ['e0', 'e2', 'e3']),
    ({'accessions': {'is': [{'namespace': 'insdc', 'accession': 'PRJ9'}]}}, ['e2']),
    ({'accessions': {'is': [{'namespace': 'geo', 'accession': 'PRJ9'}]}}, []),
])
def test_filters(backend, filters, expected):
    assert _ids(backend, filters=filters) == expected


@pytest.mark.parametrize('filters, with_null, without_null', [
    # Lab A, Lab B and the null laboratory of e1 and e3
    ({}, 3, 2),
    ({'organ': {'is': ['brain']}}, 2, 2),
    ({'organ': {'is': ['liver']}}, 2, 1),
])
def test_cardinality_counts_the_null_term(backend, filters, with_null, without_null):
    lab = REGISTRY['laboratory']
    request = SummaryRequest(ENTITY_TYPE, parse_filters(filters, REGISTRY), (
        Cardinality('labs', lab, count_null=True),
        Cardinality('labsWithoutNull', lab),
    ))
    assert backend.summary(CATALOG, request) == {'labs': with_null,
                                                 'labsWithoutNull': without_null}
