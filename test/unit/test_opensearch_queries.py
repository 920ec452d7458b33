"""
The OpenSearch backend's pure translation, without a cluster: the mapping and
document layout, filters, the facet rule, sorting and cursors, and the parsing
of responses.

The filter tests run the produced query dicts through `evaluate`, a small
model of the OpenSearch query DSL subset the backend uses, and compare with
the reference `matches` on generated projections. The model follows the
OpenSearch documentation, not our code, so a wrong relation, path or null
clause shows up as a disagreement.
"""
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from azul.backends.opensearch.mapping import (
    aggregate_mappings,
    aggregate_source,
    parse_facet_terms,
    prop,
    source_values,
)
from azul.backends.opensearch.queries import (
    counts_bodies,
    cursor_clauses,
    filter_query,
    page_body,
    search_result,
    sort_clause,
)
from azul.backends.opensearch.summary import (
    PAIRS_SIZE,
    PRECISION_THRESHOLD,
    merged,
    split_body,
    summary_body,
    summary_result,
)
from azul.core.documents import Aggregate, IndexedAggregate
from azul.core.fields import Field, FieldRegistry, FieldType, Value
from azul.core.filters import Contains, Filters, Intersects, Is, Term, Within, matches
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
from azul.errors import AzulError

FIELDS = {
    f.name: f for f in (
        Field('organ', FieldType.keyword, 'organ', facet=True),
        Field('fileSize', FieldType.long, 'size'),
        Field('cells', FieldType.double, 'cells', facet=True),
        Field('isIntermediate', FieldType.boolean, 'intermediate', facet=True),
        Field('modified', FieldType.date, 'modified'),
        Field('accessions', FieldType.object, 'accessions', facet=True),
        Field('ageRange', FieldType.range, 'age', facet=True),
        # Dots must not turn into object paths
        Field('project.title', FieldType.keyword, 'project.title', facet=True),
    )
}
REGISTRY = FieldRegistry(tuple(FIELDS.values()))


# A model of the OpenSearch query DSL, as documented

def _at(source: Mapping[str, Any], path: str) -> list[Any]:
    head, _, rest = path.partition('.')
    value = source.get(head)
    if rest:
        value = (value or {}).get(rest)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _in_range(value: Any, body: Mapping[str, Any]) -> bool:
    return (('gte' not in body or value >= body['gte'])
            and ('lte' not in body or value <= body['lte'])
            and ('gt' not in body or value > body['gt'])
            and ('lt' not in body or value < body['lt']))


def _range_matches(stored: Mapping[str, float], body: Mapping[str, Any]) -> bool:
    lo, hi = body['gte'], body['lte']
    return {
        'within': lambda: lo <= stored['gte'] and stored['lte'] <= hi,
        'contains': lambda: stored['gte'] <= lo and hi <= stored['lte'],
        'intersects': lambda: stored['gte'] <= hi and lo <= stored['lte'],
    }[body.get('relation', 'intersects').lower()]()


def evaluate(query: Mapping[str, Any], source: Mapping[str, Any]) -> bool:
    [(kind, body)] = query.items()
    if kind == 'match_all':
        return True
    elif kind == 'match_none':
        return False
    elif kind == 'bool':
        must = [*body.get('filter', []), *body.get('must', [])]
        should = body.get('should', [])
        minimum = body.get('minimum_should_match', 0 if must else 1) if should else 0
        return (all(evaluate(q, source) for q in must)
                and not any(evaluate(q, source) for q in body.get('must_not', []))
                and sum(evaluate(q, source) for q in should) >= minimum)
    elif kind in ('term', 'terms'):
        [(path, wanted)] = body.items()
        wanted = wanted if kind == 'terms' else [wanted]
        return any(v in wanted for v in _at(source, path))
    elif kind == 'exists':
        return bool(_at(source, body['field']))
    elif kind == 'range':
        [(path, bounds)] = body.items()
        values = _at(source, path)
        if values and isinstance(values[0], dict):
            return any(_range_matches(v, bounds) for v in values)
        return any(_in_range(v, bounds) for v in values)
    else:
        raise AssertionError(f'not modelled: {kind}')


# Generated projections and terms

