"""
SQL for the DuckDB backend, built as (text, parameters) without a database,
so that it can be tested on its own. Values are always bound parameters;
identifiers come from `schema` (validated names, column names derived from
field positions).
"""
import enum
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from azul.backends.duckdb.coded import has_any
from azul.backends.duckdb.schema import (
    FieldSpec,
    TableSpec,
    encode_term,
    sort_prefix,
    sort_type,
)
from azul.core.filters import Filters, Is, Term
from azul.core.search import Cursor, Sort
from azul.errors import InvalidFilterError


@attrs.frozen
class Query:
    text: str
    params: tuple[Any, ...] = ()


# (field id, dictionary key) -> code, of the terms a request's filters name
Codes = Mapping[tuple[int, str], int]


def filter_keys(table: TableSpec, filters: Filters) -> list[tuple[int, str]]:
    """The dictionary keys of the values of every `is` term that tests codes."""
    keys = {}
    for term in filters.all_terms():
        spec = table.spec(term.field)
        if isinstance(term, Is) and table.coded_filter(spec):
            keys.update(((spec.id, encode_term(v)), None) for v in term.values)
    return list(keys)


def lookup(table: TableSpec, keys: Sequence[tuple[int, str]]) -> Query:
    """
    The codes of dictionary keys and the rows having each: rows (field, key,
    code, count), none for an unknown key; then one row (NULL, NULL, NULL,
    number of rows), for `matching_share`.
    """
    return Query(f'SELECT t.field, t.value, t.code, coalesce(c.n, 0) '
                 f'FROM {table.terms_table} t JOIN '
                 f'(SELECT unnest(?::SMALLINT[]) AS field, unnest(?::VARCHAR[]) AS value) k '
                 f'ON t.field = k.field AND t.value = k.value '
                 f'LEFT JOIN {table.counts_table} c ON c.field = t.field AND c.code = t.code '
                 f'UNION ALL SELECT NULL, NULL, NULL, count(*) FROM {table.table}',
                 ([k[0] for k in keys], [k[1] for k in keys]))


def matching_share(table: TableSpec, filters: Filters, codes: Codes,
                   counts: Mapping[int, int], total: int) -> float | None:
    """
    An estimate of the share of rows matching the filters, from the rows
    having each term (`lookup`), as if the groups were independent: enough to
    choose how `coded_facets` counts. None unless every term tests codes.
    """
    share = 1.0
    for term in filters.all_terms():
        spec = table.spec(term.field)
        if not (isinstance(term, Is) and table.coded_filter(spec)):
            return None
        having = sum(counts.get(codes.get((spec.id, encode_term(v)), -1), 0)
                     for v in term.values)
        part = min(1.0, having / total) if total else 0.0
        share *= 1.0 - part if term.negated else part
    return share


def term_condition(spec: FieldSpec, term: Term, codes: Codes | None = None,
                   single: bool = False) -> Query:
    """
    A boolean SQL expression, never NULL, true iff `matches(term, values)`.
    With `codes` (see `filter_keys`), an `is` term tests the code columns
    (`coded.has_any`; `single`: with the `s{i}` column): a value without a
    code is in no document.
    """
    column = spec.values
    parts, params = [], []
    if isinstance(term, Is) and codes is not None:
        found = sorted({codes[k] for v in term.values
                        if (k := (spec.id, encode_term(v))) in codes})
        text = has_any(spec, found, single)
        return Query(f'(NOT {text})' if term.negated else f'({text})')
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


def condition(table: TableSpec, term: Term, codes: Codes | None) -> Query:
    spec = table.spec(term.field)
    coded = codes is not None and isinstance(term, Is) and table.coded_filter(spec)
    return term_condition(spec, term, codes if coded else None, table.single_spec(spec))


