"""
Search and summary requests and results: the language between the service and
the backends, plus `reference_search` and `reference_summary`, plain-Python
definitions of their semantics over a list of projections. Both backends must
give the same answers as these (the conformance tests compare them).

Sorting: a multi-valued field sorts by its smallest value in ascending order
and by its largest in descending order (OpenSearch's default `mode`). Range
fields sort by their lower bound. Documents without a value sort last in both
orders. Ties are broken by entity id, ascending. A cursor is the sort key of
the last (search_after) or first (search_before) hit of a page:
`(value, entity_id)`.
"""
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import attrs

from azul.core.documents import IndexedAggregate
from azul.core.fields import Field, FieldType, Value
from azul.core.filters import Filters, filter_matches

Order = Literal['asc', 'desc']
SortValue = str | int | float | bool | None
Cursor = tuple[SortValue, str]


@attrs.frozen
class Sort:
    field: Field
    order: Order = 'asc'


@attrs.frozen
class SearchRequest:
    entity_type: str
    filters: Filters
    sort: Sort
    size: int
    facets: tuple[Field, ...] = ()
    search_after: Cursor | None = None
    search_before: Cursor | None = None

    def __attrs_post_init__(self):
        assert not (self.search_after and self.search_before)
        assert self.size >= 0


@attrs.frozen
class Hit:
    entity_id: str
    document: Mapping[str, Any]  # Aggregate.to_json()
    sort: Cursor


@attrs.frozen
class FacetResult:
    # Documents matching all filters except the facet's own
    total: int
    # term -> number of those documents having it; None is the null term
    counts: Mapping[Value, int]


@attrs.frozen
class SearchResult:
    hits: tuple[Hit, ...]
    total: int
    facets: Mapping[str, FacetResult]


@attrs.frozen
class Count:
    """Number of matching documents."""
    name: str


@attrs.frozen
class Sum:
    """Sum of every non-null value of `field` over the matching documents."""
    name: str
    field: Field


@attrs.frozen
class Cardinality:
    """Number of distinct non-null values of `field` over the matching documents."""
    name: str
    field: Field


@attrs.frozen
class Terms:
    """
    Per value of `field` (None for documents without one): the number of
    matching documents having it, per field in `sums` the sum of that field's
    values over those documents, and per field in `distinct` the sorted
    distinct non-null values of that field among them (e.g. the project ids of
    a project short name).
    """
    name: str
    field: Field
    sums: tuple[Field, ...] = ()
    distinct: tuple[Field, ...] = ()


Aggregation = Count | Sum | Cardinality | Terms


@attrs.frozen
class TermBucket:
    term: Value
    count: int
    sums: Mapping[str, float]
    distinct: Mapping[str, tuple[Value, ...]] = attrs.field(factory=dict)


@attrs.frozen
class SummaryRequest:
    entity_type: str
    filters: Filters
    aggregations: tuple[Aggregation, ...]


# name -> int (Count, Cardinality), float (Sum), or tuple[TermBucket, ...] ordered
# by count descending, then term ascending with None last
SummaryResult = Mapping[str, Any]


def sort_key(field: Field, order: Order, values: Sequence[Value]) -> SortValue:
    present = [v for v in values if v is not None]
    if field.type is FieldType.range:
        present = [v[0] for v in present]
    if not present:
        return None
    return min(present) if order == 'asc' else max(present)


def order_buckets(buckets: Iterable[TermBucket]) -> tuple[TermBucket, ...]:
    return tuple(sorted(buckets, key=lambda b: (-b.count, b.term is None, _term_key(b.term))))


def order_terms(counts: Mapping[Value, int]) -> list[tuple[Value, int]]:
    """Facet terms as the API lists them: by count descending, then term, null last."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] is None, _term_key(kv[0])))


def _term_key(term: Value) -> Any:
    return (0, '') if term is None else (1, term) if not isinstance(term, str) else (2, term)


def _cursor_key(order: Order, value: SortValue, entity_id: str) -> tuple:
    # A total order for the requested direction: nulls last, then entity id ascending
    if value is None:
        return (1, 0, entity_id)
    return (0, _Desc(value) if order == 'desc' else value, entity_id)


class _Desc:
    __slots__ = ('value',)

    def __init__(self, value):
        self.value = value

    def __lt__(self, other):
        return other.value < self.value

    def __eq__(self, other):
        return self.value == other.value


def reference_search(docs: Sequence[IndexedAggregate], request: SearchRequest) -> SearchResult:
    matching = [d for d in docs if filter_matches(request.filters, d.fields)]
    sort = request.sort

    def key(doc: IndexedAggregate) -> tuple:
        value = sort_key(sort.field, sort.order, doc.fields[sort.field.name])
        return _cursor_key(sort.order, value, doc.entity_id)

    ordered = sorted(matching, key=key)
    if request.search_after is not None:
        after = _cursor_key(sort.order, *request.search_after)
        page = [d for d in ordered if after < key(d)][:request.size]
    elif request.search_before is not None:
        before = _cursor_key(sort.order, *request.search_before)
        page = [d for d in ordered if key(d) < before][-request.size:] if request.size else []
    else:
        page = ordered[:request.size]
    hits = tuple(Hit(d.entity_id, d.aggregate.to_json(),
                     (sort_key(sort.field, sort.order, d.fields[sort.field.name]), d.entity_id))
                 for d in page)
    facets = {}
    for facet in request.facets:
        scope = [d for d in docs if filter_matches(request.filters.without(facet.name), d.fields)]
        counts = Counter(v for d in scope for v in d.fields[facet.name])
        facets[facet.name] = FacetResult(total=len(scope), counts=dict(counts))
    return SearchResult(hits=hits, total=len(matching), facets=facets)


def reference_summary(docs: Sequence[IndexedAggregate], request: SummaryRequest) -> SummaryResult:
    matching = [d for d in docs if filter_matches(request.filters, d.fields)]
    result: dict[str, Any] = {}
    for agg in request.aggregations:
        if isinstance(agg, Count):
            result[agg.name] = len(matching)
        elif isinstance(agg, Sum):
            result[agg.name] = _sum(matching, agg.field)
        elif isinstance(agg, Cardinality):
            result[agg.name] = len({v for d in matching for v in d.fields[agg.field.name]
                                    if v is not None})
        elif isinstance(agg, Terms):
            groups: dict[Value, list[IndexedAggregate]] = defaultdict(list)
            for d in matching:
                for v in d.fields[agg.field.name]:
                    groups[v].append(d)
            result[agg.name] = order_buckets(
                TermBucket(term, len(group),
                           {f.name: _sum(group, f) for f in agg.sums},
                           {f.name: _distinct(group, f) for f in agg.distinct})
                for term, group in groups.items()
            )
        else:
            raise AssertionError(agg)
    return result


def _sum(docs: Iterable[IndexedAggregate], field: Field) -> float:
    return float(sum(v for d in docs for v in d.fields[field.name] if v is not None))


def _distinct(docs: Iterable[IndexedAggregate], field: Field) -> tuple[Value, ...]:
    return tuple(sorted({v for d in docs for v in d.fields[field.name] if v is not None}))
