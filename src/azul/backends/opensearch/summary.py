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
src/main/java/azul/facets), one search asks it for every figure instead
(`summary_parts`): it reads the matching documents' values from arrays it
keeps per segment, where each OpenSearch aggregation decodes them from the
doc values again. Its cardinalities are exact. It shows each figure as the
aggregation it stands for shows it, so that `summary_result` reads either.
"""
from collections.abc import Mapping, Sequence
from typing import Any

from azul.backends.opensearch.mapping import NULLS, from_key, term_path, value_path
from azul.backends.opensearch.queries import TERMS_SIZE, check_complete, filter_query
from azul.core.fields import Field, Value
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


def summary_agg_body(request: SummaryRequest, names: Sequence[str] | None = None,
                     total: bool = True) -> dict[str, Any]:
    """
    One search for the `azul_summary` of the request, of only the named parts
    if given (None if there are none), counting the total if `total`.
    """
    parts = summary_parts(request)
    if names is not None:
        parts = {name: part for name, part in parts.items() if name in names}
    body: dict[str, Any] = {'size': 0, 'track_total_hits': total,
                            'query': filter_query(request.filters)}
    if parts:
        body['aggs'] = {SUMMARY: {SUMMARY: {'parts': parts}}}
    return body


def summary_agg_response(response: Mapping[str, Any]) -> dict[str, Any]:
    """The response to `summary_agg_body`'s search as one to `summary_body`'s."""
    parts = response.get('aggregations', {}).get(SUMMARY, {}).get('parts', {})
    aggs = {}
    for name, figure in parts.items():
        if name.endswith('_null'):
            # The null bucket is a `filter` aggregation's: a count, not a list
            buckets = figure['buckets']
            figure = buckets[0] if buckets else {'doc_count': 0}
        aggs[name] = figure
    return {'hits': response['hits'], 'aggregations': aggs}


def _weight(agg: Mapping[str, Any]) -> float:
    [kind] = (k for k in agg if k != 'aggs')
    if kind == 'filter':
        # Its sub-aggregations see only the few documents without a term
        return _WEIGHTS[kind]
    return _WEIGHTS.get(kind, 1.0) + sum(map(_weight, agg.get('aggs', {}).values()))


def split_body(body: Mapping[str, Any], searches: int = SUMMARY_SEARCHES) -> list[dict[str, Any]]:
    """
    `body` as up to `searches` searches, as many as have `MIN_SHARE` of
    weight each, its aggregations shared out by weight (the heaviest first,
    each to the lightest search so far); only the first counts the total, if
    `body` does.
    """
    weights = {name: _weight(agg) for name, agg in body['aggs'].items()}
    searches = max(1, min(searches, int(sum(weights.values()) // MIN_SHARE)))
    shares: list[tuple[float, dict[str, Any]]] = []
    for name in sorted(weights, key=lambda name: -weights[name]):
        if len(shares) < searches:
            shares.append((0.0, {}))
        i = min(range(len(shares)), key=lambda i: shares[i][0])
        weight, aggs = shares[i]
        aggs[name] = body['aggs'][name]
        shares[i] = (weight + weights[name], aggs)
    counted = body.get('track_total_hits', False)
    bodies = [{**body, 'aggs': aggs, 'track_total_hits': counted and i == 0}
              for i, (_, aggs) in enumerate(shares)]
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


def _bucket(agg: Terms, term: Value, bucket: Mapping[str, Any],
            pairs: Pairs | None = None) -> TermBucket:
    distinct = {}
    for j, f in enumerate(agg.distinct):
        if pairs is None or term is None:
            check_complete(f.name, bucket[f'distinct{j}'])
            values = [from_key(f, b['key']) for b in bucket[f'distinct{j}']['buckets']]
        else:
            values = pairs[j].get(term, [])
        distinct[f.name] = tuple(sorted(values))
    return TermBucket(term=term,
                      count=bucket['doc_count'],
                      sums={f.name: float(bucket[f'sum{j}']['value'])
                            for j, f in enumerate(agg.sums)},
                      distinct=distinct)


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
            buckets = [_bucket(agg, from_key(agg.field, b['key']), b, pairs)
                       for b in aggs[name]['buckets']]
            null = aggs[f'{name}_null']
            if null['doc_count']:
                buckets.append(_bucket(agg, None, null))
            result[agg.name] = order_buckets(buckets)
        else:
            raise AssertionError(agg)
    return result