def where(table: TableSpec, filters: Filters, codes: Codes | None = None) -> Query:
    return conjunction([condition(table, t, codes) for t in filters.all_terms()])


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

    A `bounded` page also knows a sort value that no row of the page comes
    after (see `page_bound`): a filter on the sort column alone, which DuckDB
    checks first and cheaply, so that the top-N over two columns (sort value,
    entity id) sees few rows instead of all of them.

    A string sort column with a prefix column (`schema.sort_prefix`) is
    sorted by the prefix first, which orders as the strings do: DuckDB's
    top-N then compares integers where it can (its bound on the first sort
    key prunes rows while scanning), and the strings only between equal
    prefixes. The page's bound and the conditions on the sort column alone
    are then on the prefix.
    """
    sort: Sort
    size: int
    search_after: Cursor | None = None
    search_before: Cursor | None = None
    bound: Any = None
    bounded: bool = False

    def column(self, table: TableSpec) -> str:
        spec = table.spec(self.sort.field)
        if not spec.field.sortable:
            raise InvalidFilterError(f'Field {spec.field.name!r} is not sortable')
        return spec.sort_column

    def key(self, table: TableSpec) -> tuple[str, str, Callable[[Any], Any]]:
        """
        The column the conditions on the sort column alone test, its type,
        and how a cursor's sort value becomes a value of it: the prefix column
        if there is one, else the sort column.
        """
        column = self.column(table)
        spec = table.spec(self.sort.field)
        if table.prefixed_spec(spec):
            return spec.prefix, 'BIGINT', sort_prefix
        return column, sort_type(spec.field.type), lambda value: value

    @property
    def forward(self) -> bool:
        """Whether the rows come in ascending order (else in descending order)."""
        return (self.sort.order == 'asc') != (self.search_before is not None)

    @property
    def cursor(self) -> Cursor | None:
        return self.search_after if self.search_after is not None else self.search_before

    def cursor_condition(self, table: TableSpec) -> Query:
        column = self.column(table)
        kind = sort_type(table.spec(self.sort.field).field.type)
        cursor = self.cursor
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

    def strict_condition(self, table: TableSpec) -> Query | None:
        """
        Rows after the cursor's sort value, a subset of those after the
        cursor that a condition on the sort key alone selects; None for a
        cursor without a value (the page is then sorted by entity id only).
        With a prefix column: rows after the cursor's prefix, a subset of
        those.
        """
        column, kind, convert = self.key(table)
        cursor = self.cursor
        if cursor is None:
            return Query('TRUE')
        value, _ = cursor
        if value is None:
            return None
        if self.forward:
            return Query(f'({column} > ?::{kind} OR {column} IS NULL)', (convert(value),))
        return Query(f'{column} < ?::{kind}', (convert(value),))

    def bound_condition(self, table: TableSpec) -> Query:
        """The rows whose sort key does not come after the bound, in this page's order."""
        if not self.bounded:
            return Query('TRUE')
        column, kind, _ = self.key(table)
        if self.forward:
            return Query(f'{column} <= ?::{kind}', (self.bound,))
        return Query(f'({column} >= ?::{kind} OR {column} IS NULL)', (self.bound,))

    def near_condition(self, table: TableSpec) -> Query:
        """
        The rows whose sort key does not come before the cursor's: implied
        by the cursor's condition, but a filter DuckDB checks on the column
        alone, which with the bound leaves the rows between the two.
        """
        cursor = self.cursor
        if cursor is None or cursor[0] is None:
            return Query('TRUE')
        column, kind, convert = self.key(table)
        if self.forward:
            return Query(f'({column} >= ?::{kind} OR {column} IS NULL)', (convert(cursor[0]),))
        return Query(f'{column} <= ?::{kind}', (convert(cursor[0]),))

    def condition(self, table: TableSpec) -> Query:
        """The cursor's condition, after those on the sort column alone."""
        return conjunction([self.bound_condition(table), self.near_condition(table),
                            self.cursor_condition(table)])

    def order(self, table: TableSpec) -> str:
        column = self.column(table)
        key, _, _ = self.key(table)
        # Sorting by the prefix first changes nothing: it orders as the column does
        columns = [key, column] if key != column else [column]
        if self.forward:
            return ''.join(f'{c} ASC NULLS LAST, ' for c in columns) + 'entity_id ASC'
        return ''.join(f'{c} DESC NULLS FIRST, ' for c in columns) + 'entity_id DESC'


