"""
The unfiltered counts OpenSearch writers keep (see `keeping`), as pure data:
the delta of a write, the painless scripts that register a writer and apply
its delta, and the responses a reader builds from kept counts, shaped as the
counting searches' responses so that the same code turns both into results.

A counts document (one per aggregate index, in the catalog's counts index,
id the entity type) holds:

  total     the number of documents
  terms     `facet_terms` value -> documents listing it (never 0: a terms
            aggregation lists no empty bucket), every facet's null term included
  sums      numeric property -> the sum of its values over all documents, an
            integer, or None once a value was not integral or the sum reached
            2**53: only integers below that add up to the same double in any
            order, and OpenSearch sums in document order
  valid     whether the above are the documents' (false: recount)
  leases    writer id -> the time (epoch seconds) its registration expires
  loading   set by `bulk_load`, whose writes do not register: unusable until
            its end recounts
  unkept    the facets had more terms than a page may list; kept no more

Cardinalities and term counts of the summary come from `terms` for keyword
facets; sums grouped by term (and distinct values per term) are not kept:
their number grows with the product of two fields' terms. A summary reads
those from a search of only those aggregations.
"""
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from azul.backends.opensearch.mapping import FACET_TERMS, parse_facet_terms, prop
from azul.core.fields import FieldType
from azul.core.search import Cardinality, Count, Sum, SummaryRequest, Terms

# A double holds every integer below this exactly
EXACT = 2 ** 53

NUMERIC_TYPES = frozenset({'long', 'integer', 'short', 'byte', 'double', 'float'})


@attrs.frozen
class Delta:
    """What writes changed: documents, facet terms, sums (None: not integral)."""
    total: int
    terms: Mapping[str, int]
    sums: Mapping[str, int | None]

    def params(self) -> dict[str, Any]:
        return {'total': self.total, 'terms': dict(self.terms), 'sums': dict(self.sums)}


def _doc_sum(values: Any) -> int | None:
    if values is None:
        return 0
    total = 0
    for value in values if isinstance(values, list) else [values]:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if isinstance(value, float):
            if not (math.isfinite(value) and value.is_integer()):
                return None
            value = int(value)
        total += value
    return total


def delta(removed: Iterable[Mapping[str, Any]], added: Iterable[Mapping[str, Any]],
          numeric: Sequence[str]) -> Delta:
    """
    The change from `removed` to `added`, stored sources (or their `facet_terms`
    and `fields` of the `numeric` properties).
    """
    total = 0
    terms: Counter[str] = Counter()
    sums: dict[str, int | None] = dict.fromkeys(numeric, 0)
    for sign, sources in ((-1, removed), (1, added)):
        for source in sources:
            total += sign
            for term in source.get(FACET_TERMS, ()):
                terms[term] += sign
            fields = source.get('fields', {})
            for p in numeric:
                value, old = _doc_sum(fields.get(p)), sums[p]
                sums[p] = None if value is None or old is None else old + sign * value
    sums = {p: None if v is None or abs(v) >= EXACT else v for p, v in sums.items()}
    return Delta(total, {t: n for t, n in terms.items() if n}, sums)


REGISTER = """
if (ctx._source.leases == null) { ctx._source.leases = [:]; }
ctx._source.leases[params.id] = params.deadline;
"""

# Applies a delta and deregisters in one update. A writer whose registration
# is gone was recounted past: its writes may or may not be in the recount.
SETTLE = """
def s = ctx._source;
if (s.leases == null || !s.leases.containsKey(params.id)) {
  s.valid = false;
} else {
  s.leases.remove(params.id);
  if (!params.apply) {
    s.valid = false;
  } else if (s.valid == true && s.loading != true && s.unkept != true) {
    s.total = s.total + params.total;
    for (e in params.terms.entrySet()) {
      long n = s.terms.getOrDefault(e.getKey(), 0) + e.getValue();
      if (n == 0) { s.terms.remove(e.getKey()); }
      else if (n < 0) { s.valid = false; }
      else { s.terms.put(e.getKey(), n); }
    }
    for (e in params.sums.entrySet()) {
      if (s.sums.containsKey(e.getKey())) {
        def old = s.sums.get(e.getKey());
        if (old == null || e.getValue() == null) {
          s.sums.put(e.getKey(), null);
        } else {
          long n = old + e.getValue();
          s.sums.put(e.getKey(), Math.abs(n) >= params.exact ? null : n);
        }
      }
    }
    if (s.total < 0 || s.terms.size() > params.max_terms) { s.valid = false; }
  }
}
"""

