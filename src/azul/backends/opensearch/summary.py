"""
Pure translation of summary requests (`/index/summary`) into an aggregation
body and of the response into a `SummaryResult`.

Cardinality uses OpenSearch's HyperLogLog++ with `precision_threshold`
40000, its maximum: below that many distinct values the count is exact
(barring 64-bit hash collisions); above it, it is an estimate with a typical
error well under 1%. Azul counts distinct projects, donors, species and the
like, which stay far below that limit.

A term's distinct values of another field (`Terms.distinct`) are the pairs of
a `composite` aggregation beside the `terms` one, not a `terms`
sub-aggregation in each bucket: at 1M documents with a filter, the projects'
titles with their ids took 61 to 70 ms as sub-aggregations, 22 to 31 as pairs
(issue 16). The null bucket, one bucket, keeps the sub-aggregation.

The aggregations are shared out among a few searches of one multi-search
(`split_body`), which OpenSearch runs in parallel: one search of a one-shard
index runs on one thread, however many cores the node has.

Where the nodes have Azul's aggregation `azul_summary` (scripts/opensearch/
src/main/java/azul/facets), it is asked for the figures instead
(`summary_parts`, shared out among searches the same way by
`summary_agg_bodies`): it reads the matching documents' values from arrays
it keeps per segment, where each OpenSearch aggregation decodes them from
the doc values again. Its cardinalities are exact. It shows each figure as
the aggregation it stands for shows it, so that `summary_result` reads
either.
"""
import functools
from collections.abc import Mapping, Sequence
from typing import Any

from azul.backends.opensearch.mapping import NULLS, from_key, term_path, value_path
from azul.backends.opensearch.queries import TERMS_SIZE, check_complete, filter_query
from azul.core.fields import Field, FieldType, Value
from azul.core.search import (
    Cardinality,
    Count,
    Sum,
    SummaryRequest,
    SummaryResult,
    TermBucket,
    Terms,
    order_buckets,
)
from azul.errors import AzulError

PRECISION_THRESHOLD = 40_000

# The pairs a term's distinct values may have, all terms together; a full
# page of them fails loudly, as `check_complete` does. Below
# `search.max_buckets` (65,535) with the other aggregations' buckets
PAIRS_SIZE = 50_000

# The searches a summary is split into. At 1M documents on two cores, the
# filtered summary of the portal took p50 / p95 50 to 61 / 66 to 80 ms in
# two searches against 92 / 132 in one, with the same node CPU (issue 16)
SUMMARY_SEARCHES = 2

# The relative cost of an aggregation of each type, for sharing them out.
# Measured alone at 1M documents with the portal's filters (median `took`):
# a sum 3 to 5 ms, a cardinality 1 to 6, a terms with a sum 8 to 27 (the
# more buckets, the more), a composite of pairs 15, a null filter 2 to 3
_WEIGHTS = {'sum': 1.0, 'cardinality': 1.0, 'terms': 1.5, 'composite': 2.5, 'filter': 0.5}
# The least weight worth a search of its own: each search evaluates the
# query again
MIN_SHARE = 2.5


def _sum(field: Field) -> dict[str, Any]:
    return {'sum': {'field': value_path(field)}}


def _terms(field: Field) -> dict[str, Any]:
    # Buckets by key, descending: their keys are then looked up in the order
    # of the ordinals, each block of Lucene's compressed terms dictionary
    # read once; by count, in random order. The projects' titles at 1M
    # documents with a filter: 23.0 instead of 28.5 ms (median `took`). The
    # order of the buckets is not the answer's (`order_buckets`)
    return {'terms': {'field': term_path(field), 'size': TERMS_SIZE,
                      'order': {'_key': 'desc'}}}


def _sum_aggs(agg: Terms) -> dict[str, Any]:
    return {f'sum{j}': _sum(f) for j, f in enumerate(agg.sums)}