def page_bound(table: TableSpec, filters: Filters, page: PageSpec,
               codes: Codes | None = None) -> Query | None:
    """
    The first sort keys (sort values, or their prefixes), in the page's
    order, of the rows matching the filters and `strict_condition`: a top-N
    over one column, which DuckDB prunes as it goes, where one over two
    columns reads every row. If there are `size` of them, the last one bounds
    the page: those rows are at least `size` rows of the page's candidates
    with a sort key not after it, and a row with a later key comes after each
    of them (a later prefix is a later value), so it is not on the page.
    None: no bound to find.
    """
    strict = page.strict_condition(table)
    if strict is None or page.size <= 0:
        return None
    column, _, _ = page.key(table)
    condition_ = conjunction([where(table, filters, codes), strict])
    direction = 'ASC NULLS LAST' if page.forward else 'DESC NULLS FIRST'
    return Query(f'SELECT {column} FROM {table.table} WHERE {condition_.text} '
                 f'ORDER BY {column} {direction} LIMIT ?', (*condition_.params, page.size))


def page(table: TableSpec, filters: Filters, sort: Sort, size: int,
         search_after: Cursor | None = None, search_before: Cursor | None = None) -> Query:
    """
    One page of hits: rows (entity_id, document, sort value). With
    `search_before` the rows come in reverse order; the caller reverses them.
    """
    return page_of(table, filters, PageSpec(sort, size, search_after, search_before))


def page_of(table: TableSpec, filters: Filters, spec: PageSpec,
            codes: Codes | None = None) -> Query:
    """`page` of a `PageSpec`, which may be bounded; `codes` as for `where`."""
    column = spec.column(table)
    condition_ = conjunction([where(table, filters, codes), spec.condition(table)])
    return Query(f'SELECT entity_id, document, {column} FROM {table.table} '
                 f'WHERE {condition_.text} ORDER BY {spec.order(table)} LIMIT ?',
                 (*condition_.params, spec.size))


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
           own: Sequence[FieldSpec], page: PageSpec | None = None,
           codes: Codes | None = None, complement: bool = False) -> Query:
    """
    Facet counts under non-empty `filters`, and optionally the row ids of a
    page of hits, in one statement: `coded_facets` for a table with code
    columns (`codes` from `filter_keys`), else `row_facets`.
    """
    if codes is not None and all(table.coded_spec(s) for s in [*shared, *own]):
        return coded_facets(table, filters, shared, own, codes, page, complement)
    return row_facets(table, filters, shared, own, page)


def _flags(table: TableSpec, filters: Filters, codes: Codes | None
           ) -> tuple[list[str], list[str], list[Any]]:
    """The groups' names, and their conditions as flags g0, g1, ... with parameters."""
    groups = filters.groups()
    flags, params = [], []
    for i, terms in enumerate(groups.values()):
        condition_ = conjunction([condition(table, t, codes) for t in terms])
        flags.append(f'({condition_.text}) AS g{i}')
        params += condition_.params
    return list(groups), flags, params


def _counted(table: TableSpec, fields: Sequence[FieldSpec]) -> list[str]:
    """Facet rows of the fields' terms: from the counts table, all rows counted."""
    ids = ', '.join(str(f.id) for f in fields)
    return [f'SELECT {FacetRow.TERM}, c.field, t.value, c.n '
            f'FROM {table.counts_table} c JOIN {table.terms_table} t ON t.code = c.code '
            f'WHERE c.field IN ({ids}) AND c.n > 0',
            f'SELECT {FacetRow.SCOPE}, unnest([{ids}]::SMALLINT[]), NULL, count(*) '
            f'FROM {table.table}']


def _page_part(table: TableSpec, page: PageSpec, matching: Query) -> Query:
    order = page.order(table)
    cursor = page.condition(table)
    columns = ', '.join(dict.fromkeys([page.key(table)[0], page.column(table)]))
    return Query(f'SELECT {FacetRow.HIT}, row_number() OVER (ORDER BY {order}), NULL, '
                 f'rowid FROM (SELECT rowid, {columns}, entity_id '
                 f'FROM {table.table} WHERE {matching.text} AND {cursor.text} '
                 f'ORDER BY {order} LIMIT ?)',
                 (*matching.params, *cursor.params, page.size))