_values = {
    FieldType.keyword: st.sampled_from(['brain', 'blood', 'Brain', '']),
    FieldType.long: st.integers(-3, 3),
    FieldType.double: st.sampled_from([-0.5, 0.0, 1.25, 2.5]),
    FieldType.boolean: st.booleans(),
    FieldType.date: st.sampled_from(['2019-01-01T00:00:00.000000Z',
                                     '2020-06-15T12:30:00.000000Z']),
    FieldType.object: st.sampled_from(['{"a":1}', '{"a":2,"b":"x"}']),
    FieldType.range: st.tuples(st.integers(-5, 5), st.integers(0, 5)).map(
        lambda r: (float(r[0]), float(r[0] + r[1]))),
}

_bounds = st.tuples(st.integers(-6, 6), st.integers(0, 6)).map(
    lambda r: (r[0] / 2, (r[0] + r[1]) / 2))


def _projection(field: Field) -> st.SearchStrategy[tuple[Value, ...]]:
    value = st.one_of(st.none(), _values[field.type])
    return st.lists(value, min_size=1, max_size=3, unique=True).map(tuple)


projections = st.fixed_dictionaries({name: _projection(f) for name, f in FIELDS.items()})


def _is(field: Field) -> st.SearchStrategy[Term]:
    value = st.one_of(st.none(), _values[field.type])
    return st.lists(value, max_size=3, unique=True).map(lambda vs: Is(field, tuple(vs)))


_date_bounds = st.sampled_from([('2019-01-01T00:00:00.000000Z', '2019-01-01T00:00:00.000000Z'),
                                ('2018-01-01T00:00:00.000000Z', '2020-01-01T00:00:00.000000Z'),
                                ('2020-01-01T00:00:00.000000Z', '2021-01-01T00:00:00.000000Z')])


def _ranges(field: Field, relation: type) -> st.SearchStrategy[Term]:
    bounds = _date_bounds if field.type is FieldType.date else _bounds
    return st.lists(bounds, min_size=1, max_size=2).map(lambda rs: relation(field, tuple(rs)))


def _terms(field: Field) -> st.SearchStrategy[Term]:
    strategies = [_is(field)]
    relations = {'within': Within, 'contains': Contains, 'intersects': Intersects}
    for name, relation in relations.items():
        if name in field.type.relations:
            strategies.append(_ranges(field, relation))
    return st.one_of(strategies)


terms = st.sampled_from(list(FIELDS.values())).flatmap(_terms)


def indexed(entity_id: str, fields: Mapping[str, tuple[Value, ...]]) -> IndexedAggregate:
    aggregate = Aggregate(entity_type='files', entity_id=entity_id, contents={'n': entity_id},
                          bundles=(), sources=(), num_contributions=1)
    return IndexedAggregate(aggregate, fields)


@settings(max_examples=400, deadline=None)
@given(projection=projections, term=terms)
def test_filter_agrees_with_reference(projection, term):
    source = aggregate_source(indexed('e1', projection))
    expected = matches(term, projection[term.field.name])
    assert evaluate(filter_query(Filters((term,))), source) == expected


@settings(max_examples=100, deadline=None)
@given(projection=projections, first=terms, second=terms)
def test_filters_are_anded(projection, first, second):
    source = aggregate_source(indexed('e1', projection))
    filters = Filters((first, second))
    expected = all(matches(t, projection[t.field.name]) for t in filters.terms)
    assert evaluate(filter_query(filters), source) == expected


@settings(max_examples=200, deadline=None)
@given(projection=projections)
def test_source_round_trip(projection):
    source = aggregate_source(indexed('e1', projection))
    for name, field in FIELDS.items():
        assert sorted(source_values(field, source), key=repr) == sorted(projection[name], key=repr)


def test_mapping_is_strict_and_typed():
    mappings = aggregate_mappings(REGISTRY)
    assert mappings['dynamic'] == 'strict'
    properties = mappings['properties']
    assert properties['document'] == {'type': 'object', 'enabled': False}
    fields = properties['fields']
    assert fields['dynamic'] == 'strict'
    types = {name: body['type'] for name, body in fields['properties'].items()}
    assert types == {
        'organ': 'keyword', 'fileSize': 'long', 'cells': 'double', 'isIntermediate': 'boolean',
        'modified': 'keyword', 'accessions': 'keyword', 'ageRange': 'double_range',
        'project%2Etitle': 'keyword',
    }
    assert properties['range_lower']['properties'] == {'ageRange': {'type': 'double'}}
    assert properties['range_key']['properties'] == {'ageRange': {'type': 'keyword'}}


def test_property_names_are_injective_and_dot_free():
    names = ['a.b', 'a%2Eb', 'a%b', 'a%25b', 'ab']
    props = [prop(n) for n in names]
    assert len(set(props)) == len(names)
    assert not any('.' in p for p in props)


