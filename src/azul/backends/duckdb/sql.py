"""
SQL for the DuckDB backend, built as (text, parameters) without a database,
so that it can be tested on its own. Values are always bound parameters;
identifiers come from `schema` (validated names, column names derived from
field positions).
"""
import enum
from collections.abc import Sequence
from typing import Any

import attrs

from azul.backends.duckdb.schema import FieldSpec, TableSpec, sort_type
from azul.core.filters import Filters, Is, Term
from azul.core.search import Cursor, Sort
from azul.errors import InvalidFilterError


@attrs.frozen
class Query:
    text: str
    params: tuple[Any, ...] = ()


def term_condition(spec: FieldSpec, term: Term) -> Query:
    """A boolean SQL expression, never NULL, true iff `matches(term, values)`."""
    column = spec.values
    parts, params = [], []
    if isinstance(term, Is):
        for value in term.values:
            if value is None:
                parts.append(f'list_position({column}, NULL) IS NOT NULL')
            else:
                element, values = spec.field.type.duckdb_is(value)
                parts.append(f'list_contains({column}, {element})')
                params += values
        text = '(' + (' OR '.join(parts) or 'FALSE') + ')'
        return Query(f'(NOT {text})' if term.negated else text, tuple(params))
    relation = type(term).__name__.lower()
    translation = spec.field.type.duckdb_range_test(relation)
    if translation is None:
        raise InvalidFilterError(f'Relation {relation!r} is not allowed '
                                 f'for field {spec.field.name!r}')
    test, order, bound = translation
    for r in term.ranges:
        # Every range must be met, each by any element. NULL elements make the
        # test NULL, which list_bool_or skips; no hit at all is NULL.
        parts.append(f'coalesce(list_bool_or(list_transform({column}, lambda x: {test})), '
                     f'FALSE)')
        params += [bound(r[i]) for i in order]
    return Query('(' + (' AND '.join(parts) or 'TRUE') + ')', tuple(params))


def where(table: TableSpec, filters: Filters) -> Query:
    conditions = [term_condition(table.spec(t.field), t) for t in filters.all_terms()]
    return conjunction(conditions)


def conjunction(conditions: Sequence[Query]) -> Query:
    if not conditions:
        return Query('TRUE')
    return Query(' AND '.join(c.text for c in conditions),
                 tuple(p for c in conditions for p in c.params))


@attrs.frozen
class PageSpec:
    """
    A page of hits: the sort, its size and an optional cursor.

    The order is the one of `azul.core.search`: ascending puts the rows
    without a value last and breaks ties by entity id ascending, descending is
    exactly the reverse. A page is read by walking that ascending order forward
    (asc, or desc with `search_before`) or backward from the cursor.
    """
    sort: Sort
    size: int
    search_after: Cursor | None = None
    search_before: Cursor | None = None

    def column(self, table: TableSpec) -> str:
        spec = table.spec(self.sort.field)
        if not spec.field.sortable:
            raise InvalidFilterError(f'Field {spec.field.name!r} is not sortable')
        return spec.sort_column

    @property
    def forward(self) -> bool:
        """Whether the rows come in ascending order (else in descending order)."""
        return (self.sort.order == 'asc') != (self.search_before is not None)

    def cursor_condition(self, table: TableSpec) -> Query:
        column = self.column(table)
        kind = sort_type(table.spec(self.sort.field).field.type)
        cursor = self.search_after if self.search_after is not None else self.search_before
        if cursor is None:
            return Query('TRUE')
        value, entity_id = cursor
        if self.forward:
            # After the cursor in ascending order: nulls come last
            if value is None:
                return Query(f'({column} IS NULL AND entity_id > ?)', (entity_id,))
            return Query(f'({column} > ?::{kind} OR ({column} = ?::{kind} '
                         f'AND entity_id > ?) OR {column} IS NULL)', (value, value, entity_id))
        else:
            # Before the cursor in ascending order
            if value is None:
                return Query(f'({column} IS NOT NULL OR entity_id < ?)', (entity_id,))
            return Query(f'({column} < ?::{kind} OR ({column} = ?::{kind} '
                         f'AND entity_id < ?))', (value, value, entity_id))

    def order(self, table: TableSpec) -> str:
        column = self.column(table)
        if self.forward:
            return f'{column} ASC NULLS LAST, entity_id ASC'
        return f'{column} DESC NULLS FIRST, entity_id DESC'