def coded_facets(table: TableSpec, filters: Filters, shared: Sequence[FieldSpec],
                 own: Sequence[FieldSpec], codes: Codes, page: PageSpec | None = None,
                 complement: bool = False) -> Query:
    """
    `facets` from the code columns, the filters evaluated once. A first pass
    over the table evaluates the flags g0, g1, ... (one per group of filters,
    by field) and keeps, of the rows failing at most one group, the row id,
    `miss` (the group the row fails, n if it passes all n, -1 if it fails
    more), the page's sort key, and `l`, the `k{i}` of the own facet of the
    group the row fails (NULL for the others): a materialized CTE `f`. The
    long `codes` are not copied into it (that cost more than reading them
    again by row id); the short `k{i}` are, which cost less than one semi
    join per own facet (at 1M bench rows, 500,022 in `f`, about 50 ms of CPU
    for three), and `miss` is a small integer, which a test or a grouping
    reads faster than the flags. Every other part reads `f`:

    - the terms, one aggregate of integers: the `codes` of the rows passing
      every group (every facet's terms), read from the table by row id,
      and `l` (what a facet ignoring its own filter adds);
    - the scopes, from the rows counted by `miss`;
    - the page: the rows passing every group whose sort key is between the
      cursor's and the page's bound (`page_bound` over `f`), then the real
      top-N over those few rows only.

    With `complement` (for filters most rows pass, see `matching_share`)
    `f` has every row, and the codes of the rows passing every group are
    the counts table's less those of the rows that do not: fewer codes to
    count. With a single group, the own facet's rows are all rows, whose
    counts the counts table keeps.
    """
    names, flags, params = _flags(table, filters, codes)
    n = len(names)
    unfiltered = list(own) if n == 1 else []
    partial = [] if n == 1 else list(own)
    everything = ' AND '.join(f'g{i}' for i in range(n))
    counted = [*shared, *partial]
    key = None if page is None else page.key(table)[0]
    if complement:
        kept = 'TRUE'
    elif partial:
        # Rows failing a group count for no facet but an own one
        kept = ' + '.join(f'g{i}::INTEGER' for i in range(n)) + f' >= {n - 1}'
    else:
        kept = everything
    missed = [f'WHEN {everything} THEN {n}']
    for j in range(n):
        others = ' AND '.join(f'g{i}' for i in range(n) if i != j)
        missed.append(f'WHEN {others} THEN {j}' if others else f'WHEN TRUE THEN {j}')
    scopes, counts, branches = ['NULL'], [f'sum(n) FILTER (WHERE miss = {n})'], []
    for spec in partial:
        j = names.index(spec.field.name)
        branches.append(f'WHEN {j} THEN {spec.codes}')
        scopes.append(str(spec.id))
        counts.append(f'sum(n) FILTER (WHERE miss = {n} OR miss = {j})')
    inner = ['rowid AS r', *([key] if key else []), *(s.codes for s in partial), *flags]
    outer = ['r', *([key] if key else []), f'CASE {" ".join(missed)} ELSE -1 END::TINYINT AS miss']
    if branches:
        outer.append(f'CASE miss {" ".join(branches)} END AS l')
    # `miss` and `l` computed above the filter: under it DuckDB would
    # evaluate the flags again in the filter
    ctes = [f'f AS MATERIALIZED (SELECT {", ".join(outer)} FROM (SELECT {", ".join(inner)} '
            f'FROM {table.table}) WHERE {kept})']
    matching = (f'SELECT unnest(codes) AS code FROM {table.table} '
                f'WHERE rowid IN (SELECT r FROM f WHERE miss {{}} {n})')
    ids = ', '.join(str(f.id) for f in counted)
    if counted and complement:
        parts = [f'SELECT code, n FROM {table.counts_table} WHERE field IN ({ids})',
                 f'SELECT code, -count(*) AS n FROM ({matching.format("<>")}) GROUP BY code']
        if branches:
            parts.append('SELECT code, count(*) AS n FROM (SELECT unnest(l) AS code FROM f) '
                         'GROUP BY code')
        ctes.append(f'c AS MATERIALIZED (SELECT code, sum(n)::BIGINT AS n FROM '
                    f'({" UNION ALL ".join(parts)}) GROUP BY code)')
    elif counted:
        sources = [matching.format('=')] + (['SELECT unnest(l) FROM f'] if branches else [])
        ctes.append(f'c AS MATERIALIZED (SELECT code, count(*) AS n FROM '
                    f'({" UNION ALL ".join(sources)}) GROUP BY code)')
    # The scopes from the rows counted by `miss`, a small integer grouped by
    # position (DuckDB's perfect hash), not a filtered count per scope
    rows = [f'SELECT {FacetRow.SCOPE}, unnest([{", ".join(scopes)}]::SMALLINT[]), NULL, '
            f'unnest([{", ".join(f"coalesce({c}, 0)" for c in counts)}]::BIGINT[]) '
            f'FROM (SELECT miss, count(*) AS n FROM f GROUP BY miss)']
    if counted:
        rows.append(f'SELECT {FacetRow.TERM}, t.field, t.value, c.n FROM c '
                    f'JOIN {table.terms_table} t ON t.code = c.code '
                    f'WHERE t.field IN ({ids}) AND c.n > 0')
    if unfiltered:
        rows += _counted(table, unfiltered)
    if page is not None:
        bound, part = _candidate_page(table, page, f'miss = {n}')
        if bound is not None:
            ctes.append(bound.text)
            params += bound.params
        rows.append(part.text)
        params += part.params
    return Query(f'WITH {", ".join(ctes)} ' + ' UNION ALL '.join(rows), tuple(params))


