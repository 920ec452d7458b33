"""
Filtered searches from the term bitmaps (see `bitmaps`, `bitmap_store`): the
part of `DuckDBReads` that decides whether a search can use them, and reads
its page by `doc`.
"""
from collections.abc import Callable
from typing import Any

import duckdb
from pyroaring import BitMap

from azul.backends.duckdb import bitmap_queries, bitmap_summaries, sql
from azul.backends.duckdb.bitmap_store import BitmapStore, TableKey
from azul.backends.duckdb.bitmaps import SortOrder, TermBitmaps
from azul.backends.duckdb.schema import TableSpec
from azul.core.search import FacetResult, SearchRequest, SummaryRequest


class BitmapReads:
    """Mixed into `DuckDBReads`."""

    _bitmaps: BitmapStore
    _building: dict[str, str]
    _content: str
    content_version: Callable[[str], str]
    _query: Callable[[sql.Query], list[tuple]]

    def _bitmapped(self, catalog: str, table: TableSpec, request: SearchRequest,
                   page: sql.PageSpec, cached: tuple[int, dict[str, FacetResult]] | None
                   ) -> tuple[int, dict[str, FacetResult], list[tuple] | None] | None:
        """
        The total, facets and rows of the page (`sql.page_of`'s, in the
        order the page is walked) of a filtered search from the bitmaps of
        the content version read in the caller's snapshot; the kept total
        and facets if `cached`. No rows (None) where the bitmaps cannot
        give the page: no sort order of this version (its build is asked
        for), or a cursor whose row is gone or changed. None: the SQL path
        answers (no filters, filters or facets the bitmaps cannot answer, no
        bitmaps of this version).
        """
        bitmaps = self._current_bitmaps(catalog, table, request)
        if bitmaps is None:
            return None
        key = (catalog, table.name)
        order = None
        if page.size > 0:
            order = self._bitmaps.order(key, bitmaps.version, page.column(table))
            if order is None:
                self._bitmaps.request(key, table, bitmaps.version, request.sort,
                                      self._read_version(catalog))
        specs = [table.spec(f) for f in request.facets]
        if cached is None:
            total, facets, passing = bitmaps.count(table, request.filters, specs)
        else:
            total, facets = cached
            passing = bitmaps.passing(table, request.filters)
            passing = passing[0] if len(passing) == 1 else BitMap.intersection(*passing)
        if order is not None:
            rows = self._bitmap_page(table, order, passing, page)
        else:
            rows = None if page.size > 0 else []
        return total, facets, rows

    def _bitmap_summary(self, catalog: str, table: TableSpec, request: SummaryRequest
                        ) -> dict[int, Any]:
        """
        Per position of an aggregation of a filtered summary, its answer
        from the bitmaps and values of the content version read in the
        caller's snapshot (`bitmap_summaries`); none without such bitmaps,
        whose build it then asks for. At 1M documents the SQL path spent
        ~40 ms of CPU finding the matching rows and ~60 more summing and
        grouping them.
        """
        if not request.filters or not self._bitmaps.enabled or catalog in self._building:
            return {}
        if not table.coded or not TermBitmaps.usable(table, request.filters, ()):
            return {}
        key: TableKey = (catalog, table.name)
        version = self.content_version(catalog)
        bitmaps = self._bitmaps.current(key, version)
        if bitmaps is None:
            # A summary may come without a search that would have them built
            if version != 'none' and self._query(bitmap_queries.extent(table))[0][0] >= \
                    self._bitmaps.min_rows:
                self._bitmaps.request(key, table, version, None, self._read_version(catalog))
            return {}
        return bitmap_summaries.summarize(bitmaps, table, request.filters,
                                          request.aggregations)

    def _current_bitmaps(self, catalog: str, table: TableSpec, request: SearchRequest
                         ) -> TermBitmaps | None:
        if not request.filters or not self._bitmaps.enabled or catalog in self._building:
            # A generation this object builds changes without a new version
            return None
        specs = [table.spec(f) for f in request.facets]
        if not table.coded or not TermBitmaps.usable(table, request.filters, specs):
            return None
        version = self.content_version(catalog)
        return self._bitmaps.current((catalog, table.name), version)

    def _want_bitmaps(self, catalog: str, table: TableSpec, request: SearchRequest,
                      rows: int) -> None:
        """After the SQL path: a build of bitmaps, if the search could have used them."""
        if (not request.filters or not self._bitmaps.enabled or catalog in self._building
                or rows < self._bitmaps.min_rows):
            return
        specs = [table.spec(f) for f in request.facets]
        if not table.coded or not TermBitmaps.usable(table, request.filters, specs):
            return
        version = self.content_version(catalog)
        if version == 'none':
            return
        key: TableKey = (catalog, table.name)
        self._bitmaps.request(key, table, version, request.sort, self._read_version(catalog))

    def _read_version(self, catalog: str):
        content = self._content

        def read(cursor: duckdb.DuckDBPyConnection) -> str:
            row = cursor.execute(f'SELECT stamp FROM {content} WHERE catalog = ?',
                                 [catalog]).fetchall()
            return row[0][0] if row else 'none'

        return read

    def _bitmap_page(self, table: TableSpec, order: SortOrder, passing: BitMap,
                     page: sql.PageSpec) -> list[tuple] | None:
        """
        The page's rows (entity_id, document, sort value): the passing
        documents walked in the order from the cursor's position; among the
        passing documents by DuckDB if the walk is long (few pass). None if
        the cursor's row is gone or has another sort value (the SQL path
        then compares values).
        """
        if page.cursor is None:
            start = 0 if page.forward else len(order) - 1
        else:
            found = self._query(bitmap_queries.cursor_document(table, page))
            position = None if not found else order.position(found[0][0])
            if position is None:
                return None
            start = position + 1 if page.forward else position - 1
        docs = order.walk(passing, start, page.forward, page.size)
        if docs is None:
            docs = [doc for (doc,) in self._query(bitmap_queries.page_among(table, page,
                                                                            list(passing)))]
        if not docs:
            return []
        by_doc = {row[0]: row[1:] for row in self._query(bitmap_queries.rows(table, page, docs))}
        return [by_doc[doc] for doc in docs]