def page(table: TableSpec, filters: Filters, sort: Sort, size: int,
         search_after: Cursor | None = None, search_before: Cursor | None = None) -> Query:
    """
    One page of hits: rows (entity_id, document, sort value). With
    `search_before` the rows come in reverse order; the caller reverses them.
    """
    spec = PageSpec(sort, size, search_after, search_before)
    column = spec.column(table)
    condition = conjunction([where(table, filters), spec.cursor_condition(table)])
    return Query(f'SELECT entity_id, document, {column} FROM {table.table} '
                 f'WHERE {condition.text} ORDER BY {spec.order(table)} LIMIT ?',
                 (*condition.params, size))


def rows(table: TableSpec, page: PageSpec, rowids: Sequence[int]) -> Query:
    """The hits of `facets`'s page, by row id: rows (rowid, entity_id, document, sort value)."""
    return Query(f'SELECT rowid, entity_id, document, {page.column(table)} FROM {table.table} '
                 f'WHERE rowid IN (SELECT unnest(?::BIGINT[]))', (list(rowids),))


def count(table: TableSpec, filters: Filters) -> Query:
    condition = where(table, filters)
    return Query(f'SELECT count(*) FROM {table.table} WHERE {condition.text}', condition.params)


def all_facets(table: TableSpec, facets: Sequence[FieldSpec]) -> Query:
    """
    Unfiltered counts of the given facet fields, from the counts table: rows
    (field, term JSON, count), then one row (NULL, NULL, number of documents).
    """
    ids = ', '.join(str(f.id) for f in facets) or 'NULL'
    return Query(f'SELECT c.field, t.value, c.n FROM {table.counts_table} c '
                 f'JOIN {table.terms_table} t ON t.code = c.code '
                 f'WHERE c.field IN ({ids}) AND c.n > 0 '
                 f'UNION ALL SELECT NULL, NULL, count(*) FROM {table.table}')


class FacetRow(enum.IntEnum):
    """The kinds of rows `facets` answers."""
    TERM = 0   # a facet term and its count
    SCOPE = 1  # the number of documents a facet counts from
    HIT = 2    # a document of the page

    def __str__(self) -> str:
        return str(self.value)


def facets(table: TableSpec, filters: Filters, shared: Sequence[FieldSpec],
           own: Sequence[FieldSpec], page: PageSpec | None = None) -> Query:
    """
    Facet counts under non-empty `filters`, and optionally the row ids of a
    page of hits, in one statement, evaluating the filters once. `shared`
    facets see every filter and are counted from the `codes` of the fully
    matching rows; each of the `own` facets ignores the filter on its own
    field and is counted from its own column. Filters are grouped by field
    into flags g0, g1, ...; rows failing more than one group count for no
    facet and are dropped first. The rows kept are materialized once, with
    their row id and the `own` columns (short lists); the long `codes` and
    the sort keys are read again from the table for the matching row ids,
    which costs less than copying them through the materialized rows.

    Rows (kind, field id, term JSON, count) of the kinds of `FacetRow`; the
    field id is NULL for the scope of the shared facets; a hit of the page is
    (HIT, position from 1, NULL, row id), for `rows`.
    """
    groups = filters.groups()
    names = list(groups)
    flags, params = [], []
    for i, terms in enumerate(groups.values()):
        condition = conjunction([term_condition(table.spec(t.field), t) for t in terms])
        flags.append(f'({condition.text}) AS g{i}')
        params += condition.params
    n = len(groups)
    passed = ' + '.join(f'g{i}::INTEGER' for i in range(n))

    def scope(skip: int | None) -> str:
        return ' AND '.join([f'g{i}' for i in range(n) if i != skip] or ['TRUE'])

    def skipped(spec: FieldSpec) -> int | None:
        return names.index(spec.field.name) if spec.field.name in groups else None

    matching = f'rowid IN (SELECT r FROM m WHERE {scope(None)})'
    parts = []
    if shared:
        ids = ', '.join(str(f.id) for f in shared)
        parts.append(f'SELECT {FacetRow.TERM}, t.field, t.value, c.n FROM '
                     f'(SELECT code, count(*) AS n FROM '
                     f'(SELECT unnest(codes) AS code FROM {table.table} WHERE {matching}) '
                     f'GROUP BY code) c '
                     f'JOIN {table.terms_table} t ON t.code = c.code WHERE t.field IN ({ids})')
    parts.append(f'SELECT {FacetRow.SCOPE}, NULL, NULL, count(*) FROM m WHERE {scope(None)}')
    for spec in own:
        value = spec.field.type.duckdb_json
        parts.append(f'SELECT {FacetRow.TERM}, {spec.id}, CASE WHEN v IS NULL THEN NULL '
                     f'ELSE to_json({value})::VARCHAR END, count(*) FROM '
                     f'(SELECT unnest({spec.values}) AS v FROM m WHERE {scope(skipped(spec))}) '
                     f'GROUP BY v')
        parts.append(f'SELECT {FacetRow.SCOPE}, {spec.id}, NULL, count(*) FROM m '
                     f'WHERE {scope(skipped(spec))}')
    if page is not None:
        order = page.order(table)
        cursor = page.cursor_condition(table)
        parts.append(f'SELECT {FacetRow.HIT}, row_number() OVER (ORDER BY {order}), NULL, '
                     f'rowid FROM '
                     f'(SELECT rowid, {page.column(table)}, entity_id FROM {table.table} '
                     f'WHERE {matching} AND {cursor.text} '
                     f'ORDER BY {order} LIMIT ?)')
        params += [*cursor.params, page.size]
    columns = ''.join(f'{s.values}, ' for s in own)
    text = (f'WITH m AS MATERIALIZED (SELECT * FROM (SELECT rowid AS r, {columns}'
            f'{", ".join(flags)} FROM {table.table}) WHERE {passed} >= {n - 1}) '
            + ' UNION ALL '.join(parts))
    return Query(text, tuple(params))


