"""
Search and summary requests and results: the language between the service and
the backends, plus `reference_search` and `reference_summary`, plain-Python
definitions of their semantics over a list of projections. Both backends must
give the same answers as these (the conformance tests compare them).

Sorting, as the original Azul sorts: a multi-valued field sorts by its
smallest value in both directions (the original sets `mode: min` whatever the
order), range fields by their lower bound. A document without a value sorts
as if its value were larger than any other (the original indexes null as a
sentinel such as `~null` or 9999-01-01 that sorts after every real value), so
it comes last in ascending and first in descending order. Ties are broken by
entity id in the direction of the sort. So a descending sort is exactly the
reverse of the ascending one. A cursor is the sort key of the last
(search_after) or first (search_before) hit of a page: `(value, entity_id)`.
"""
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import attrs

from azul.core.documents import IndexedAggregate
from azul.core.fields import Field, Value
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
        # Backends count terms from what they keep for facet fields only
        assert all(f.facet for f in self.facets), self.facets


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
    """
    Number of distinct non-null values of `field` over the matching documents,
    plus one if `count_null` and some matching document has no value: the
    original counts the `~null` term it indexes for a missing value (e.g. the
    null laboratory in `labCount`).
    """
    name: str
    field: Field
    count_null: bool = False


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


def sort_key(field: Field, values: Sequence[Value]) -> SortValue:
    """The value a document sorts by, in both directions: its smallest, None if it has none."""
    present = [field.type.sort_key(v) for v in values if v is not None]
    return min(present) if present else None


def order_buckets(buckets: Iterable[TermBucket]) -> tuple[TermBucket, ...]:
    return tuple(sorted(buckets, key=lambda b: (-b.count, b.term is None, _term_key(b.term))))


def order_terms(counts: Mapping[Value, int]) -> list[tuple[Value, int]]:
    """Facet terms as the API lists them: by count descending, then term, null last."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] is None, _term_key(kv[0])))


def _term_key(term: Value) -> Any:
    return (0, '') if term is None else (1, term) if not isinstance(term, str) else (2, term)


def ascending_key(value: SortValue, entity_id: str) -> tuple:
    """
    The position of a sort key in the ascending order: values ascending, then
    the documents without one, ties by entity id. Descending is the reverse.
    """
    return (1, 0, entity_id) if value is None else (0, value, entity_id)


def reference_search(docs: Sequence[IndexedAggregate], request: SearchRequest) -> SearchResult:
    matching = [d for d in docs if filter_matches(request.filters, d.fields)]
    sort = request.sort
    desc = sort.order == 'desc'

    def cursor(doc: IndexedAggregate) -> Cursor:
        return sort_key(sort.field, doc.fields[sort.field.name]), doc.entity_id

    ordered = sorted(matching, key=lambda d: ascending_key(*cursor(d)), reverse=desc)
    if request.search_after is not None or request.search_before is not None:
        after = request.search_after is not None
        mark = ascending_key(*(request.search_after if after else request.search_before))
        # Strictly after (or before) the cursor in the requested order
        forward = after != desc
        page = [d for d in ordered
                if (ascending_key(*cursor(d)) > mark if forward
                    else ascending_key(*cursor(d)) < mark)]
        if after:
            page = page[:request.size]
        else:
            page = page[-request.size:] if request.size else []
    else:
        page = ordered[:request.size]
    hits = tuple(Hit(d.entity_id, d.aggregate.to_json(), cursor(d)) for d in page)
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
            values = {v for d in matching for v in d.fields[agg.field.name]}
            if not agg.count_null:
                values.discard(None)
            result[agg.name] = len(values)
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