def _distinct_aggs(agg: Terms) -> dict[str, Any]:
    return {f'distinct{j}': _terms(f) for j, f in enumerate(agg.distinct)}


def _pairs(agg: Terms, distinct: Field) -> dict[str, Any]:
    return {'composite': {'size': PAIRS_SIZE, 'sources': [
        {'term': {'terms': {'field': term_path(agg.field)}}},
        {'value': {'terms': {'field': term_path(distinct)}}},
    ]}}


def pairs_name(name: str, j: int) -> str:
    """The name of the pairs of the `j`th distinct field of the aggregation `name`."""
    return f'{name}_pairs{j}'


def part_of(name: str) -> str:
    """The aggregation of the request that a named aggregation of the body answers part of."""
    return name.split('_', 1)[0]


def _aggregation(agg: Any) -> dict[str, dict[str, Any]]:
    """Named aggregations for one summary aggregation; keys get a prefix."""
    if isinstance(agg, Count):
        # Taken from the total of the hits
        return {}
    elif isinstance(agg, Sum):
        return {'': _sum(agg.field)}
    elif isinstance(agg, Cardinality):
        result = {'': {'cardinality': {'field': term_path(agg.field),
                                       'precision_threshold': PRECISION_THRESHOLD}}}
        if agg.count_null:
            # The null term is the documents listing the field in `nulls`
            result['_null'] = {'filter': {'term': {NULLS: agg.field.name}}}
        return result
    elif isinstance(agg, Terms):
        sums, distinct = _sum_aggs(agg), _distinct_aggs(agg)
        terms: dict[str, Any] = _terms(agg.field)
        null: dict[str, Any] = {'filter': {'term': {NULLS: agg.field.name}}}
        if sums:
            terms['aggs'] = sums
        if sums or distinct:
            null['aggs'] = {**sums, **distinct}
        pairs = {pairs_name('', j): _pairs(agg, f) for j, f in enumerate(agg.distinct)}
        return {'': terms, '_null': null, **pairs}
    else:
        raise AssertionError(agg)


def summary_body(request: SummaryRequest) -> dict[str, Any]:
    aggs = {}
    for i, agg in enumerate(request.aggregations):
        for suffix, body in _aggregation(agg).items():
            aggs[f'agg{i}{suffix}'] = body
    return {
        'size': 0,
        'track_total_hits': True,
        'query': filter_query(request.filters),
        'aggs': aggs,
    }


SUMMARY = 'azul_summary'


def summary_parts(request: SummaryRequest) -> dict[str, Any]:
    """
    The parts of an `azul_summary` for the request's aggregations, named as
    `summary_body` names the aggregations they stand for. A null term is the
    one term of `nulls` named after the field (see `mapping`).
    """
    parts: dict[str, Any] = {}
    for i, agg in enumerate(request.aggregations):
        name = f'agg{i}'
        if isinstance(agg, Sum):
            parts[name] = {'sum': value_path(agg.field)}
        elif isinstance(agg, Cardinality):
            parts[name] = {'cardinality': term_path(agg.field)}
            if agg.count_null:
                parts[f'{name}_null'] = {'terms': NULLS, 'include': [agg.field.name]}
        elif isinstance(agg, Terms):
            of = {'sums': [value_path(f) for f in agg.sums],
                  'distinct': [term_path(f) for f in agg.distinct]}
            parts[name] = {'terms': term_path(agg.field), **of}
            parts[f'{name}_null'] = {'terms': NULLS, 'include': [agg.field.name], **of}
        else:
            assert isinstance(agg, Count), agg
    return parts


