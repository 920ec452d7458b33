"""
Filtered facet counts and pages from term bitmaps, kept in the process per
aggregate table and content version (issue 16).

Why: at a million documents the facets of a filtered search cost DuckDB two
passes over every row (the filters' flags, then `codes` by row id) and a hash
count of ~3.5 M integers, ~140 ms of CPU however the statement is written
(the eleventh session's account in the README). With one roaring bitmap per
term of the documents having it (their `doc`, the row's version), a filter
is a union of its values' bitmaps, the documents passing every group an
intersection, and a facet's count of a term the cardinality of an
intersection: nothing is counted row by row.

The page comes from the sort order of every document (`SortOrder`), walked
from the cursor's position, each document tested against the passing
bitmap: a filter a tenth of the rows pass needs ~250 tests for a page of 25.

Why `doc`, not `rowid`: a checkpoint may merge row groups and renumber row
ids without any content write, and a checkpoint can follow a write to
another catalog; a row's `doc` never changes, and the documents of a
content version are fixed.
"""
from array import array
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from pyroaring import BitMap

from azul.backends.duckdb.doc_values import DocValues
from azul.backends.duckdb.schema import FieldSpec, TableSpec, encode_term
from azul.core.fields import Value
from azul.core.filters import Filters, Is, Term
from azul.core.search import FacetResult, Sort

# Documents a page walk tests against the passing bitmap before it gives up
# (the caller then asks DuckDB for the page among the passing documents):
# ~3 ms of CPU. A walk that finds few passing documents is a filter few pass.
WALK_LIMIT = 50_000


@attrs.frozen
class FacetTerm:
    """A facet term: the documents having it, and its value."""
    docs: BitMap
    value: Value


@attrs.frozen(eq=False)
class TermBitmaps:
    """The bitmaps of one aggregate table at one content version."""
    version: str
    # Every document of the table
    rows: BitMap
    # Facet field id -> its terms
    fields: Mapping[int, tuple[FacetTerm, ...]]
    # (field id, dictionary key) -> the documents having the term
    keys: Mapping[tuple[int, str], BitMap]
    # Bytes the bitmaps and values hold
    nbytes: int
    # The documents' values that filtered summaries sum and group, if they fit the limit
    values: DocValues | None = None
    # The table's catalog entry (`table_oid`): a table dropped and made again
    # numbers its documents anew, so bitmaps advance only within one entry
    oid: int | None = None
    # Documents that term bitmaps may hold but `rows` no longer does (see
    # `bitmap_advance`), at most: if any, each group of a filter is cut to `rows`
    stale: int = 0

    @staticmethod
    def usable(table: TableSpec, filters: Filters, facets: Sequence[FieldSpec]) -> bool:
        """
        Whether the bitmaps answer the filters and facets: `is` filters
        tested by codes, facets with code columns. Ranges and numbers need
        values, which the bitmaps do not have.
        """
        return (all(isinstance(t, Is) and table.coded_filter(table.spec(t.field))
                    for t in filters.all_terms())
                and all(table.coded_spec(s) for s in facets))

    def passing(self, table: TableSpec, filters: Filters) -> list[BitMap]:
        """The documents passing each group of the filters (see `Filters.groups`)."""
        groups = []
        for terms in filters.groups().values():
            group = None
            for term in terms:
                docs = self._term(table, term)
                group = docs if group is None else group & docs
            groups.append(group & self.rows if self.stale else group)
        return groups

    def _term(self, table: TableSpec, term: Term) -> BitMap:
        assert isinstance(term, Is), term
        spec = table.spec(term.field)
        # A value without a code is in no document
        found = [docs for v in term.values
                 if (docs := self.keys.get((spec.id, encode_term(v)))) is not None]
        docs = _union(found)
        return self.rows - docs if term.negated else docs

    def count(self, table: TableSpec, filters: Filters, facets: Sequence[FieldSpec]
              ) -> tuple[int, dict[str, FacetResult], BitMap]:
        """
        The number of documents matching non-empty `filters`, the facets, and
        those documents. A facet on a filtered field counts the documents
        passing the other groups, as `sql.facets` does.
        """
        names = list(filters.groups())
        groups = self.passing(table, filters)
        passing = _intersection(groups)
        result = {}
        for spec in facets:
            name = spec.field.name
            if name in names:
                j = names.index(name)
                others = [g for i, g in enumerate(groups) if i != j]
                scope = _intersection(others) if others else self.rows
            else:
                scope = passing
            counts: dict[Value, int] = {}
            if scope:
                cardinality = scope.intersection_cardinality
                for term in self.fields.get(spec.id, ()):
                    n = cardinality(term.docs)
                    if n:
                        # Two keys of one value (see `encode_term`) add up
                        counts[term.value] = counts.get(term.value, 0) + n
            result[name] = FacetResult(total=len(scope), counts=counts)
        return len(passing), result, passing


    def cardinalities(self, passing: BitMap, wanted: Mapping[int, tuple[FieldSpec, bool]]
                      ) -> dict[int, int]:
        """
        Per key of `wanted` (field, count_null): the number of the field's
        terms that some of the `passing` documents has, the null term only
        if `count_null`. Terms are codes, as the SQL path counts distinct
        codes of the matching rows.
        """
        result = {}
        for i, (spec, count_null) in wanted.items():
            terms = self.fields.get(spec.id, ()) if passing else ()
            result[i] = sum(1 for term in terms
                            if (count_null or term.value is not None)
                            and passing.intersect(term.docs))
        return result