def totals(table: TableSpec, filters: Filters, sums: Sequence[FieldSpec]) -> Query:
    """One row: the number of matching documents, then the sum of each field."""
    condition = where(table, filters)
    columns = ''.join(f', sum(list_sum({s.values}))' for s in sums)
    return Query(f'SELECT count(*){columns} FROM {table.table} WHERE {condition.text}',
                 condition.params)


def cardinality(table: TableSpec, filters: Filters, spec: FieldSpec,
                count_null: bool = False) -> Query:
    """The number of distinct values; with `count_null` the null term counts as one."""
    if not filters and spec.field.facet:
        null = '' if count_null else " AND t.value <> 'null'"
        return Query(f'SELECT count(*) FROM {table.counts_table} c '
                     f'JOIN {table.terms_table} t ON t.code = c.code '
                     f'WHERE c.field = ? AND c.n > 0{null}', (spec.id,))
    condition = where(table, filters)
    # count(DISTINCT v) skips NULL; bool_or(v IS NULL) adds it back if wanted
    null = ' + coalesce(bool_or(v IS NULL), FALSE)::INTEGER' if count_null else ''
    return Query(f'SELECT count(DISTINCT v){null} FROM (SELECT unnest({spec.values}) AS v '
                 f'FROM {table.table} WHERE {condition.text})', condition.params)


def terms(table: TableSpec, filters: Filters, spec: FieldSpec, sums: Sequence[FieldSpec],
          distinct: Sequence[FieldSpec]) -> Query:
    """
    Rows (term, count, sum per `sums`..., distinct values per `distinct`...).
    Values are distinct within a document, so count(*) counts documents.
    """
    condition = where(table, filters)
    inner = [f'unnest({spec.values}) AS v']
    outer = ['v', 'count(*)']
    for i, s in enumerate(sums):
        inner.append(f'list_sum({s.values}) AS s{i}')
        outer.append(f'sum(s{i})')
    for i, d in enumerate(distinct):
        inner.append(f'{d.values} AS d{i}')
        # DISTINCT first: documents of one group mostly share their lists
        outer.append(f'list_distinct(flatten(list(DISTINCT d{i})))')
    return Query(f'SELECT {", ".join(outer)} FROM (SELECT {", ".join(inner)} '
                 f'FROM {table.table} WHERE {condition.text}) GROUP BY v', condition.params)


def scan(table: TableSpec, filters: Filters) -> Query:
    """Entity id and document of every match, in storage order (the caller sorts)."""
    condition = where(table, filters)
    return Query(f'SELECT entity_id, document FROM {table.table} WHERE {condition.text}',
                 condition.params)