# The relative cost of a part of an `azul_summary` (its build, ms, measured
# alone at 1M documents with the portal's three filters): a sum 0.8 to 1.3,
# a cardinality 1.2 to 1.9, a terms part 2.2 (one value per document, one
# sum) to 3.6 (up to three values), 7.2 with the projects' distinct ids, a
# null term, read from its postings, 0.3 to 0.4
def _part_weight(part: Mapping[str, Any]) -> float:
    if 'sum' in part:
        return 1.0
    elif 'cardinality' in part:
        return 1.5
    elif 'include' in part:
        return 0.3
    else:
        return 2.5 + 0.5 * len(part['sums']) + 4.0 * len(part['distinct'])


# The least weight worth a search of its own: each search evaluates the
# query again (3 ms for the three filters)
MIN_PART_SHARE = 4.0


def summary_agg_bodies(request: SummaryRequest, names: Sequence[str] | None = None,
                       total: bool = True) -> list[dict[str, Any]]:
    """
    Searches for the `azul_summary` of the request, of only the named parts
    if given, its parts shared out as `split_body` shares out aggregations;
    the first counts the total if `total`. None if there is nothing to ask.
    """
    parts = summary_parts(request)
    if names is not None:
        parts = {name: part for name, part in parts.items() if name in names}
    shares = _shares({name: _part_weight(part) for name, part in parts.items()},
                     SUMMARY_SEARCHES, MIN_PART_SHARE)
    query = filter_query(request.filters)
    bodies = [{'size': 0, 'track_total_hits': total and i == 0, 'query': query,
               'aggs': {SUMMARY: {SUMMARY: {'parts': {name: parts[name] for name in share}}}}}
              for i, share in enumerate(shares)]
    if not bodies and total:
        bodies.append({'size': 0, 'track_total_hits': True, 'query': query})
    return bodies