def test_nulls_are_a_marker_not_a_value():
    projection = {name: (None,) for name in FIELDS}
    projection['organ'] = (None, 'brain')
    source = aggregate_source(indexed('e1', projection))
    assert sorted(source['nulls']) == sorted(FIELDS)
    # A null never reaches a typed property, where it would count in sums and ranges
    assert source['fields'] == {'organ': ['brain']}


# The facet rule

def _request(**kwargs) -> SearchRequest:
    defaults = dict(entity_type='files', filters=Filters(), sort=Sort(FIELDS['organ']),
                    size=10, facets=(FIELDS['organ'], FIELDS['isIntermediate']))
    return SearchRequest(**{**defaults, **kwargs})


def test_search_bodies_without_filters():
    request = _request()
    assert page_body(request) == {
        'size': 10,
        # The total is counted by the other search
        'track_total_hits': False,
        'query': {'match_all': {}},
        'sort': [{'fields.organ': {'order': 'asc', 'mode': 'min', 'missing': '_last'}},
                 {'entity_id': {'order': 'asc'}}],
        '_source': ['document', 'entity_id', 'nulls', 'fields.organ'],
    }
    # Every facet counts the hits, all of them in one aggregation of one search
    assert counts_bodies(request) == [{
        'size': 0,
        'track_total_hits': True,
        'query': {'match_all': {}},
        'aggs': {'facet_terms': {'terms': {'field': 'facet_terms', 'size': 50_000}}},
    }]


def test_search_body_with_one_filter():
    organ = Is(FIELDS['organ'], ('brain', None))
    request = _request(filters=Filters((organ,)))
    main, scope = counts_bodies(request)
    organ_query = {'bool': {'should': [{'terms': {'fields.organ': ['brain']}},
                                       {'term': {'nulls': 'organ'}}],
                            'minimum_should_match': 1}}
    # Hits and total see the filter, the other facet is counted over them
    assert main == {
        'size': 0,
        'track_total_hits': True,
        'query': organ_query,
        'aggs': {'facet_terms': {'terms': {'field': 'facet_terms', 'size': 50_000}}},
    }
    # The filtered facet sees all documents in a search of its own: its own
    # filter is the only one
    assert scope == {
        'size': 0,
        'track_total_hits': True,
        'query': {'match_all': {}},
        'aggs': {'terms': {'terms': {'field': 'fields.organ', 'size': 10_000}},
                 'null': {'filter': {'term': {'nulls': 'organ'}}}},
    }
    assert page_body(request)['query'] == organ_query


def test_search_bodies_with_azul_facet_counts():
    organ = Is(FIELDS['organ'], ('brain', None))
    request = _request(filters=Filters((organ,)))
    main, scope = counts_bodies(request, facet_counts=True)
    plain_main, plain_scope = counts_bodies(request)
    # The same searches, their terms counted by Azul's aggregation: all of
    # `facet_terms` for the facets without a filter of their own, the
    # filtered facet's own terms (its prefix, the tab included) for it
    assert main == {**plain_main, 'aggs': {'facet_terms': {
        'azul_facet_counts': {'field': 'facet_terms', 'prefix': ''}}}}
    assert scope == {**plain_scope, 'aggs': {'facet_terms': {
        'azul_facet_counts': {'field': 'facet_terms', 'prefix': 'organ\t'}}}}


def test_search_result_of_azul_facet_counts():
    request = _request(filters=Filters((Is(FIELDS['organ'], ('a',)),)))
    counts = {'hits': {'total': {'value': 12, 'relation': 'eq'}, 'hits': []},
              'aggregations': {'facet_terms': _terms([('isIntermediate\ttrue', 12)])}}
    # The filtered facet's own counts as `facet_terms` lists them, its null term included
    scope = {'hits': {'total': {'value': 20, 'relation': 'eq'}, 'hits': []},
             'aggregations': {'facet_terms': _terms([('organ\t"a"', 12), ('organ\t"b"', 6),
                                                     ('organ\tnull', 2)])}}
    result = search_result(request, _NO_HITS, [counts, scope])
    assert result.facets['organ'].counts == {'a': 12, 'b': 6, None: 2}
    assert result.facets['organ'].total == 20
    assert result.facets['isIntermediate'].counts == {True: 12}
    # No term at all of a facet every document has: an index made before the facet
    scope['aggregations']['facet_terms'] = _terms([])
    with pytest.raises(AzulError, match="'organ' is not in the facet_terms"):
        search_result(request, _NO_HITS, [counts, scope])


