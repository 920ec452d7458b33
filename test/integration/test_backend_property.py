"""
Random filters, sorts and cursors: every backend must return exactly what the
reference semantics return (and hence what every other backend returns):
the same hits in the same order, the same totals and the same facet counts.
"""
from collections.abc import Iterator

import pytest
from backend_data import (
    CATALOG,
    ENTITY_TYPE,
    documents,
    loaded_backend,
    observed_values,
    registry,
    unseen_values,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azul.backends.base import SearchBackend
from azul.core.fields import Field, FieldType
from azul.core.filters import Contains, Filters, Intersects, Is, Within
from azul.core.search import (
    Cardinality,
    Count,
    SearchRequest,
    Sort,
    Sum,
    SummaryRequest,
    Terms,
    reference_search,
    reference_summary,
    sort_key,
)
from azul_testing import BACKENDS

REGISTRY = registry()
DOCS = documents()
SORTABLE = [f for f in REGISTRY if f.sortable]
NUMERIC = [f for f in REGISTRY if f.type.numeric]
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@pytest.fixture(scope='module', params=BACKENDS)
def loaded(request, tmp_path_factory) -> Iterator[SearchBackend]:
    with loaded_backend(request.param, tmp_path_factory.mktemp(request.param),
                        REGISTRY, DOCS) as backend:
        yield backend


def _bounds(field: Field) -> list:
    """Interesting range bounds: the values (or interval ends) in the data, and beyond."""
    values = [v for v in observed_values(DOCS, field) if v is not None]
    values += [v for v in unseen_values(field)]
    if field.type is FieldType.date:
        return sorted({*values, '0000-00-00T00:00:00.000000Z', '9999-12-31T23:59:59.999999Z'})
    if field.type is FieldType.range:
        values = [b for r in values for b in r]
    values = sorted({float(v) for v in values})
    return [values[0] - 1, *values, values[-1] + 1, (values[0] + values[-1]) / 2]


@st.composite
def ranges(draw, field: Field) -> tuple[tuple, ...]:
    bound = st.sampled_from(_bounds(field))
    pairs = draw(st.lists(st.tuples(bound, bound), min_size=1, max_size=3))
    return tuple((min(a, b), max(a, b)) for a, b in pairs)


@st.composite
def terms(draw, field: Field):
    relation = draw(st.sampled_from(sorted(field.type.relations)))
    if relation == 'is':
        candidates = observed_values(DOCS, field) + unseen_values(field) + [None]
        values = draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=3, unique=True))
        return Is(field, tuple(values))
    cls = {'within': Within, 'contains': Contains, 'intersects': Intersects}[relation]
    return cls(field, draw(ranges(field)))


@st.composite
def filters(draw) -> Filters:
    fields = draw(st.lists(st.sampled_from(list(REGISTRY)), max_size=3, unique=True))
    return Filters(tuple(draw(terms(f)) for f in fields))


@st.composite
def search_requests(draw) -> SearchRequest:
    sort = Sort(draw(st.sampled_from(SORTABLE)), draw(st.sampled_from(['asc', 'desc'])))
    kwargs = {}
    cursor_kind = draw(st.sampled_from([None, 'search_after', 'search_before']))
    if cursor_kind is not None:
        if draw(st.booleans()):
            # The sort key of a document, as a client echoes it back from a previous page
            doc = draw(st.sampled_from(DOCS))
            value = sort_key(sort.field, doc.fields[sort.field.name])
            cursor = (value, doc.entity_id)
        else:
            value = draw(st.sampled_from([None, *[sort_key(sort.field, (v,))
                                                  for v in observed_values(DOCS, sort.field)]]))
            cursor = (value, draw(st.sampled_from(['', 'f' * 36, DOCS[0].entity_id])))
        kwargs[cursor_kind] = cursor
    return SearchRequest(entity_type=ENTITY_TYPE,
                         filters=draw(filters()),
                         sort=sort,
                         size=draw(st.integers(min_value=0, max_value=12)),
                         facets=tuple(draw(st.lists(st.sampled_from(REGISTRY.facets),
                                                    unique=True, max_size=4)))
                         or REGISTRY.facets,
                         **kwargs)


@SETTINGS
@given(request=search_requests())
def test_search_equals_reference(loaded, request):
    expected = reference_search(DOCS, request)
    actual = loaded.search(CATALOG, request)
    assert [(h.entity_id, h.sort) for h in actual.hits] == [
        (h.entity_id, h.sort) for h in expected.hits]
    assert actual.total == expected.total
    assert {k: (v.total, dict(v.counts)) for k, v in actual.facets.items()} == {
        k: (v.total, dict(v.counts)) for k, v in expected.facets.items()}
    assert [h.document for h in actual.hits] == [h.document for h in expected.hits]


@st.composite
def summary_requests(draw) -> SummaryRequest:
    aggregations = [Count('count')]
    for i, field in enumerate(draw(st.lists(st.sampled_from(NUMERIC), max_size=2))):
        aggregations.append(Sum(f'sum{i}', field))
    for i, field in enumerate(draw(st.lists(st.sampled_from(list(REGISTRY)), max_size=2))):
        aggregations.append(Cardinality(f'card{i}', field))
    for i, field in enumerate(draw(st.lists(st.sampled_from(list(REGISTRY)), max_size=2))):
        sums = tuple(draw(st.lists(st.sampled_from(NUMERIC), max_size=2, unique=True)))
        distinct = tuple(draw(st.lists(st.sampled_from(list(REGISTRY)), max_size=1)))
        aggregations.append(Terms(f'terms{i}', field, sums, distinct))
    return SummaryRequest(ENTITY_TYPE, draw(filters()), tuple(aggregations))


@SETTINGS
@given(request=summary_requests())
def test_summary_equals_reference(loaded, request):
    assert dict(loaded.summary(CATALOG, request)) == dict(reference_summary(DOCS, request))


@SETTINGS
@given(filters=filters())
def test_scan_equals_reference(loaded, filters):
    request = SearchRequest(ENTITY_TYPE, filters, Sort(REGISTRY['entryId']), len(DOCS))
    expected = [h.document for h in reference_search(DOCS, request).hits]
    assert list(loaded.scan(CATALOG, ENTITY_TYPE, filters)) == expected