def _union(bitmaps: Sequence[BitMap]) -> BitMap:
    if not bitmaps:
        return BitMap()
    return bitmaps[0] if len(bitmaps) == 1 else BitMap.union(*bitmaps)


def _intersection(bitmaps: Sequence[BitMap]) -> BitMap:
    return bitmaps[0] if len(bitmaps) == 1 else BitMap.intersection(*bitmaps)


@attrs.frozen(eq=False)
class SortOrder:
    """
    Every document of a table at one content version in the ascending order
    of a sort (`sql.PageSpec.order`): the descending order is its reverse.
    """
    version: str
    column: str
    # The documents as unsigned 32-bit integers in native byte order
    docs: bytes
    # The sort, ascending, and the keys (`PageSpec.key`'s column) of the
    # documents whose key is not null (the order's first ones), if the keys
    # are numbers: the order of a later version is made from these (see
    # `bitmap_advance`)
    sort: Sort | None = None
    keys: Any = None

    @property
    def nbytes(self) -> int:
        return len(self.docs) + (0 if self.keys is None else self.keys.nbytes)

    def __len__(self) -> int:
        return len(self.docs) // 4

    def position(self, doc: int) -> int | None:
        """Where a document is in the order: a search of 4 bytes, ~0.1 ms per million."""
        needle = array('I', [doc]).tobytes()
        i = self.docs.find(needle)
        while i >= 0 and i % 4:
            i = self.docs.find(needle, i + 1)
        return None if i < 0 else i // 4

    def walk(self, passing: BitMap, start: int, forward: bool, size: int,
             limit: int | None = None) -> list[int] | None:
        """
        The first `size` passing documents from position `start` on, forward
        or backward; None if `limit` documents (`WALK_LIMIT`) did not hold them.
        """
        limit = WALK_LIMIT if limit is None else limit
        docs = memoryview(self.docs).cast('I')
        found: list[int] = []
        if size <= 0 or not passing:
            return found
        stop = len(docs) if forward else -1
        step = 1 if forward else -1
        if abs(stop - start) > limit:
            stop = start + step * limit
            complete = False
        else:
            complete = True
        contains = passing.__contains__
        for i in range(start, stop, step):
            doc = docs[i]
            if contains(doc):
                found.append(doc)
                if len(found) == size:
                    return found
        return found if complete else None
