"""
The unfiltered counts OpenSearch writers keep (see `keeping`), as pure data:
the delta of a write, the recount, and the responses a reader builds from
kept counts, shaped as the counting searches' responses so that the same
code turns both into results.

The counts of one aggregate index, as a reader assembles them from the
documents that hold them (see `count_docs`):

  total     the number of documents
  terms     `facet_terms` value -> documents listing it (never 0: a terms
            aggregation lists no empty bucket), every facet's null term included
  sums      numeric property -> the sum of its values over all documents, an
            integer, or None once a value was not integral or the sum reached
            2**53: only integers below that add up to the same double in any
            order, and OpenSearch sums in document order
  spec      the groupings kept, which summaries asked for (below)
  grouped   per grouping: `sum<TAB>F<TAB>G`, facet term of F -> the sum of the
            numeric property G over the documents with that term (an
            integer, or None as above); `distinct<TAB>F<TAB>H`, facet term of
            F, newline, facet term of H -> documents with both (never 0)
  refused   groupings with more entries than kept (`MAX_GROUPED`)

and the fields of the state (`valid`, `leases` and so on, see `count_docs`).

Cardinalities and term counts of the summary come from `terms` for keyword
facets. Sums grouped by term and distinct values per term grow with the
product of two fields' terms, so a grouping is kept only once a summary
asks for it (the reader counts it with everything else, conditionally, as a
recount) and while it stays small; until then, or if refused, a summary
searches for only those aggregations.
"""
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from azul.backends.opensearch.mapping import FACET_TERMS, NULLS, parse_facet_terms, prop
from azul.backends.opensearch.queries import TERMS_SIZE
from azul.core.fields import FieldType
from azul.core.search import Cardinality, Count, Sum, SummaryRequest, Terms

# A double holds every integer below this exactly
EXACT = 2 ** 53

NUMERIC_TYPES = frozenset({'long', 'integer', 'short', 'byte', 'double', 'float'})


# Entries of all groupings of a counts document together, at most
MAX_GROUPED = 20_000


@attrs.frozen
class Delta:
    """What writes changed: documents, facet terms, sums (None: not integral), groupings."""
    total: int
    terms: Mapping[str, int]
    sums: Mapping[str, int | None]
    grouped: Mapping[str, Mapping[str, int | None]] = {}

    def params(self) -> dict[str, Any]:
        return {'total': self.total, 'terms': dict(self.terms), 'sums': dict(self.sums),
                'grouped': {k: dict(v) for k, v in self.grouped.items()}}


def sum_key(field: str, numeric: str) -> str:
    return f'sum\t{field}\t{numeric}'


def distinct_key(field: str, other: str) -> str:
    return f'distinct\t{field}\t{other}'


def _add(old: int | None, value: int | None) -> int | None:
    return None if old is None or value is None else old + value


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
          numeric: Sequence[str], spec: Sequence[str] = ()) -> Delta:
    """
    The change from `removed` to `added`, stored sources (or their `facet_terms`
    and `fields` of the `numeric` properties), and of the groupings in `spec`.
    """
    total = 0
    terms: Counter[str] = Counter()
    sums: dict[str, int | None] = dict.fromkeys(numeric, 0)
    grouped: dict[str, dict[str, int | None]] = {key: {} for key in spec}
    for sign, sources in ((-1, removed), (1, added)):
        for source in sources:
            total += sign
            doc_terms = source.get(FACET_TERMS, ())
            for term in doc_terms:
                terms[term] += sign
            fields = source.get('fields', {})
            doc_sums = {p: _doc_sum(fields.get(p)) for p in numeric}
            for p in numeric:
                sums[p] = _add(sums[p], None if doc_sums[p] is None else sign * doc_sums[p])
            for key in spec:
                kind, field, other = key.split('\t')
                group = grouped[key]
                mine = [t for t in doc_terms if t.startswith(field + '\t')]
                if kind == 'sum':
                    value = doc_sums.get(other, _doc_sum(fields.get(other)))
                    for t in mine:
                        group[t] = _add(group.get(t, 0),
                                        None if value is None else sign * value)
                else:
                    # Nulls are no distinct values
                    theirs = [t for t in doc_terms
                              if t.startswith(other + '\t') and t != other + '\tnull']
                    for t in mine:
                        for u in theirs:
                            group[t + '\n' + u] = group.get(t + '\n' + u, 0) + sign
    sums = {p: None if v is None or abs(v) >= EXACT else v for p, v in sums.items()}
    grouped = {key: {t: v for t, v in group.items() if v != 0 or key.startswith('sum')}
               for key, group in grouped.items()}
    return Delta(total, {t: n for t, n in terms.items() if n}, sums, grouped)