def summary_agg_response(responses: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The responses to `summary_agg_bodies`' searches as one to `summary_body`'s."""
    aggs = {}
    for response in responses:
        parts = response.get('aggregations', {}).get(SUMMARY, {}).get('parts', {})
        for name, figure in parts.items():
            if name.endswith('_null'):
                # The null bucket is a `filter` aggregation's: a count, not a list
                buckets = figure['buckets']
                figure = buckets[0] if buckets else {'doc_count': 0}
            aggs[name] = figure
    return {'hits': responses[0]['hits'] if responses else {}, 'aggregations': aggs}


def _weight(agg: Mapping[str, Any]) -> float:
    [kind] = (k for k in agg if k != 'aggs')
    if kind == 'filter':
        # Its sub-aggregations see only the few documents without a term
        return _WEIGHTS[kind]
    return _WEIGHTS.get(kind, 1.0) + sum(map(_weight, agg.get('aggs', {}).values()))


def _shares(weights: Mapping[str, float], searches: int,
            min_share: float) -> list[list[str]]:
    """
    The names shared out among up to `searches` searches, as many as have
    `min_share` of weight each: the heaviest first, each to the lightest
    search so far.
    """
    searches = max(1, min(searches, int(sum(weights.values()) // min_share)))
    shares: list[tuple[float, list[str]]] = []
    for name in sorted(weights, key=lambda name: -weights[name]):
        if len(shares) < searches:
            shares.append((0.0, []))
        i = min(range(len(shares)), key=lambda i: shares[i][0])
        weight, names = shares[i]
        shares[i] = (weight + weights[name], names + [name])
    return [names for _, names in shares]


def split_body(body: Mapping[str, Any], searches: int = SUMMARY_SEARCHES) -> list[dict[str, Any]]:
    """
    `body` as up to `searches` searches, as many as have `MIN_SHARE` of
    weight each, its aggregations shared out by weight (the heaviest first,
    each to the lightest search so far); only the first counts the total, if
    `body` does.
    """
    weights = {name: _weight(agg) for name, agg in body['aggs'].items()}
    counted = body.get('track_total_hits', False)
    bodies = [{**body, 'aggs': {name: body['aggs'][name] for name in names},
               'track_total_hits': counted and i == 0}
              for i, names in enumerate(_shares(weights, searches, MIN_SHARE))]
    return bodies or [dict(body)]


def merged(responses: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One response from those to `split_body`'s searches."""
    aggs: dict[str, Any] = {}
    for response in responses:
        aggs.update(response.get('aggregations', {}))
    return {'hits': responses[0]['hits'], 'aggregations': aggs}


Pairs = list[dict[Value, list[Value]]]


def _pairs_of(agg: Terms, name: str, aggs: Mapping[str, Any]) -> Pairs | None:
    """
    Per distinct field of `agg`, each term's values from the pairs; None if
    the terms' buckets hold them instead (see `kept`).
    """
    result = []
    for j, f in enumerate(agg.distinct):
        pairs = aggs.get(pairs_name(name, j))
        if pairs is None:
            return None
        buckets = pairs['buckets']
        if len(buckets) >= PAIRS_SIZE:
            raise AzulError(f'Field {agg.field.name!r} and {f.name!r} have {PAIRS_SIZE} or '
                            f'more pairs of values; the summary would be incomplete')
        by_term: dict[Value, list[Value]] = {}
        for bucket in buckets:
            key = bucket['key']
            by_term.setdefault(from_key(agg.field, key['term']), []).append(
                from_key(f, key['value']))
        result.append(by_term)
    return result


@functools.cache
def _verbatim(field: Field) -> bool:
    """Whether the field's bucket keys are its values as they are (strings)."""
    return type(field.type).from_opensearch is FieldType.from_opensearch


def _buckets(agg: Terms, buckets: Sequence[Mapping[str, Any]], pairs: Pairs | None = None,
             term: Value = ...) -> list[TermBucket]:
    """
    The buckets of a terms aggregation (or `term`'s one, if given). Names
    and conversions are worked out once per aggregation, not per bucket: a
    filtered summary's projects have ~1,500 buckets, each with its ids.
    """
    verbatim = _verbatim(agg.field)
    sums = [(f.name, f'sum{j}') for j, f in enumerate(agg.sums)]
    distinct = [(j, f, f'distinct{j}', _verbatim(f)) for j, f in enumerate(agg.distinct)]
    result = []
    for bucket in buckets:
        key = bucket['key'] if term is ... else term
        key = key if verbatim or key is None else from_key(agg.field, key)
        values: dict[str, tuple[Value, ...]] = {}
        for j, f, name, as_is in distinct:
            if pairs is None or key is None:
                inner = bucket[name]
                check_complete(f.name, inner)
                found = [b['key'] for b in inner['buckets']]
                if not as_is:
                    found = [from_key(f, v) for v in found]
            else:
                found = pairs[j].get(key, [])
            values[f.name] = tuple(sorted(found))
        result.append(TermBucket(term=key, count=bucket['doc_count'],
                                 sums={f: float(bucket[name]['value']) for f, name in sums},
                                 distinct=values))
    return result


def summary_result(request: SummaryRequest, response: Mapping[str, Any]) -> SummaryResult:
    aggs = response.get('aggregations', {})
    result: dict[str, Any] = {}
    for i, agg in enumerate(request.aggregations):
        name = f'agg{i}'
        if isinstance(agg, Count):
            result[agg.name] = response['hits']['total']['value']
        elif isinstance(agg, Sum):
            result[agg.name] = float(aggs[name]['value'])
        elif isinstance(agg, Cardinality):
            nulls = aggs[f'{name}_null']['doc_count'] if agg.count_null else 0
            result[agg.name] = aggs[name]['value'] + (1 if nulls else 0)
        elif isinstance(agg, Terms):
            check_complete(agg.field.name, aggs[name])
            pairs = _pairs_of(agg, name, aggs)
            buckets = _buckets(agg, aggs[name]['buckets'], pairs)
            null = aggs[f'{name}_null']
            if null['doc_count']:
                buckets += _buckets(agg, [null], term=None)
            result[agg.name] = order_buckets(buckets)
        else:
            raise AssertionError(agg)
    return result
