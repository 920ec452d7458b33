"""
SQL of the term bitmaps (see `bitmaps`): what builds them and what reads the
page's documents by `doc`. Apart from `sql` for its size.
"""
from collections.abc import Iterable, Sequence

from azul.backends.duckdb.schema import FieldSpec, TableSpec, sort_type
from azul.backends.duckdb.sql import PageSpec, Query, conjunction


def documents(table: TableSpec) -> Query:
    """Every document's `doc`, as the bitmaps hold it (unsigned 32-bit)."""
    return Query(f'SELECT doc::UINTEGER FROM {table.table}')


def extent(table: TableSpec) -> Query:
    """The number of documents and the largest `doc`: one past 2**32 - 1 has no bitmap."""
    return Query(f'SELECT count(*), max(doc) FROM {table.table}')


def dictionary(table: TableSpec) -> Query:
    return Query(f'SELECT code, value FROM {table.terms_table}')


def table_oid(table: TableSpec) -> Query:
    """
    The catalog entry of the table, or of the view of the live generation's
    table (see `backend._view_statements`): new whenever either is made again.
    """
    where = ('WHERE database_name = current_database() AND schema_name = current_schema() '
             'AND {}_name = ?')
    return Query(f'SELECT table_oid FROM duckdb_tables() {where.format("table")} UNION ALL '
                 f'SELECT view_oid FROM duckdb_views() {where.format("view")}',
                 (table.name, table.name))


def term_documents(table: TableSpec, spec: FieldSpec) -> Query:
    """
    Per code of a facet field, the documents having it. One field at a
    time, from its `k{i}`: the whole `codes` at once held three times the
    memory in DuckDB at 1M bench rows (430 against 190 MB more RSS) for no
    less CPU; sorting each list cost three times the CPU.
    """
    return Query(f'SELECT code, list(doc::UINTEGER) FROM (SELECT doc, unnest({spec.codes}) '
                 f'AS code FROM {table.table}) GROUP BY code')


def added_codes(table: TableSpec, after: int) -> Query:
    """
    The documents numbered above `after` and the codes of each facet field's
    terms of each (`k{i}`, in the order of `table.facets`). One plain scan of
    the new rows: a statement per field, or one of a branch per field, cost
    ~1 ms per field to prepare at 1M rows.
    """
    codes = ', '.join(spec.codes for spec in table.facets)
    return Query(f'SELECT doc::UINTEGER, {codes} FROM {table.table} WHERE doc > ?', (after,))


def values_of(table: TableSpec, codes: Sequence[int]) -> Query:
    """The dictionary's values of the codes."""
    return Query(f'SELECT code, value FROM {table.terms_table} '
                 f'WHERE code IN (SELECT unnest(?::INTEGER[]))', (list(codes),))


def present(table: TableSpec, docs: Iterable[int]) -> Query:
    """How many of the documents the table has."""
    return Query(f'SELECT count(*) FROM {table.table} WHERE doc IN (SELECT unnest(?::BIGINT[]))',
                 (list(docs),))


def documents_after(table: TableSpec, after: int) -> Query:
    """The documents numbered above `after`: those written since bitmaps of `after`."""
    return Query(f'SELECT doc::UINTEGER FROM {table.table} WHERE doc > ?', (after,))


def order(table: TableSpec, page: PageSpec) -> Query:
    """Every document's `doc` in the page's order."""
    return Query(f'SELECT doc::UINTEGER FROM {table.table} ORDER BY {page.order(table)}')


def order_keys(table: TableSpec, page: PageSpec) -> Query:
    """The `doc` and key (`PageSpec.key`) of every document that has one, in no order."""
    key, _, _ = page.key(table)
    return Query(f'SELECT doc::UINTEGER, {key} FROM {table.table} WHERE {key} IS NOT NULL')


def order_values(table: TableSpec, page: PageSpec, after: int | None = None,
                 docs: Sequence[int] = ()) -> Query:
    """
    The `doc`, key, sort value and entity id of the documents numbered above
    `after`, or else of the given ones.
    """
    key, _, _ = page.key(table)
    columns = f'doc::UINTEGER, {key}, {page.column(table)}, entity_id'
    if after is not None:
        return Query(f'SELECT {columns} FROM {table.table} WHERE doc > ?', (after,))
    return Query(f'SELECT {columns} FROM {table.table} WHERE doc IN (SELECT unnest(?::BIGINT[]))',
                 (list(docs),))


def cursor_document(table: TableSpec, page: PageSpec) -> Query:
    """
    The `doc` of the row the page's cursor names, if it still has the
    cursor's sort value: then the page starts next to it in the order. The
    prefix column, if any, is tested first (an integer, cheaply).
    """
    assert page.cursor is not None
    value, entity_id = page.cursor
    column = page.column(table)
    if value is None:
        test = Query(f'{column} IS NULL')
    else:
        kind = sort_type(table.spec(page.sort.field).field.type)
        test = Query(f'{column} = ?::{kind}', (value,))
        key, key_kind, convert = page.key(table)
        if key != column:
            test = conjunction([Query(f'{key} = ?::{key_kind}', (convert(value),)), test])
    return Query(f'SELECT doc FROM {table.table} WHERE {test.text} AND entity_id = ?',
                 (*test.params, entity_id))


def page_among(table: TableSpec, page: PageSpec, docs: Sequence[int]) -> Query:
    """The `doc` of the page's rows among the given documents, in the page's order."""
    cursor = page.cursor_condition(table)
    return Query(f'SELECT doc FROM {table.table} WHERE doc IN (SELECT unnest(?::BIGINT[])) '
                 f'AND {cursor.text} ORDER BY {page.order(table)} LIMIT ?',
                 (list(docs), *cursor.params, page.size))


def rows(table: TableSpec, page: PageSpec, docs: Sequence[int]) -> Query:
    """The hits by `doc`: rows (doc, entity_id, document, sort value)."""
    return Query(f'SELECT doc, entity_id, document, {page.column(table)} FROM {table.table} '
                 f'WHERE doc IN (SELECT unnest(?::BIGINT[]))', (list(docs),))