def _grouping(key: str, size: int) -> dict[str, Any]:
    kind, field, other = key.split('\t')
    if kind == 'sum':
        sub = {'sum': {'field': f'fields.{other}'}}
    else:
        sub = {'terms': {'field': f'fields.{prop(other)}', 'size': size}}
    return {
        key: {'terms': {'field': f'fields.{prop(field)}', 'size': size},
              'aggs': {'sub': sub}},
        key + '\tnull': {'filter': {'term': {NULLS: field}}, 'aggs': {'sub': sub}},
    }


def recount_body(numeric: Sequence[str], max_terms: int,
                 spec: Sequence[str] = ()) -> dict[str, Any]:
    aggs: dict[str, Any] = {
        FACET_TERMS: {'terms': {'field': FACET_TERMS, 'size': max_terms}},
        **{f'sum{i}': {'sum': {'field': f'fields.{p}'}} for i, p in enumerate(numeric)},
    }
    for key in spec:
        aggs.update(_grouping(key, TERMS_SIZE))
    return {'size': 0, 'track_total_hits': True, 'query': {'match_all': {}}, 'aggs': aggs}


def _exact(value: float) -> int | None:
    ok = math.isfinite(value) and value.is_integer() and abs(value) < EXACT
    return int(value) if ok else None


def _term(field: str, key: Any) -> str:
    return field + '\t' + FieldType.keyword.encode_facet_term(key)


def _recounted_group(key: str, aggs: Mapping[str, Any]) -> dict[str, int | None] | None:
    kind, field, other = key.split('\t')
    buckets = [(_term(field, b['key']), b) for b in aggs[key]['buckets']]
    if aggs[key].get('sum_other_doc_count', 0):
        return None
    null = aggs[key + '\tnull']
    if null['doc_count']:
        buckets.append((field + '\tnull', null))
    group: dict[str, int | None] = {}
    for term, bucket in buckets:
        if kind == 'sum':
            group[term] = _exact(bucket['sub']['value'])
        else:
            if bucket['sub'].get('sum_other_doc_count', 0):
                return None
            for b in bucket['sub']['buckets']:
                group[term + '\n' + _term(other, b['key'])] = b['doc_count']
    return group


def recounted(response: Mapping[str, Any], numeric: Sequence[str],
              spec: Sequence[str] = (), refused: Sequence[str] = ()) -> dict[str, Any]:
    """The counts document from the response to `recount_body`."""
    aggs = response['aggregations']
    if aggs[FACET_TERMS].get('sum_other_doc_count', 0):
        return {'valid': False, 'unkept': True, 'leases': {}}
    grouped, refused = {}, list(refused)
    for key in spec:
        group = _recounted_group(key, aggs)
        if group is None or sum(map(len, grouped.values())) + len(group) > MAX_GROUPED:
            refused.append(key)
        else:
            grouped[key] = group
    return {
        'valid': True,
        'leases': {},
        'total': response['hits']['total']['value'],
        'terms': {b['key']: b['doc_count'] for b in aggs[FACET_TERMS]['buckets']},
        'sums': {p: _exact(aggs[f'sum{i}']['value']) for i, p in enumerate(numeric)},
        'spec': list(grouped),
        'grouped': grouped,
        'refused': refused,
    }


def usable(counts: Mapping[str, Any]) -> bool:
    return (bool(counts.get('valid')) and not counts.get('leases')
            and not counts.get('recount') and not _unusable(counts))


def _unusable(counts: Mapping[str, Any]) -> bool:
    return bool(counts.get('loading') or counts.get('unkept'))


def recountable(counts: Mapping[str, Any], now: float) -> bool:
    """
    Not usable, but a reader may count anew: no writer is still within its
    lease, and no other reader is counting.
    """
    if _unusable(counts):
        return False
    recount = counts.get('recount')
    if recount is not None and recount[1] > now:
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


