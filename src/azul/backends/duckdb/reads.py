"""
Searches, summaries and scans of the embedded backend: the read side of
`DuckDBBackend`, kept apart from its writes and generations. The mixin reads
through the backend's own helpers (`_table`, `_query`, `_cursor`,
`_switch_safe`) and its connection.
"""

import itertools
import threading
from collections.abc import Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import attrs
import duckdb
import orjson

from azul.backends.duckdb import sql, summaries, sums
from azul.backends.duckdb.bitmap_reads import BitmapReads
from azul.backends.duckdb.cache import ResultCache
from azul.backends.duckdb.packed import ZdictLookup, json_text, unpack
from azul.backends.duckdb.schema import TableSpec, decode_term, from_column
from azul.core.fields import Field, Value
from azul.core.filters import Filters
from azul.core.search import (
    Cardinality,
    Count,
    FacetResult,
    Hit,
    SearchRequest,
    SearchResult,
    Sum,
    SummaryRequest,
    SummaryResult,
    TermBucket,
    Terms,
    order_buckets,
    reference_search,
    reference_summary,
)
from azul.errors import BadRequestError
from azul.external_sort import sort_by_key

# Rows a scan fetches from DuckDB at a time
_SCAN_BATCH = 500

# The estimated share of rows matching a search's filters above which its
# facets count the rows that do not match (`sql.coded_facets`): a filter
# keeping 70% of 1M rows took 190 instead of 350 ms of CPU
COMPLEMENT_SHARE = 0.5