def test_search_body_facets_ignore_only_their_own_filter():
    organ = Is(FIELDS['organ'], ('brain',))
    size = Within(FIELDS['fileSize'], ((0.0, 10.0),))  # not a facet
    flag = Is(FIELDS['isIntermediate'], (True,))
    request = _request(filters=Filters((organ, size, flag)),
                       facets=(FIELDS['organ'], FIELDS['isIntermediate']))
    main, organ_scope, flag_scope = counts_bodies(request)
    organ_query = {'terms': {'fields.organ': ['brain']}}
    size_query = {'range': {'fields.fileSize': {'gte': 0, 'lte': 10}}}
    flag_query = {'terms': {'fields.isIntermediate': [True]}}
    assert main['query'] == {'bool': {'filter': [organ_query, size_query, flag_query]}}
    # Every facet has a filter of its own: the first search counts only the total
    assert 'aggs' not in main
    assert organ_scope['query'] == {'bool': {'filter': [size_query, flag_query]}}
    assert organ_scope['aggs']['terms'] == {'terms': {'field': 'fields.organ',
                                                      'size': 10_000}}
    assert flag_scope['query'] == {'bool': {'filter': [organ_query, size_query]}}
    assert flag_scope['aggs']['null'] == {'filter': {'term': {'nulls': 'isIntermediate'}}}


@pytest.mark.parametrize('order', ['asc', 'desc'])
def test_sort_clause(order):
    sort = Sort(FIELDS['ageRange'], order)
    forward, tie = sort_clause(sort)
    backward, reverse_tie = sort_clause(sort, reverse=True)
    path = 'range_lower.ageRange'
    # As the original's PaginationStage (checked by hand): `mode: min` in both
    # directions, missing last ascending and first descending, the entity id
    # tie-breaker in the direction of the sort
    missing = '_last' if order == 'asc' else '_first'
    assert forward == {path: {'order': order, 'mode': 'min', 'missing': missing}}
    assert tie == {'entity_id': {'order': order}}
    # Walking backwards: every comparison flipped, the mode kept
    flipped = 'desc' if order == 'asc' else 'asc'
    flipped_missing = '_first' if order == 'asc' else '_last'
    assert backward == {path: {'order': flipped, 'mode': 'min', 'missing': flipped_missing}}
    assert reverse_tie == {'entity_id': {'order': flipped}}


@pytest.mark.parametrize('order, before, expected', [
    # Ascending, nulls last: after a null only nulls with a greater id
    ('asc', False, {'bool': {'filter': [
        {'bool': {'must_not': [{'exists': {'field': 'fields.organ'}}]}},
        {'range': {'entity_id': {'gt': 'e5'}}}]}}),
    ('asc', True, {'bool': {'should': [
        {'exists': {'field': 'fields.organ'}},
        {'range': {'entity_id': {'lt': 'e5'}}}], 'minimum_should_match': 1}}),
    # Descending, nulls first and ids descending: after a null every document
    # with a value and the nulls with a smaller id
    ('desc', False, {'bool': {'should': [
        {'exists': {'field': 'fields.organ'}},
        {'range': {'entity_id': {'lt': 'e5'}}}], 'minimum_should_match': 1}}),
    ('desc', True, {'bool': {'filter': [
        {'bool': {'must_not': [{'exists': {'field': 'fields.organ'}}]}},
        {'range': {'entity_id': {'gt': 'e5'}}}]}}),
])
def test_null_cursor_filters(order, before, expected):
    clauses = cursor_clauses(Sort(FIELDS['organ'], order), (None, 'e5'), before=before)
    assert clauses == {'cursor_filter': expected}


def test_boolean_cursor_is_numeric():
    clauses = cursor_clauses(Sort(FIELDS['isIntermediate']), (True, 'e1'), before=False)
    assert clauses == {'search_after': [1, 'e1']}


def _sortable_source(entity_id: str, sizes: tuple[Value, ...]) -> dict[str, Any]:
    projection = {name: (None,) for name in FIELDS}
    projection['fileSize'] = sizes
    return aggregate_source(indexed(entity_id, projection))


