"""
Pure translation of search requests into OpenSearch request bodies and of
responses back into results: dicts in, dicts out, no client. The unit tests
assert on these dicts without a cluster.

A page is several searches of one multi-search, run in parallel: the hits
(`page_body`), and the total and facets (`counts_bodies`), whose responses the
backend caches (see `cache`). A facet's counts ignore the facet's own filter (as
in the original Azul), so that selecting a term does not hide its siblings.
The first counting search's query holds every filter, and the facets without
a filter of their own are counted over its hits by one `terms` aggregation of
`facet_terms` (see `mapping`). Each facet with a filter of its own is counted
by a search of its own, whose query is the other filters, with a `terms`
aggregation of its field and the count of its null term. (A `global`
aggregation holding a `filter` of the other filters, in the one counting
search, gave the same answers, but evaluated that filter for every document of
the index: at 1M documents it took about half the node's CPU of a filtered
page with three filters.)

The original's shape (elasticsearch-dsl's FacetedSearch: match everything,
`post_filter` for the hits, a `filter` wrapper, a `terms` aggregation and a
null count per facet) was 25-35 times slower than DuckDB for a page with 25
facets at 100,000 documents: every wrapper re-evaluated its filter for every
document, and every `terms` aggregation (about 10 ms each) read its own field.
"""
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from azul.backends.opensearch.mapping import (
    ENTITY_ID,
    FACET_TERMS,
    NULLS,
    from_key,
    parse_facet_terms,
    prop,
    sort_path,
    source_values,
    term_path,
    value_path,
)
from azul.core.fields import Field, Value
from azul.core.filters import Filters, Is, Term
from azul.core.search import (
    Cursor,
    FacetResult,
    Hit,
    SearchRequest,
    SearchResult,
    Sort,
    sort_key,
)
from azul.errors import AzulError

Query = dict[str, Any]

MATCH_ALL: Query = {'match_all': {}}
MATCH_NONE: Query = {'match_none': {}}

# Facets and summaries list every term, as the reference does. With one shard
# the counts of a `terms` aggregation are exact; `check_complete` fails loudly
# if a field ever has more distinct values than this.
TERMS_SIZE = 10_000
# The terms of all facets together, below `search.max_buckets` (65,535 by default)
FACET_TERMS_SIZE = 50_000


def any_of(clauses: Sequence[Query]) -> Query:
    if not clauses:
        return MATCH_NONE
    elif len(clauses) == 1:
        return clauses[0]
    else:
        return {'bool': {'should': list(clauses), 'minimum_should_match': 1}}


def all_of(clauses: Sequence[Query]) -> Query:
    if not clauses:
        return MATCH_ALL
    elif len(clauses) == 1:
        return clauses[0]
    else:
        return {'bool': {'filter': list(clauses)}}


def term_value(field: Field, value: Value) -> Any:
    """A non-null value as a term query expects it."""
    return field.type.opensearch_term(value)


def after_value(field: Field, value: Any) -> Any:
    """A non-null sort key as `search_after` expects it."""
    return field.type.opensearch_after(value)


def _is(term: Is) -> Query:
    field = term.field
    values = [term_value(field, v) for v in term.values if v is not None]
    clauses = [{'terms': {term_path(field): values}}] if values else []
    if None in term.values:
        clauses.append({'term': {NULLS: field.name}})
    query = any_of(clauses)
    return {'bool': {'must_not': [query]}} if term.negated else query


def _ranges(relation: str | None) -> Callable[[Term], Query]:
    """
    One range query per range, all of which must match, as in the original.
    Date fields are keywords here, whose range queries compare strings, which
    is how dates in the original's form sort.
    """
    def translate(term: Term) -> Query:
        bounds = term.field.type.opensearch_bounds

        def one(lo: Any, hi: Any) -> Query:
            clamped = bounds(lo, hi)
            if clamped is None:
                return MATCH_NONE
            lo, hi = clamped
            body: dict[str, Any] = {'gte': lo, 'lte': hi}
            if relation is not None:
                body['relation'] = relation
            return {'range': {value_path(term.field): body}}
        return all_of([one(lo, hi) for lo, hi in term.ranges])
    return translate


def term_query(term: Term) -> Query:
    if isinstance(term, Is):
        return _is(term)
    try:
        relation = term.field.type.opensearch_relations[type(term).__name__.lower()]
    except KeyError:
        raise AzulError(f'Cannot translate {type(term).__name__} '
                        f'on field {term.field.name!r}') from None
    return _ranges(relation)(term)