INVALIDATE = 'ctx._source.valid = false;'

LOADING = 'ctx._source.loading = true;'


def recount_body(numeric: Sequence[str], max_terms: int) -> dict[str, Any]:
    return {
        'size': 0,
        'track_total_hits': True,
        'query': {'match_all': {}},
        'aggs': {
            FACET_TERMS: {'terms': {'field': FACET_TERMS, 'size': max_terms}},
            **{f'sum{i}': {'sum': {'field': f'fields.{p}'}} for i, p in enumerate(numeric)},
        },
    }


def recounted(response: Mapping[str, Any], numeric: Sequence[str]) -> dict[str, Any]:
    """The counts document from the response to `recount_body`."""
    aggs = response['aggregations']
    if aggs[FACET_TERMS].get('sum_other_doc_count', 0):
        return {'valid': False, 'unkept': True, 'leases': {}}
    sums: dict[str, int | None] = {}
    for i, p in enumerate(numeric):
        value = aggs[f'sum{i}']['value']
        exact = math.isfinite(value) and value.is_integer() and abs(value) < EXACT
        sums[p] = int(value) if exact else None
    return {
        'valid': True,
        'leases': {},
        'total': response['hits']['total']['value'],
        'terms': {b['key']: b['doc_count'] for b in aggs[FACET_TERMS]['buckets']},
        'sums': sums,
    }


def usable(counts: Mapping[str, Any]) -> bool:
    return bool(counts.get('valid')) and not counts.get('leases') and not _unusable(counts)


def _unusable(counts: Mapping[str, Any]) -> bool:
    return bool(counts.get('loading') or counts.get('unkept'))


def recountable(counts: Mapping[str, Any], now: float) -> bool:
    """Not usable, but a reader may count anew: no writer is still within its lease."""
    if _unusable(counts):
        return False
    leases = counts.get('leases') or {}
    return all(deadline <= now for deadline in leases.values()) and bool(
        leases or not counts.get('valid'))


def _buckets(terms: Mapping[str, int]) -> list[dict[str, Any]]:
    # A terms aggregation's order: by count, descending, then by key (UTF-8
    # bytes, which order as code points do)
    ordered = sorted(terms.items(), key=lambda item: (-item[1], item[0]))
    return [{'key': key, 'doc_count': n} for key, n in ordered]


def counts_response(counts: Mapping[str, Any]) -> dict[str, Any]:
    """An unfiltered `counts_body` response."""
    return {
        'hits': {'total': {'value': counts['total']}},
        'aggregations': {FACET_TERMS: {'sum_other_doc_count': 0,
                                       'buckets': _buckets(counts['terms'])}},
    }


def _field_terms(counts: Mapping[str, Any], name: str) -> tuple[dict[str, int], int]:
    """The non-null terms (as keys) of a keyword facet, and its null count."""
    prefix = name + '\t'
    entries = [(t, n) for t, n in counts['terms'].items() if t.startswith(prefix)]
    parsed = parse_facet_terms([t for t, _ in entries])
    terms, null = {}, 0
    for (_, value), (_, n) in zip(parsed, entries, strict=True):
        if value is None:
            null = n
        else:
            terms[value] = n
    return terms, null


def summary_aggregations(request: SummaryRequest, counts: Mapping[str, Any],
                         facets: Mapping[str, FieldType]) -> dict[str, Any]:
    """
    The aggregations of `summary_body`'s response that the counts answer,
    by name; the others are left out, for a search to answer.
    """
    aggs: dict[str, Any] = {}
    for i, agg in enumerate(request.aggregations):
        name = f'agg{i}'
        if isinstance(agg, Count):
            continue
        field = agg.field
        keyword = facets.get(field.name) is FieldType.keyword
        if isinstance(agg, Sum):
            value = counts['sums'].get(prop(field))
            if value is not None:
                aggs[name] = {'value': float(value)}
        elif isinstance(agg, Cardinality) and keyword:
            terms, null = _field_terms(counts, field.name)
            aggs[name] = {'value': len(terms)}
            if agg.count_null:
                aggs[name + '_null'] = {'doc_count': null}
        elif isinstance(agg, Terms) and keyword and not agg.sums and not agg.distinct:
            terms, null = _field_terms(counts, field.name)
            aggs[name] = {'sum_other_doc_count': 0,
                          'buckets': [{'key': k, 'doc_count': n} for k, n in terms.items()]}
            aggs[name + '_null'] = {'doc_count': null}
    return aggs