@pytest.mark.parametrize('before', [False, True])
def test_null_cursor_is_a_filter(before):
    sort = Sort(FIELDS['fileSize'])
    clauses = cursor_clauses(sort, (None, 'e5'), before=before)
    assert 'search_after' not in clauses
    query = clauses['cursor_filter']
    sources = {
        'e1': _sortable_source('e1', (None,)),
        'e9': _sortable_source('e9', (None,)),
        'e0': _sortable_source('e0', (3,)),
        'e7': _sortable_source('e7', (None, 1)),
    }
    selected = {eid for eid, source in sources.items() if evaluate(query, source)}
    # Nulls come last, ordered by entity id; a value, even beside a null, is not null
    assert selected == ({'e0', 'e7', 'e1'} if before else {'e9'})


def test_cursors_select_only_the_page():
    organ = {'terms': {'fields.organ': ['brain']}}
    filters = Filters((Is(FIELDS['organ'], ('brain',)),))
    null_cursor = _request(sort=Sort(FIELDS['fileSize']), search_after=(None, 'e5'),
                           filters=filters)
    assert page_body(null_cursor)['query'] == {'bool': {'filter': [organ, {'bool': {'filter': [
        {'bool': {'must_not': [{'exists': {'field': 'fields.fileSize'}}]}},
        {'range': {'entity_id': {'gt': 'e5'}}}]}}]}}
    cursor = _request(sort=Sort(FIELDS['fileSize']), search_after=(3, 'e5'), filters=filters)
    assert page_body(cursor)['query'] == organ
    assert page_body(cursor)['search_after'] == [3, 'e5']
    # The total and facets do not depend on the page
    assert counts_bodies(null_cursor) == counts_bodies(cursor) == counts_bodies(
        _request(sort=Sort(FIELDS['fileSize']), filters=filters))


def _hit(entity_id: str, organs: list[str]) -> dict[str, Any]:
    fields = {'organ': organs} if organs else {}
    return {'_source': {'entity_id': entity_id, 'document': {'entity_id': entity_id},
                        'nulls': [] if organs else ['organ'], 'fields': fields}}


def _terms(buckets: list[tuple[Any, int]], other: int = 0) -> dict[str, Any]:
    return {'sum_other_doc_count': other,
            'buckets': [{'key': k, 'doc_count': n} for k, n in buckets]}


def _scoped(buckets: list[tuple[Any, int]], nulls: int, total: int) -> dict[str, Any]:
    """The response to a filtered facet's own counting search."""
    return {'hits': {'total': {'value': total, 'relation': 'eq'}, 'hits': []},
            'aggregations': {'terms': _terms(buckets), 'null': {'doc_count': nulls}}}


_NO_HITS = {'hits': {'hits': []}}


def test_search_result():
    request = _request(sort=Sort(FIELDS['organ'], 'desc'), search_before=('b', 'e0'),
                       filters=Filters((Is(FIELDS['organ'], ('a',)),)))
    page = {'hits': {'hits': [_hit('e2', ['a', 'c']), _hit('e1', [])]}}
    counts = {
        'hits': {'total': {'value': 12, 'relation': 'eq'}, 'hits': []},
        'aggregations': {
            'facet_terms': _terms([('isIntermediate\ttrue', 4), ('isIntermediate\tnull', 5),
                                   ('isIntermediate\tfalse', 2),
                                   # The filtered facet's terms are those of its scope
                                   ('organ\t"a"', 12), ('organ\tnull', 1)]),
        },
    }
    result = search_result(request, page, [counts, _scoped([('a', 3)], nulls=0, total=11)])
    # search_before fetched in reverse: the page comes back in request order
    assert [h.entity_id for h in result.hits] == ['e1', 'e2']
    # A multi-valued field sorts by its smallest value, also descending
    assert [h.sort for h in result.hits] == [(None, 'e1'), ('a', 'e2')]
    assert result.total == 12
    assert result.facets['organ'].counts == {'a': 3}
    assert result.facets['organ'].total == 11
    assert result.facets['isIntermediate'].counts == {True: 4, False: 2, None: 5}
    assert result.facets['isIntermediate'].total == 12