class DuckDBReads(BitmapReads):
    """Searches, summaries and scans; mixed into `DuckDBBackend`."""

    _con: duckdb.DuckDBPyConnection
    _zdict: ZdictLookup
    _summaries: ResultCache
    _counts: ResultCache
    _building: dict[str, str]
    _local: threading.local

    def search(self, catalog: str, request: SearchRequest) -> SearchResult:
        return self._switch_safe(lambda: self._search(catalog, request))

    def _search(self, catalog: str, request: SearchRequest) -> SearchResult:
        table = self._table(catalog, request.entity_type)
        if table is None:
            # A catalog not indexed yet: the answer for no documents, as OpenSearch gives
            return reference_search((), request)
        sort = request.sort
        page = sql.PageSpec(sort, request.size, request.search_after, request.search_before)
        # The content version, the page's bound, the codes, the facets and the page: one snapshot
        key = cached = None
        with self._snapshot():
            if request.filters:
                # The total and the facets do not depend on the sort or the cursor
                counting = (request.entity_type, request.filters, request.facets)
                key = self._cache_key(self._counts, catalog, counting)
                cached = None if key is None else self._counts.get(key)
            bitmapped = self._bitmapped(catalog, table, request, page, cached)
            if bitmapped is not None and bitmapped[2] is not None:
                total, facets, rows = bitmapped
            elif bitmapped is not None or cached is not None:
                # The page alone, as without filters
                total, facets = cached if bitmapped is None else bitmapped[:2]
                codes, _, rows_total = self._lookup(table, request.filters)
                self._want_bitmaps(catalog, table, request, rows_total)
                page = self._bounded(table, request.filters, page, codes)
                rows = self._query(sql.page_of(table, request.filters, page, codes))
            elif request.filters:
                # The page comes with the facets, from the rows the filters matched once, as
                # row ids: reading the documents by row id must see the same snapshot. Its
                # bound, if any, comes from the same rows' sort keys (`sql.coded_facets`).
                # Counting the rows that do not match costs less when most rows match
                codes, counts, rows_total = self._lookup(table, request.filters)
                self._want_bitmaps(catalog, table, request, rows_total)
                share = None if codes is None else sql.matching_share(
                    table, request.filters, codes, counts, rows_total)
                complement = share is not None and share > COMPLEMENT_SHARE
                facets, total, ranked = self._facets(table, request, page, codes, complement)
                by_rowid = {row[0]: row[1:] for row in self._query(sql.rows(table, page, ranked))}
                rows = [by_rowid[rowid] for rowid in ranked]
            else:
                page = self._bounded(table, request.filters, page, None)
                rows = self._query(sql.page_of(table, request.filters, page))
                facets, total, _ = self._facets(table, request, None, None, False)
            if total is None:
                # In the snapshot: a kept total must be the version's
                total = self._query(sql.count(table, request.filters))[0][0]
        if key is not None and cached is None:
            self._counts.put(key, (total, facets))
        if request.search_before is not None:
            rows.reverse()
        spec = table.spec(sort.field)
        hits = tuple(Hit(entity_id, unpack(document, self._zdict),
                         (_sort_value(spec.field, value), entity_id))
                     for entity_id, document, value in rows)
        return SearchResult(hits=hits, total=total, facets=facets)

    def _cache_key(self, cache: ResultCache, catalog: str, request: Hashable
                   ) -> Hashable | None:
        """
        The key of a counting request's answer under the catalog's content
        version, read in the caller's snapshot; None if it is not to be kept.
        """
        # A generation this object builds changes without a new version (see `cache`)
        if not cache.size or catalog in self._building:
            return None
        version = self.content_version(catalog)
        return None if version == 'none' else (catalog, version, request)

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """Consecutive reads on this thread's cursor that see one state of the database."""
        cursor = self._cursor()
        cursor.execute('BEGIN TRANSACTION')
        # A catalog's content version cannot change within the snapshot: the
        # caches' keys and the bitmaps' lookups of one request read it once
        self._local.versions = {}
        try:
            yield
        finally:
            self._local.versions = None
            # Read only: nothing to keep, and a failed statement leaves nothing to commit
            cursor.execute('ROLLBACK')

    def _bounded(self, table: TableSpec, filters: Filters, page: sql.PageSpec,
                 codes: sql.Codes | None) -> sql.PageSpec:
        """The page with its bound, if it has one (see `sql.page_bound`)."""
        query = sql.page_bound(table, filters, page, codes)
        if query is None:
            return page
        values = self._query(query)
        if len(values) < page.size or values[-1][0] is None:
            # Fewer rows than a page, or a bound that the nulls would have to pass
            return page
        return attrs.evolve(page, bound=values[-1][0], bounded=True)

    def _codes(self, table: TableSpec, filters: Filters) -> sql.Codes | None:
        """
        The codes of the filters' values, for `sql.where`; None for a table
        without code columns. Read in the snapshot of the query using them:
        the plain names may switch to another generation's dictionary.
        """
        return self._lookup(table, filters)[0]

    def _lookup(self, table: TableSpec, filters: Filters
                ) -> tuple[sql.Codes | None, dict[int, int], int]:
        """`_codes`, the rows having each of them, and the number of rows (`sql.lookup`)."""
        if not table.coded or not filters:
            return None, {}, 0
        keys = sql.filter_keys(table, filters)
        if not keys:
            return {}, {}, 0
        codes, counts, total = {}, {}, 0
        for field, key, code, n in self._query(sql.lookup(table, keys)):
            if field is None:
                total = n
            else:
                codes[field, key] = code
                counts[code] = n
        return codes, counts, total

    def _facets(self, table: TableSpec, request: SearchRequest, page: sql.PageSpec | None,
                codes: sql.Codes | None, complement: bool
                ) -> tuple[dict[str, FacetResult], int | None, list[int]]:
        """
        The facets, the number of matching documents if that came for free, and
        with filters the row ids of the `page`, in order. Facets of fields
        without a filter share their scope; without filters they come from
        the counts table.
        """
        filters = request.filters
        filtered = set(filters.fields())
        specs = [table.spec(f) for f in request.facets]
        # Without filters every facet is shared (own ones are the filtered fields)
        shared = [s for s in specs if s.field.name not in filtered]
        own = [s for s in specs if s not in shared]
        terms: dict[str, dict] = {s.field.name: {} for s in specs}
        scopes: dict[str, int] = {}
        total = None
        fields = {s.id: s.field for s in specs}
        ranked: list[tuple[int, int]] = []
        if filters:
            query = sql.facets(table, filters, shared, own, page, codes, complement)
            for kind, field_id, term, n in self._query(query):
                if kind == sql.FacetRow.HIT:
                    ranked.append((field_id, n))
                elif kind == sql.FacetRow.SCOPE and field_id is None:
                    total = n
                elif kind == sql.FacetRow.SCOPE:
                    scopes[fields[field_id].name] = n
                else:
                    # An own facet's term may come in two parts, see `sql.facets`
                    field = fields[field_id]
                    counts = terms[field.name]
                    value = decode_term(field, term)
                    counts[value] = counts.get(value, 0) + n
        elif shared:
            for field_id, term, n in self._query(sql.all_facets(table, shared)):
                if field_id is None:
                    total = n
                else:
                    field = fields[field_id]
                    terms[field.name][decode_term(field, term)] = n
        result = {f.name: FacetResult(total=scopes.get(f.name, total), counts=terms[f.name])
                  for f in request.facets}
        return result, total, [rowid for _, rowid in sorted(ranked)]

    def summary(self, catalog: str, request: SummaryRequest) -> SummaryResult:
        return self._switch_safe(lambda: self._summary(catalog, request))

    def _summary(self, catalog: str, request: SummaryRequest) -> SummaryResult:
        table = self._table(catalog, request.entity_type)
        if table is None:
            return reference_summary((), request)
        # The content version, the codes of the filters, which kept sums are
        # exact, and the summary with the keys of its codes: one snapshot
        with self._snapshot():
            key = self._cache_key(self._summaries, catalog, request)
            cached = None if key is None else self._summaries.get(key)
            if cached is not None:
                return cached
            known = self._bitmap_summary(catalog, table, request)
            if known:
                rest = attrs.evolve(request, aggregations=tuple(
                    a for i, a in enumerate(request.aggregations) if i not in known))
                partial = self._summarized(table, rest) if rest.aggregations else {}
                result = {a.name: known[i] if i in known else partial[a.name]
                          for i, a in enumerate(request.aggregations)}
            else:
                result = self._summarized(table, request)
        if key is not None:
            self._summaries.put(key, result)
        return result

    def _summarized(self, table: TableSpec, request: SummaryRequest) -> SummaryResult:
        """The summary of a table, read in the caller's snapshot."""
        spec = summaries.SummarySpec.of(table, request.aggregations)
        codes = self._codes(table, request.filters)
        if not request.filters and table.summed:
            spec = attrs.evolve(spec, kept=self._kept(table, spec))
        rows = self._query(summaries.summary(table, request.filters, spec, codes))
        # By position: a dict per row took 1 to 2 ms of ~2,000 rows
        position = {name: i for i, name in enumerate(spec.columns())}
        totals: tuple = ()
        by_agg: dict[int, list[tuple]] = {}
        for row in rows:
            if row[0] is None:
                totals = row
            else:
                by_agg.setdefault(row[0], []).append(row)
        sum_columns = iter(k for k, _ in spec.sums)
        terms = {i: (sums, distinct) for i, _, sums, distinct in spec.terms}
        result: dict[str, Any] = {}
        for i, agg in enumerate(request.aggregations):
            if isinstance(agg, Count):
                result[agg.name] = totals[1]
            elif isinstance(agg, Sum):
                result[agg.name] = float(totals[position[f's{next(sum_columns)}']] or 0)
            elif isinstance(agg, Cardinality):
                [row] = by_agg[i]
                result[agg.name] = row[1]
            elif isinstance(agg, Terms):
                sums, distinct = terms[i]
                result[agg.name] = _buckets(agg, position[f't{i}'], by_agg.get(i, ()),
                                            i in spec.coded,
                                            [position[f's{k}'] for k, _ in sums],
                                            [(position[f'd{k}'], k in spec.coded_distinct)
                                             for k, _ in distinct])
            else:
                raise BadRequestError(f'Unknown aggregation {agg!r}')
        return result

    def _kept(self, table: TableSpec, spec: summaries.SummarySpec) -> frozenset[int]:
        """The summed fields of the summary whose kept sums are exact (`sums.exact`)."""
        summed = [f for _, f in spec.sums] + [f for *_, fs, _ in spec.terms for _, f in fs]
        query = sums.kept_fields(table, summed)
        rows = [] if query is None else self._query(sql.Query(query))
        return sums.exact(table, summed, rows)

    def scan(self, catalog: str, entity_type: str, filters: Filters,
             include: Sequence[str] | None = None) -> Iterator[Mapping[str, Any]]:
        # Whole documents: one JSON column, which DuckDB cannot read in part
        table = self._table(catalog, entity_type)
        if table is None:
            return
        query = sql.scan(table, filters)
        # A cursor of its own: the generator may be consumed across other calls on this thread
        cursor = self._con.cursor()
        try:
            cursor.execute(query.text, query.params)
            # Sorted here, not by DuckDB, which would hold every document (see external_sort),
            # as JSON text, which is what the sort spills
            rows = ((entity_id, json_text(document, self._zdict))
                    for entity_id, document in self._fetched(cursor))
            for document in sort_by_key(rows):
                yield orjson.loads(document)
        finally:
            cursor.close()

    @staticmethod
    def _fetched(cursor: duckdb.DuckDBPyConnection) -> Iterator[tuple[str, str]]:
        while batch := cursor.fetchmany(_SCAN_BATCH):
            yield from batch


