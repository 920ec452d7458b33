"""
The aggregations of a filtered summary from the term bitmaps and the
per-document values of a content version (`bitmaps`, `doc_values`): the
passing documents as an array of their numbers, every count a cardinality
or a count of terms, every sum a sum of gathered integers.

Each answer is the SQL path's (`DuckDBReads._summarized`), value and type:
counts as `int`, sums as `float` of the exact integer sum, buckets in
`order_buckets`' order, one per term code as the SQL path groups by code,
the distinct values of a bucket sorted, the null term's left out. An
aggregation it cannot answer so (a field without codes, or without exact
values) is left to SQL.
"""
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
from pyroaring import BitMap

from azul.backends.duckdb.bitmaps import FacetTerm, TermBitmaps
from azul.backends.duckdb.doc_values import DOUBLE_LIMIT, DocValues
from azul.backends.duckdb.schema import FieldSpec, TableSpec
from azul.core.fields import Value
from azul.core.filters import Filters
from azul.core.search import Aggregation, Cardinality, Count, Sum, TermBucket, Terms, order_buckets

# Pairs of terms (term, distinct term) up to which a grouping marks each
# possible pair in an array of its own (16 MB at most)
MASK_LIMIT = 2 ** 24


def summarize(bitmaps: TermBitmaps, table: TableSpec, filters: Filters,
              aggregations: Sequence[Aggregation]) -> dict[int, Any]:
    """Per position of an aggregation answered, its answer for the non-empty `filters`."""
    groups = bitmaps.passing(table, filters)
    passing = groups[0] if len(groups) == 1 else BitMap.intersection(*groups)
    values = bitmaps.values
    docs = np.frombuffer(passing.to_array(), dtype=np.uint32)
    result: dict[int, Any] = {}
    cardinalities = {}
    for i, agg in enumerate(aggregations):
        if isinstance(agg, Count):
            result[i] = len(passing)
        elif isinstance(agg, Cardinality):
            spec = table.spec(agg.field)
            if not table.coded_filter(spec):
                continue
            if values is not None and spec.id in values.terms:
                result[i] = _cardinality(bitmaps.fields[spec.id], values.terms[spec.id], docs,
                                         agg.count_null)
            else:
                cardinalities[i] = spec, agg.count_null
        elif values is None:
            continue
        elif isinstance(agg, Sum):
            summed = values.sums.get(table.spec(agg.field).id)
            if summed is not None:
                result[i] = float(int(summed[docs].sum()))
        elif isinstance(agg, Terms):
            buckets = _terms(bitmaps, values, table, agg, passing, docs)
            if buckets is not None:
                result[i] = buckets
    if cardinalities:
        result.update(bitmaps.cardinalities(passing, cardinalities))
    return result


def _cardinality(terms: Sequence[FacetTerm], term_of: np.ndarray, docs: np.ndarray,
                 count_null: bool) -> int:
    """The number of terms the documents have, of a field of which each has one term."""
    present = np.bincount(term_of[docs].astype(np.intp), minlength=len(terms)) > 0
    n = int(np.count_nonzero(present))
    if not count_null:
        n -= sum(1 for j, t in enumerate(terms) if t.value is None and present[j])
    return n


@attrs.frozen
class _Distinct:
    """A field of which the buckets list the distinct values, each document having one term."""
    # Per document its term (see `DocValues.terms`)
    term_of: np.ndarray
    # Per term its position among the values in ascending order, -1 for the null term
    rank: np.ndarray
    # The terms' values in ascending order, the null term's left out
    ordered: list[Value]

    @classmethod
    def of(cls, terms: Sequence[FacetTerm], term_of: np.ndarray) -> '_Distinct':
        present = [j for j, t in enumerate(terms) if t.value is not None]
        # Sorted as the SQL path's buckets sort the values they list
        present.sort(key=lambda j: terms[j].value)
        rank = np.full(len(terms), -1, dtype=np.int64)
        rank[present] = np.arange(len(present))
        return cls(term_of, rank, [terms[j].value for j in present])

    def listed(self, docs: np.ndarray) -> tuple[Value, ...]:
        """The values of the documents, each once, in ascending order."""
        ranks = np.unique(self.rank[self.term_of[docs]])
        return tuple(self.ordered[r] for r in ranks.tolist() if r >= 0)


# The buckets before they are: the terms' positions and counts, per summed
# field the terms' sums, per distinct field the terms' lists of values
Found = tuple[list[int], list[int], list[list[float]], list[list[tuple[Value, ...]]]]