def _candidate_page(table: TableSpec, page: PageSpec, everything: str
                    ) -> tuple[Query | None, Query]:
    """
    The page part of `coded_facets`, from the rows of `f` passing every
    group (flags `everything`): optionally a CTE `b` of the page's bound, as
    `page_bound` finds it but from `f`'s sort keys (NULL: no bound, for fewer
    rows than a page, or a bound the nulls would have to pass), and the
    page's row ids.
    """
    key, _, _ = page.key(table)
    strict = page.strict_condition(table)
    near = page.near_condition(table)
    candidates = Query(f'{everything} AND {near.text}', near.params)
    bound = None
    if strict is not None and page.size > 0:
        if page.forward:
            last, direction = f'CASE WHEN count({key}) = ? THEN max({key}) END', 'ASC NULLS LAST'
            test = f'{key} <= b.bound'
        else:
            # Nulls come first: the last key is NULL only if all are
            last = f'CASE WHEN count(*) = ? AND count({key}) > 0 THEN min({key}) END'
            direction, test = 'DESC NULLS FIRST', f'({key} >= b.bound OR {key} IS NULL)'
        bound = Query(f'b AS (SELECT {last} AS bound FROM (SELECT {key} FROM f '
                      f'WHERE {everything} AND {strict.text} ORDER BY {key} {direction} '
                      f'LIMIT ?))', (page.size, *strict.params, page.size))
        candidates = Query(f'{candidates.text} AND (b.bound IS NULL OR {test})',
                           candidates.params)
    source = 'f, b' if bound is not None else 'f'
    order = page.order(table)
    cursor = page.cursor_condition(table)
    columns = ', '.join(dict.fromkeys([key, page.column(table)]))
    return bound, Query(f'SELECT {FacetRow.HIT}, row_number() OVER (ORDER BY {order}), NULL, '
                        f'rowid FROM (SELECT rowid, {columns}, entity_id FROM {table.table} '
                        f'WHERE rowid IN (SELECT r FROM {source} WHERE {candidates.text}) '
                        f'AND {cursor.text} ORDER BY {order} LIMIT ?)',
                        (*candidates.params, *cursor.params, page.size))