def test_facet_terms_of_every_type():
    # As facets, the fields of the types no other facet has
    facets = tuple(f if f.facet else Field(f.name, f.type, f.path, facet=True)
                   for f in FIELDS.values())
    response = {
        'hits': {'total': {'value': 9, 'relation': 'eq'}, 'hits': []},
        'aggregations': {'facet_terms': _terms([
            ('organ\t"brain\\t\\"x\\""', 1), ('fileSize\t3', 2), ('cells\t2.5', 3),
            ('isIntermediate\tfalse', 4), ('modified\t"2019-01-01T00:00:00.000000Z"', 5),
            ('accessions\t"{\\"a\\":1}"', 6), ('ageRange\t[0.0, 1.5]', 7),
            ('project.title\tnull', 8), ('unrequested\t"x"', 9),
        ])},
    }
    result = search_result(_request(facets=facets), _NO_HITS, [response])
    assert {name: facet.counts for name, facet in result.facets.items()} == {
        'organ': {'brain\t"x"': 1},
        'fileSize': {3: 2},
        'cells': {2.5: 3},
        'isIntermediate': {False: 4},
        'modified': {'2019-01-01T00:00:00.000000Z': 5},
        'accessions': {'{"a":1}': 6},
        'ageRange': {(0.0, 1.5): 7},
        'project.title': {None: 8},
    }
    assert {facet.total for facet in result.facets.values()} == {9}


def test_truncated_terms_fail_loudly():
    request = _request(filters=Filters((Is(FIELDS['organ'], ('a',)),)))
    truncated = _terms([], other=3)
    response = {
        'hits': {'total': {'value': 0, 'relation': 'eq'}, 'hits': []},
        'aggregations': {'facet_terms': _terms([])},
    }
    scope = {'hits': {'total': {'value': 0, 'relation': 'eq'}, 'hits': []},
             'aggregations': {'terms': truncated, 'null': {'doc_count': 0}}}
    with pytest.raises(AzulError, match='organ'):
        search_result(request, _NO_HITS, [response, scope])
    response['aggregations'] = {'facet_terms': truncated}
    with pytest.raises(AzulError, match='50000'):
        search_result(_request(), _NO_HITS, [response])


def test_facet_terms_orjson_refuses():
    [(name, nan), big, tab] = parse_facet_terms(
        ['cells\tNaN', 'fileSize\t1180591620717411303424', 'organ\t"a\\tb"'])
    assert name == 'cells' and math.isnan(nan)
    assert big == ('fileSize', 2 ** 70)
    assert tab == ('organ', 'a\tb')


def test_facet_unknown_to_the_index_fails_loudly():
    counts = {'hits': {'total': {'value': 3, 'relation': 'eq'}, 'hits': []},
              'aggregations': {'facet_terms': _terms([('organ\t"a"', 3)])}}
    with pytest.raises(AzulError, match="'isIntermediate'.*reindex"):
        search_result(_request(), _NO_HITS, [counts])
    # Without documents no facet has terms
    counts = {'hits': {'total': {'value': 0, 'relation': 'eq'}, 'hits': []},
              'aggregations': {'facet_terms': _terms([])}}
    result = search_result(_request(), _NO_HITS, [counts])
    assert result.facets['isIntermediate'].counts == {}


def test_facet_terms_of_a_document():
    projection = {name: (None,) for name in FIELDS}
    projection.update(organ=('brain', None), cells=(2, -0.0), isIntermediate=(True,),
                      ageRange=((1, 2.5),))
    facets = {name: FIELDS[name].type for name in ('organ', 'cells', 'isIntermediate',
                                                   'ageRange', 'project.title')}
    source = aggregate_source(indexed('e1', projection), facets)
    # Values as a typed field holds them (`2` of a double field is 2.0), only of facets
    assert source['facet_terms'] == [
        'organ\t"brain"', 'organ\tnull', 'cells\t2.0', 'cells\t0.0',
        'isIntermediate\ttrue', 'ageRange\t[1.0, 2.5]', 'project.title\tnull']
    assert aggregate_mappings(REGISTRY)['_meta'] == {'facets': {
        'organ': 'keyword', 'cells': 'double', 'isIntermediate': 'boolean',
        'accessions': 'object', 'ageRange': 'range', 'project.title': 'keyword'}}


def _summary_request() -> SummaryRequest:
    return SummaryRequest('files', Filters(), (
        Count('count'),
        Sum('size', FIELDS['fileSize']),
        Cardinality('ages', FIELDS['ageRange']),
        Terms('organs', FIELDS['organ'], sums=(FIELDS['cells'],),
              distinct=(FIELDS['accessions'],)),
    ))