def _terms(bitmaps: TermBitmaps, values: DocValues, table: TableSpec, agg: Terms,
           passing: BitMap, docs: np.ndarray) -> tuple[TermBucket, ...] | None:
    spec = table.spec(agg.field)
    summed = [table.spec(f) for f in agg.sums]
    distinct = [table.spec(f) for f in agg.distinct]
    if (not table.coded_filter(spec)
            or not all(s.id in values.sums for s in summed)
            or not all(table.coded_filter(d) and d.id in values.terms for d in distinct)):
        return None
    terms = bitmaps.fields.get(spec.id, ())
    listing = [_Distinct.of(bitmaps.fields.get(d.id, ()), values.terms[d.id]) for d in distinct]
    term_of = values.terms.get(spec.id)
    if term_of is None:
        found = _by_bitmaps(values, terms, summed, listing, passing)
    else:
        found = _by_terms(values, term_of, len(terms), summed, listing, docs)
    js, ns, sums, lists = found
    sum_dicts = _dicts([f.name for f in agg.sums], sums, len(js))
    distinct_dicts = _dicts([f.name for f in agg.distinct], lists, len(js))
    return order_buckets(TermBucket(terms[j].value, n, s, d)
                         for j, n, s, d in zip(js, ns, sum_dicts, distinct_dicts, strict=True))


def _dicts(names: Sequence[str], columns: Sequence[Sequence], n: int) -> list[dict]:
    """Per bucket a dict of the names and its values in `columns` (`dict(zip())` cost 2 ms)."""
    if not names:
        return [{} for _ in range(n)]
    if len(names) == 1:
        name = names[0]
        return [{name: v} for v in columns[0]]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _by_terms(values: DocValues, term_of: np.ndarray, n_terms: int, summed: Sequence[FieldSpec],
              listing: Sequence[_Distinct], docs: np.ndarray) -> Found:
    """The buckets of a field of which each document has one term: grouped by that term."""
    terms = term_of[docs].astype(np.intp)
    counts = np.bincount(terms, minlength=n_terms)
    present = np.flatnonzero(counts)
    sums = []
    for s in summed:
        gathered = values.sums[s.id][docs]
        if values.magnitudes[s.id] <= DOUBLE_LIMIT:
            # Every partial sum an integer of at most 2 ** 53: exact in doubles
            total = np.bincount(terms, weights=gathered, minlength=n_terms)
        else:
            total = np.zeros(n_terms, dtype=np.int64)
            np.add.at(total, terms, gathered)
        # Rounded as `float` of a Python integer rounds
        sums.append(total[present].astype(np.float64).tolist())
    lists = [_pairs(d, terms, n_terms, docs, present) for d in listing]
    return present.tolist(), counts[present].tolist(), sums, lists


def _pairs(listing: _Distinct, terms: np.ndarray, n_terms: int, docs: np.ndarray,
           present: np.ndarray) -> list[tuple[Value, ...]]:
    """Per present term, the distinct values of the documents having it."""
    width = max(len(listing.ordered), 1)
    ranks = listing.rank[listing.term_of[docs]]
    kept = ranks >= 0
    pairs = terms[kept].astype(np.int64) * width + ranks[kept]
    if n_terms * width <= MASK_LIMIT:
        # A mark per possible pair costs less than hashing the documents' pairs
        marks = np.zeros(n_terms * width, dtype=bool)
        marks[pairs] = True
        unique = np.flatnonzero(marks)
    else:
        unique = np.unique(pairs)
    ordered = listing.ordered
    flat = [ordered[r] for r in (unique % width).tolist()]
    owners = unique // width
    starts = np.searchsorted(owners, present).tolist()
    ends = np.searchsorted(owners, present, side='right').tolist()
    return [tuple(flat[a:b]) for a, b in zip(starts, ends, strict=True)]


def _by_bitmaps(values: DocValues, terms: Sequence[FacetTerm], summed: Sequence[FieldSpec],
                listing: Sequence[_Distinct], passing: BitMap) -> Found:
    """The buckets of a field with several terms in some document: term by term."""
    js, ns = [], []
    sums: list[list[float]] = [[] for _ in summed]
    lists: list[list[tuple[Value, ...]]] = [[] for _ in listing]
    for j, term in enumerate(terms):
        having = passing & term.docs
        if not having:
            continue
        docs = np.frombuffer(having.to_array(), dtype=np.uint32)
        js.append(j)
        ns.append(len(having))
        for column, s in zip(sums, summed, strict=True):
            column.append(float(int(values.sums[s.id][docs].sum())))
        for column, d in zip(lists, listing, strict=True):
            column.append(d.listed(docs))
    return js, ns, sums, lists