def filter_query(filters: Filters) -> Query:
    return all_of([term_query(t) for t in filters.all_terms()])


def _terms(field: Field) -> dict[str, Any]:
    return {'terms': {'field': term_path(field), 'size': TERMS_SIZE}}


def _filtered_facets(request: SearchRequest) -> list[tuple[int, Field]]:
    """The facets with a filter of their own, with their position among all."""
    filtered = set(request.filters.fields())
    return [(i, facet) for i, facet in enumerate(request.facets) if facet.name in filtered]


def counts_bodies(request: SearchRequest, facet_counts: bool = False) -> list[dict[str, Any]]:
    """
    The total and the `facet_terms` of the facets without a filter of their
    own, then one search per facet with a filter of its own (in the order of
    the request's facets): the documents under the other filters, the terms
    of its field and the count of its null term. `facet_counts`: the terms
    of `facet_terms` counted by Azul's aggregation (see `FACET_COUNTS`), not
    by a `terms` aggregation; the same response.
    """
    filters = request.filters
    main: dict[str, Any] = {
        'size': 0,
        # The total, and that of the facets without a filter of their own
        'track_total_hits': True,
        'query': filter_query(filters),
    }
    scoped = _filtered_facets(request)
    if len(scoped) < len(request.facets):
        main['aggs'] = {FACET_TERMS: facet_counts_agg() if facet_counts else
                        {'terms': {'field': FACET_TERMS, 'size': FACET_TERMS_SIZE}}}
    return [main] + [
        {
            'size': 0,
            'track_total_hits': True,
            'query': filter_query(filters.without(facet.name)),
            'aggs': {FACET_TERMS: facet_counts_agg(prefix=facet.name + '\t')} if facet_counts else {
                'terms': _terms(facet),
                'null': {'filter': {'term': {NULLS: facet.name}}},
            },
        }
        for _, facet in scoped
    ]


# Azul's aggregation in the OpenSearch nodes it runs (scripts/opensearch/src/
# main/java/azul/facets): the terms of a keyword field among the matching
# documents, every term listed as a `terms` aggregation lists them, counted
# as intersections of bitmaps of each term's documents, kept per segment,
# instead of by reading every matching document's terms. At 1M bench
# documents a one-filter page's walk of `facet_terms` took ~150 ms; this,
# ~50. Nodes without it (a stock Amazon OpenSearch Service domain) get the
# `terms` aggregation.
FACET_COUNTS = 'azul_facet_counts'


def facet_counts_agg(field: str = FACET_TERMS, prefix: str = '') -> dict[str, Any]:
    return {FACET_COUNTS: {'field': field, 'prefix': prefix}}


def forward(sort: Sort, reverse: bool) -> bool:
    """Whether a page walks the ascending order (else the descending one)."""
    return (sort.order == 'asc') != reverse


def sort_clause(sort: Sort, reverse: bool = False) -> list[dict[str, Any]]:
    """
    The order of `azul.core.search`, as the original Azul sorts: by the
    smallest value in both directions (`mode: min`), documents without a
    value last in ascending and first in descending order, ties by entity id
    in the same direction. `reverse` walks the same sequence backwards (for
    `search_before`).
    """
    asc = forward(sort, reverse)
    return [
        {sort_path(sort.field): {
            'order': 'asc' if asc else 'desc',
            'mode': 'min',
            'missing': '_last' if asc else '_first',
        }},
        {ENTITY_ID: {'order': 'asc' if asc else 'desc'}},
    ]


def cursor_clauses(sort: Sort, cursor: Cursor, before: bool) -> dict[str, Any]:
    """
    The part of the body that starts a page after (or, in reverse order,
    before) `cursor`. A non-null cursor becomes `search_after`. A null one
    becomes a filter instead: the sentinels OpenSearch substitutes for missing
    numbers (Long.MAX_VALUE, Infinity, ...) differ by type and version, and
    nulls are simply the documents without a value, ordered by entity id.
    """
    value, entity_id = cursor
    if value is not None:
        return {'search_after': [after_value(sort.field, value), entity_id]}
    has_value = {'exists': {'field': sort_path(sort.field)}}
    if forward(sort, before):
        # In ascending order the documents without a value come last: those
        # after the cursor are the ones without a value and a greater id
        query = all_of([{'bool': {'must_not': [has_value]}},
                        {'range': {ENTITY_ID: {'gt': entity_id}}}])
    else:
        # Walking the descending order from a null: every document with a
        # value, and those without one and a smaller id
        query = any_of([has_value, {'range': {ENTITY_ID: {'lt': entity_id}}}])
    return {'cursor_filter': query}