def _buckets(agg: Terms, term: int, rows: Sequence[tuple], coded: bool, sums: Sequence[int],
             distinct: Sequence[tuple[int, bool]]) -> tuple[TermBucket, ...]:
    """
    The buckets of a terms aggregation from its rows (`summaries.SummarySpec`):
    the term at position `term`, a dictionary key if `coded`; the sums at
    `sums`, and the distinct values at the positions of `distinct`, each
    with whether they are dictionary keys.
    """
    field = agg.field
    terms = [row[term] for row in rows]
    terms = _decoded(field, terms) if coded else [from_column(field, t) for t in terms]
    summed = [[float(row[i] or 0) for row in rows] for i in sums]
    listed = []
    for f, (i, keyed) in zip(agg.distinct, distinct, strict=True):
        lists = [row[i] for row in rows]
        # Every list's keys decoded at once: a call per key cost most of the assembly
        flat = (_decoded(f, [key for keys in lists for key in keys]) if keyed
                else [from_column(f, v) for values in lists for v in values])
        ends = list(itertools.accumulate(len(values) for values in lists))
        # The null term's key is left out by the statement, as list_distinct leaves out NULL
        listed.append([tuple(sorted(flat[end - len(values):end]))
                       for values, end in zip(lists, ends, strict=True)])
    sum_names = [f.name for f in agg.sums]
    distinct_names = [f.name for f in agg.distinct]
    buckets = [TermBucket(t, row[1], {name: values[j] for name, values in zip(sum_names, summed,
                                                                           strict=True)},
                          {name: values[j] for name, values in zip(distinct_names, listed,
                                                                   strict=True)})
               for j, (t, row) in enumerate(zip(terms, rows, strict=True))]
    return order_buckets(buckets)


def _decoded(field: Field, keys: Sequence[str]) -> list[Value]:
    """`decode_term` of each of the keys, parsed as one JSON array."""
    parsed = orjson.loads('[' + ','.join(keys) + ']')
    from_json = field.type.from_json
    return [None if v is None else from_json(v) for v in parsed]


def _sort_value(field: Field, value: Any):
    return None if value is None else field.type.duckdb_sort_param(value)