def test_summary_body():
    body = summary_body(_summary_request())
    aggs = body['aggs']
    assert body['size'] == 0
    assert aggs['agg1'] == {'sum': {'field': 'fields.fileSize'}}
    assert aggs['agg2'] == {'cardinality': {'field': 'range_key.ageRange',
                                            'precision_threshold': PRECISION_THRESHOLD}}
    # By key, descending (the keys are looked up in the order of the ordinals)
    terms = {'size': 10_000, 'order': {'_key': 'desc'}}
    assert aggs['agg3'] == {'terms': {'field': 'fields.organ', **terms},
                            'aggs': {'sum0': {'sum': {'field': 'fields.cells'}}}}
    # A term's distinct values are pairs beside the terms; documents without
    # a term have them in their null bucket, one bucket
    assert aggs['agg3_pairs0'] == {'composite': {'size': PAIRS_SIZE, 'sources': [
        {'term': {'terms': {'field': 'fields.organ'}}},
        {'value': {'terms': {'field': 'fields.accessions'}}}]}}
    assert aggs['agg3_null'] == {'filter': {'term': {'nulls': 'organ'}}, 'aggs': {
        'sum0': {'sum': {'field': 'fields.cells'}},
        'distinct0': {'terms': {'field': 'fields.accessions', **terms}}}}
    assert set(aggs) == {'agg1', 'agg2', 'agg3', 'agg3_pairs0', 'agg3_null'}


def test_summary_split_into_searches():
    body = summary_body(_summary_request())
    first, second = split_body(body, 2)
    # Weights (`_WEIGHTS`): the terms with a sum 1.5 + 1.0, the pairs 2.5, the
    # sum 1.0, the cardinality 1.0, the null bucket 0.5 (its sub-aggregations
    # see few documents). Heaviest first, ties in the body's order, each to
    # the lighter search, the first on a tie: terms -> 1st (2.5), pairs ->
    # 2nd (2.5), sum -> 1st (3.5), cardinality -> 2nd (3.5), null -> 1st (4.0)
    assert list(first['aggs']) == ['agg3', 'agg1', 'agg3_null']
    assert list(second['aggs']) == ['agg3_pairs0', 'agg2']
    # Only the first counts the total; the query is the same
    assert (first['track_total_hits'], second['track_total_hits']) == (True, False)
    assert first['query'] == second['query'] == body['query']
    assert split_body({**body, 'track_total_hits': False}, 2)[0]['track_total_hits'] is False
    # As many searches as have 2.5 of weight (of 8.5 in all: 3); none: the body
    assert len(split_body(body, 9)) == 3
    assert len(split_body({**body, 'aggs': {'agg1': body['aggs']['agg1']}}, 2)) == 1
    assert split_body({**body, 'aggs': {}}, 2) == [{**body, 'aggs': {}}]
    responses = [{'hits': {'total': {'value': 9}}, 'aggregations': {'a': 1}},
                 {'hits': {}, 'aggregations': {'b': 2}}]
    assert merged(responses) == {'hits': {'total': {'value': 9}},
                                 'aggregations': {'a': 1, 'b': 2}}


def _bucket(key: Any, count: int, cells: float, accessions: list[str]) -> dict[str, Any]:
    return {'key': key, 'doc_count': count, 'sum0': {'value': cells},
            'distinct0': {'sum_other_doc_count': 0,
                          'buckets': [{'key': a, 'doc_count': 1} for a in accessions]}}


def _pair(term: Any, value: str) -> dict[str, Any]:
    return {'key': {'term': term, 'value': value}, 'doc_count': 1}


# A term's distinct values as the search answers them (pairs beside the
# terms) and as the kept counts do (in each term's bucket, see `kept`)
_DISTINCT_SHAPES = {
    'pairs': {
        'agg3': {'sum_other_doc_count': 0, 'buckets': [
            {'key': 'liver', 'doc_count': 2, 'sum0': {'value': 1.5}},
            {'key': 'blood', 'doc_count': 2, 'sum0': {'value': 0.0}},
        ]},
        'agg3_pairs0': {'buckets': [_pair('liver', '{"a":1}'), _pair('liver', '{"b":1}')]},
    },
    'nested': {
        'agg3': {'sum_other_doc_count': 0, 'buckets': [
            _bucket('liver', 2, 1.5, ['{"b":1}', '{"a":1}']),
            _bucket('blood', 2, 0.0, []),
        ]},
    },
}