def row_facets(table: TableSpec, filters: Filters, shared: Sequence[FieldSpec],
               own: Sequence[FieldSpec], page: PageSpec | None = None) -> Query:
    """
    Facet counts under non-empty `filters`, and optionally the row ids of a
    page of hits, in one statement, evaluating the filters once. `shared`
    facets see every filter; each of the `own` facets ignores the filter on
    its own field. Filters are grouped by field into flags g0, g1, ...

    The `codes` of the rows passing every group are counted once, for the
    shared and the own facets alike (the long `codes` are read again from the
    table for the matching row ids, which costs less than copying them
    through the materialized rows). An own facet adds the rows that fail its
    own group only, counted from its own column. So the rows kept are those
    failing at most one group, with their row id and the `own` columns (short
    lists), and only if some own facet needs them. With a single group, the
    own facet's rows are all rows, whose counts the counts table keeps.

    Rows (kind, field id, term JSON, count) of the kinds of `FacetRow`; a
    field's term may come in two rows, to be added up; the field id is NULL
    for the scope of the shared facets; a hit of the page is (HIT, position
    from 1, NULL, row id), for `rows`.
    """
    groups = filters.groups()
    names = list(groups)
    flags, params = [], []
    for i, terms in enumerate(groups.values()):
        condition = conjunction([term_condition(table.spec(t.field), t) for t in terms])
        flags.append(f'({condition.text}) AS g{i}')
        params += condition.params
    n = len(groups)
    # Own facets of a single group count every row: the counts table has them
    unfiltered = list(own) if n == 1 else []
    partial = [] if n == 1 else list(own)
    passed = ' + '.join(f'g{i}::INTEGER' for i in range(n))
    everything = ' AND '.join(f'g{i}' for i in range(n))

    def skipped(spec: FieldSpec) -> int:
        return names.index(spec.field.name)

    matching = f'rowid IN (SELECT r FROM m WHERE {everything})'
    parts = []
    counted = [*shared, *partial]
    if counted:
        ids = ', '.join(str(f.id) for f in counted)
        parts.append(f'SELECT {FacetRow.TERM}, t.field, t.value, c.n FROM '
                     f'(SELECT code, count(*) AS n FROM '
                     f'(SELECT unnest(codes) AS code FROM {table.table} WHERE {matching}) '
                     f'GROUP BY code) c '
                     f'JOIN {table.terms_table} t ON t.code = c.code WHERE t.field IN ({ids})')
    # Every scope from one pass over the kept rows
    scopes = ['NULL', *(str(s.id) for s in partial)]
    counts = [f'count(*) FILTER (WHERE {everything})']
    for spec in partial:
        others = ' AND '.join(f'g{i}' for i in range(n) if i != skipped(spec))
        counts.append(f'count(*) FILTER (WHERE {others})')
    parts.append(f'SELECT {FacetRow.SCOPE}, unnest([{", ".join(scopes)}]::SMALLINT[]), NULL, '
                 f'unnest([{", ".join(counts)}]) FROM m')
    for spec in partial:
        value = spec.field.type.duckdb_json
        parts.append(f'SELECT {FacetRow.TERM}, {spec.id}, CASE WHEN v IS NULL THEN NULL '
                     f'ELSE to_json({value})::VARCHAR END, count(*) FROM '
                     f'(SELECT unnest({spec.values}) AS v FROM m WHERE NOT g{skipped(spec)}) '
                     f'GROUP BY v')
    if unfiltered:
        parts += _counted(table, unfiltered)
    if page is not None:
        part = _page_part(table, page, Query(matching))
        parts.append(part.text)
        params += part.params
    columns = ''.join(f'{s.values}, ' for s in partial)
    # Rows failing a group count for no facet but an own one
    threshold = n - 1 if partial else n
    text = (f'WITH m AS MATERIALIZED (SELECT * FROM (SELECT rowid AS r, {columns}'
            f'{", ".join(flags)} FROM {table.table}) WHERE {passed} >= {threshold}) '
            + ' UNION ALL '.join(parts))
    return Query(text, tuple(params))


def scan(table: TableSpec, filters: Filters) -> Query:
    """Entity id and document of every match, in storage order (the caller sorts)."""
    condition = where(table, filters)
    return Query(f'SELECT entity_id, document FROM {table.table} WHERE {condition.text}',
                 condition.params)