def page_body(request: SearchRequest) -> dict[str, Any]:
    reverse = request.search_before is not None
    cursor = request.search_before if reverse else request.search_after
    body: dict[str, Any] = {
        'size': request.size,
        # The total is the other search's
        'track_total_hits': False,
        'sort': sort_clause(request.sort, reverse=reverse),
        '_source': ['document', ENTITY_ID, NULLS,
                    f'fields.{prop(request.sort.field)}'],
    }
    query = filter_query(request.filters)
    if cursor is not None:
        clauses = cursor_clauses(request.sort, cursor, before=reverse)
        if 'cursor_filter' in clauses:
            query = all_of([q for q in (query, clauses['cursor_filter']) if q != MATCH_ALL])
        else:
            body['search_after'] = clauses['search_after']
    body['query'] = query
    return body


def check_complete(name: str, terms_agg: Mapping[str, Any], size: int = TERMS_SIZE) -> None:
    if terms_agg.get('sum_other_doc_count', 0):
        raise AzulError(f'Field {name!r} has more than {size} distinct values; '
                        f'its counts would be incomplete')


def search_result(request: SearchRequest, page: Mapping[str, Any],
                  counts: Sequence[Mapping[str, Any]]) -> SearchResult:
    """The result from the responses to `page_body` and `counts_bodies`."""
    sort = request.sort
    hits = []
    for hit in page['hits']['hits']:
        source = hit['_source']
        values = source_values(sort.field, source)
        key = sort_key(sort.field, values)
        hits.append(Hit(source[ENTITY_ID], source['document'], (key, source[ENTITY_ID])))
    if request.search_before is not None:
        hits.reverse()
    main, *scopes = counts
    total = main['hits']['total']['value']
    aggs = main.get('aggregations', {})
    scoped = dict(zip((i for i, _ in _filtered_facets(request)), scopes, strict=True))
    # Facet name -> term -> count, for the facets without a filter of their own
    unfiltered = _facet_terms_counts(request, aggs)
    facets = {}
    for i, facet in enumerate(request.facets):
        scope = scoped.get(i)
        if scope is None:
            if total and not unfiltered[facet.name]:
                # Every document has a term of every facet, if only the null
                # one: the index was created without this facet
                raise _not_indexed(facet)
            facets[facet.name] = FacetResult(total=total, counts=unfiltered[facet.name])
        elif FACET_TERMS in scope['aggregations']:
            # Counted by `FACET_COUNTS`: the facet's terms in `facet_terms`
            counted = _facet_terms_counts(request, scope['aggregations'])[facet.name]
            scope_total = scope['hits']['total']['value']
            if scope_total and not counted:
                raise _not_indexed(facet)
            facets[facet.name] = FacetResult(total=scope_total, counts=counted)
        else:
            terms, null = scope['aggregations']['terms'], scope['aggregations']['null']
            check_complete(facet.name, terms)
            counted = {from_key(facet, bucket['key']): bucket['doc_count']
                       for bucket in terms['buckets']}
            if null['doc_count']:
                counted[None] = null['doc_count']
            facets[facet.name] = FacetResult(total=scope['hits']['total']['value'],
                                             counts=counted)
    return SearchResult(hits=tuple(hits), total=total, facets=facets)


def _not_indexed(facet: Field) -> AzulError:
    return AzulError(f'Facet {facet.name!r} is not in the {FACET_TERMS} of the index; '
                     f'reindex its catalog')


def _facet_terms_counts(request: SearchRequest,
                        aggs: Mapping[str, Any]) -> dict[str, dict[Value, int]]:
    """Facet name -> term -> count, from an aggregation of `facet_terms` if any."""
    counts: dict[str, dict[Value, int]] = {facet.name: {} for facet in request.facets}
    if FACET_TERMS in aggs:
        check_complete('facets', aggs[FACET_TERMS], FACET_TERMS_SIZE)
        fields = {facet.name: facet for facet in request.facets}
        buckets = aggs[FACET_TERMS]['buckets']
        terms = parse_facet_terms([bucket['key'] for bucket in buckets])
        for (name, value), bucket in zip(terms, buckets, strict=True):
            if name in fields:
                term = None if value is None else from_key(fields[name], value)
                counts[name][term] = bucket['doc_count']
    return counts