@pytest.mark.parametrize('shape', list(_DISTINCT_SHAPES))
def test_summary_result(shape):
    response = {
        'hits': {'total': {'value': 9, 'relation': 'eq'}},
        'aggregations': {
            'agg1': {'value': 3000.0},
            'agg2': {'value': 4},
            **_DISTINCT_SHAPES[shape],
            # The null bucket has them as a sub-aggregation in both
            'agg3_null': {**_bucket(None, 3, 7.25, ['{"a":1}']), 'key': None},
        },
    }
    result = summary_result(_summary_request(), response)
    assert result['count'] == 9
    assert result['size'] == 3000.0
    assert result['ages'] == 4
    # By count descending, then term with null last; distinct values sorted
    assert result['organs'] == (
        TermBucket(None, 3, {'cells': 7.25}, {'accessions': ('{"a":1}',)}),
        TermBucket('blood', 2, {'cells': 0.0}, {'accessions': ()}),
        TermBucket('liver', 2, {'cells': 1.5}, {'accessions': ('{"a":1}', '{"b":1}')}),
    )


def test_summary_result_pairs_of_typed_terms():
    # Pairs' keys are converted as the terms' are: a boolean term's bucket
    # key is 1, its pair's true
    request = SummaryRequest('files', Filters(), (
        Terms('flags', FIELDS['isIntermediate'], distinct=(FIELDS['organ'],)),))
    response = {'hits': {'total': {'value': 3}}, 'aggregations': {
        'agg0': {'sum_other_doc_count': 0, 'buckets': [{'key': 1, 'doc_count': 3}]},
        'agg0_pairs0': {'buckets': [_pair(True, 'liver'), _pair(True, 'brain')]},
        'agg0_null': {'doc_count': 0, 'distinct0': {'buckets': []}}}}
    assert summary_result(request, response) == {'flags': (
        TermBucket(True, 3, {}, {'organ': ('brain', 'liver')}),)}


def test_summary_result_fails_on_a_full_page_of_pairs():
    request = SummaryRequest('files', Filters(), (
        Terms('organs', FIELDS['organ'], distinct=(FIELDS['accessions'],)),))
    response = {'hits': {'total': {'value': 3}}, 'aggregations': {
        'agg0': {'sum_other_doc_count': 0, 'buckets': []},
        'agg0_pairs0': {'buckets': [_pair('liver', str(i)) for i in range(PAIRS_SIZE)]},
        'agg0_null': {'doc_count': 0, 'distinct0': {'buckets': []}}}}
    with pytest.raises(AzulError, match='pairs'):
        summary_result(request, response)


def test_range_is_matches_exact_interval():
    field = FIELDS['ageRange']
    source = _range_source([(0.0, 10.0), (5.0, 20.0)])
    # (0, 20) is spanned by the two intervals together but equals neither
    assert not evaluate(filter_query(Filters((Is(field, ((0.0, 20.0),)),))), source)
    assert evaluate(filter_query(Filters((Is(field, ((-0.0, 10.0),)),))), source)


def _range_source(ranges: Sequence[tuple[float, float]]) -> dict[str, Any]:
    projection = {name: (None,) for name in FIELDS}
    projection['ageRange'] = tuple(ranges)
    return aggregate_source(indexed('e1', projection))


@pytest.mark.parametrize('nulls, expected', [(0, 4), (2, 5)])
def test_cardinality_counting_the_null_term(nulls, expected):
    request = SummaryRequest('files', Filters(), (
        Cardinality('labs', FIELDS['organ'], count_null=True),))
    aggs = summary_body(request)['aggs']
    assert aggs['agg0_null'] == {'filter': {'term': {'nulls': 'organ'}}}
    response = {'hits': {'total': {'value': 9, 'relation': 'eq'}},
                'aggregations': {'agg0': {'value': 4}, 'agg0_null': {'doc_count': nulls}}}
    # The null term counts once, however many documents have it
    assert summary_result(request, response) == {'labs': expected}


def test_ranges_of_one_filter_are_anded():
    term = Within(FIELDS['fileSize'], ((0.0, 5.0), (3.0, 10.0)))
    assert filter_query(Filters((term,))) == {'bool': {'filter': [
        {'range': {'fields.fileSize': {'gte': 0.0, 'lte': 5.0}}},
        {'range': {'fields.fileSize': {'gte': 3.0, 'lte': 10.0}}}]}}


def test_date_within_compares_strings():
    term = Within(FIELDS['modified'], (('2020-01-01T00:00:00.000000Z',
                                        '2020-12-31T23:59:59.999999Z'),))
    assert filter_query(Filters((term,))) == {'range': {'fields.modified': {
        'gte': '2020-01-01T00:00:00.000000Z', 'lte': '2020-12-31T23:59:59.999999Z'}}}