def facet_response(counts: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """
    A response to the search of `counts_bodies` that counts a facet whose
    filter is the request's only one: its terms among all documents. None if
    it has more terms than that search would list.
    """
    terms, null = _facet_terms(counts, name)
    if len(terms) > TERMS_SIZE:
        return None
    buckets = [{'key': value, 'doc_count': n} for value, n in terms]
    return {'hits': {'total': {'value': counts['total']}},
            'aggregations': {'terms': {'sum_other_doc_count': 0, 'buckets': buckets},
                             'null': {'doc_count': null}}}


def _facet_terms(counts: Mapping[str, Any], name: str) -> tuple[list[tuple[Any, int]], int]:
    """
    A facet's non-null terms with their counts, as `facet_terms` holds them
    (a range's a list), which `from_key` takes; and its null count.
    """
    prefix = name + '\t'
    entries = [(t, n) for t, n in counts['terms'].items() if t.startswith(prefix)]
    parsed = parse_facet_terms([t for t, _ in entries])
    terms, null = [], 0
    for (_, value), (_, n) in zip(parsed, entries, strict=True):
        if value is None:
            null = n
        else:
            terms.append((value, n))
    return terms, null


def _field_terms(counts: Mapping[str, Any], name: str) -> tuple[dict[str, int], int]:
    """The non-null terms (as keys) of a keyword facet, and its null count."""
    terms, null = _facet_terms(counts, name)
    return dict(terms), null


def wanted(request: SummaryRequest, facets: Mapping[str, FieldType],
           numeric: Sequence[str]) -> list[str]:
    """The groupings that would let the counts answer the request's grouped sums."""
    keys = []
    for agg in request.aggregations:
        if isinstance(agg, Terms) and facets.get(agg.field.name) is FieldType.keyword:
            keys += [sum_key(agg.field.name, prop(f)) for f in agg.sums if prop(f) in numeric]
            keys += [distinct_key(agg.field.name, f.name) for f in agg.distinct
                     if facets.get(f.name) is FieldType.keyword]
    return list(dict.fromkeys(keys))


def _by_term(group: Mapping[str, int]) -> dict[str, list[Any]]:
    """A distinct grouping's values (parsed) by the term they are grouped under."""
    pairs = [key.split('\n', 1) for key in group]
    values = [v for _, v in parse_facet_terms([u for _, u in pairs])]
    result: dict[str, list[Any]] = {}
    for (term, _), value in zip(pairs, values, strict=True):
        result.setdefault(term, []).append(value)
    return result


def _grouped_terms(agg: Terms, counts: Mapping[str, Any]) -> dict[str, Any] | None:
    """A Terms aggregation's response and its null one's from the counts, if kept."""
    grouped = counts.get('grouped') or {}
    sums = [grouped.get(sum_key(agg.field.name, prop(f))) for f in agg.sums]
    distinct = [grouped.get(distinct_key(agg.field.name, f.name)) for f in agg.distinct]
    if None in sums or None in distinct:
        return None
    distinct = [_by_term(group) for group in distinct]
    prefix = agg.field.name + '\t'
    terms = [(t, n) for t, n in counts['terms'].items() if t.startswith(prefix)]
    parsed = parse_facet_terms([t for t, _ in terms])
    # A null bucket without documents is left out, whatever its sub-aggregations
    buckets, null = [], {'doc_count': 0}
    for (_, value), (term, n) in zip(parsed, terms, strict=True):
        bucket: dict[str, Any] = {'doc_count': n}
        for j, group in enumerate(sums):
            total = group.get(term)
            if total is None:
                return None
            bucket[f'sum{j}'] = {'value': float(total)}
        for j, by_term in enumerate(distinct):
            bucket[f'distinct{j}'] = {'sum_other_doc_count': 0,
                                      'buckets': [{'key': v} for v in by_term.get(term, ())]}
        if value is None:
            null = bucket
        else:
            buckets.append({'key': value, **bucket})
    return {'': {'sum_other_doc_count': 0, 'buckets': buckets}, '_null': null}


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
        elif isinstance(agg, Terms) and keyword:
            answer = _grouped_terms(agg, counts)
            if answer is not None:
                aggs[name], aggs[name + '_null'] = answer[''], answer['_null']
    return aggs
