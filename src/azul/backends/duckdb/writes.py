"""
Writing aggregates: the version check, the row of the aggregate table, new
entries in the term dictionary and the term counts, all in the caller's
transaction.

A row's version is its `doc` number, drawn from a sequence and never reused,
so that an entity deleted and re-created does not get a version an old reader
still holds (the ABA problem of a per-entity counter).
"""

import base64
import os
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import orjson

from azul.backends.base import AggregateWrite
from azul.backends.duckdb.packed import pack
from azul.backends.duckdb.schema import (
    TableSpec,
    element_type,
    encode_term,
    sort_prefix,
    sort_type,
    sort_value,
    to_column,
)
from azul.core.documents import IndexedAggregate
from azul.core.fields import Value


class AggregateWriter:

    def __init__(self, cursor: duckdb.DuckDBPyConnection, table: TableSpec):
        self._cursor = cursor
        self._table = table

    def write(self, writes: Sequence[AggregateWrite]) -> list[str]:
        # Several writes of one entity in a batch apply in order, each checked
        # against the version the previous one left
        rounds: list[list[AggregateWrite]] = []
        seen: dict[str, int] = {}
        for write in writes:
            n = seen.get(write.entity_id, 0)
            seen[write.entity_id] = n + 1
            if n == len(rounds):
                rounds.append([])
            rounds[n].append(write)
        conflicts = []
        for batch in rounds:
            conflicts += self._write(batch)
        return conflicts

    def _write(self, writes: Sequence[AggregateWrite]) -> list[str]:
        table = self._table
        current = dict(self._cursor.execute(
            f'SELECT entity_id, doc FROM {table.table} '
            f'WHERE entity_id IN (SELECT unnest(?::VARCHAR[]))',
            [[w.entity_id for w in writes]]).fetchall())
        conflicts, applied = [], []
        for write in writes:
            (applied if current.get(write.entity_id) == write.expected else conflicts).append(write)
        old = [current[w.entity_id] for w in applied if w.entity_id in current]
        if old:
            counts = table.counts_table
            self._cursor.execute(
                f'UPDATE {counts} SET n = {counts}.n - d.n FROM '
                f'(SELECT code, count(*) AS n FROM (SELECT unnest(codes) AS code '
                f'FROM {table.table} WHERE doc IN (SELECT unnest(?::BIGINT[]))) GROUP BY code) d '
                f'WHERE {counts}.code = d.code', [old])
            self._cursor.execute(f'DELETE FROM {table.table} WHERE doc IN '
                                 f'(SELECT unnest(?::BIGINT[]))', [old])
        documents = [w.document for w in applied if w.document is not None]
        if documents:
            self.insert(documents)
        return [w.entity_id for w in conflicts]

    def insert(self, documents: Sequence[IndexedAggregate]) -> None:
        """Insert rows for documents known to be absent."""
        table = self._table
        docs = [row[0] for row in self._cursor.execute(
            f"SELECT nextval('{table.doc_sequence}') FROM range(?)",
            [len(documents)]).fetchall()]
        codes = self._term_codes(documents)
        columns = {'doc': 'BIGINT', 'entity_id': 'VARCHAR', 'document': table.document_type,
                   'codes': 'INTEGER[]'}
        coded = [spec.codes for spec in table.facets if table.coded_spec(spec)]
        columns.update((column, 'INTEGER[]') for column in coded)
        # A facet's code where it has one term: by position in `table.facets`
        singles = [(i, spec.single) for i, spec in enumerate(table.facets)
                   if table.single_spec(spec)]
        columns.update((column, 'INTEGER') for _, column in singles)
        # Per field once, not per document: its columns
        plan = []
        for spec in table.fields:
            field = spec.field
            columns[spec.values] = element_type(field.type) + '[]'
            sort_column = prefix = None
            if field.sortable:
                sort_column = spec.sort_column
                columns[sort_column] = sort_type(field.type)
            if table.prefixed_spec(spec):
                prefix = spec.prefix
                columns[prefix] = 'BIGINT'
            plan.append((field, spec.values, sort_column, prefix, field.type.textual))
        # Projections repeat (the project's fields in the aggregate of each of
        # its files, say), so their columns are made once per batch; only
        # those of textual fields, whose values are all strings (as keys,
        # 1, 1.0 and True would be one)
        made: dict[tuple[str, tuple], tuple[list, Any]] = {}
        rows = []
        for doc, document, by_facet in zip(docs, documents, codes, strict=True):
            contents = document.aggregate.to_json()
            row = {'doc': doc, 'entity_id': document.entity_id,
                   'document': pack(contents) if table.packed else orjson.dumps(contents).decode(),
                   'codes': [code for field_codes in by_facet for code in field_codes]}
            if coded:
                row.update(zip(coded, by_facet, strict=True))
            for i, column in singles:
                field_codes = by_facet[i]
                row[column] = field_codes[0] if len(field_codes) == 1 else None
            projections = document.fields
            for field, values, sort_column, prefix, textual in plan:
                projection = projections[field.name]
                columns_of = made.get((values, projection)) if textual else None
                if columns_of is None:
                    columns_of = (to_column(field, projection),
                                  None if sort_column is None else sort_value(field, projection))
                    if textual:
                        made[values, projection] = columns_of
                row[values] = columns_of[0]
                if sort_column is not None:
                    row[sort_column] = columns_of[1]
                    if prefix is not None:
                        row[prefix] = sort_prefix(columns_of[1])
            rows.append(row)
        load_rows(self._cursor, table.table, columns, rows)

    def _term_codes(self, documents: Sequence[IndexedAggregate]) -> list[list[list[int]]]:
        """The codes of each document's terms per facet; counts them in `T__counts`."""
        facets = self._table.facets
        # (field, value) -> dictionary key; values repeat a lot, encoding them does not
        keys: dict[tuple[int, Value], tuple[int, str]] = {}
        for document in documents:
            for spec in facets:
                for value in document.fields[spec.field.name]:
                    if (spec.id, value) not in keys:
                        keys[spec.id, value] = (spec.id, encode_term(value))
        codes = self._codes(list(set(keys.values())))
        by_value = {k: codes[key] for k, key in keys.items()}
        # Per projection of a textual field once, as in `insert`
        plan = [(spec.id, spec.field.name, spec.field.type.textual) for spec in facets]
        made: dict[tuple[int, tuple], list[int]] = {}
        result = []
        for document in documents:
            projections = document.fields
            row = []
            for field_id, name, textual in plan:
                projection = projections[name]
                codes_of = made.get((field_id, projection)) if textual else None
                if codes_of is None:
                    codes_of = [by_value[field_id, value] for value in projection]
                    if textual:
                        made[field_id, projection] = codes_of
                row.append(codes_of)
            result.append(row)
        counts = Counter(code for row in result for field_codes in row for code in field_codes)
        fields = {code: key[0] for key, code in codes.items()}
        table = self._table.counts_table
        if counts:
            self._cursor.execute(
                f'INSERT INTO {table} SELECT unnest(?::SMALLINT[]), unnest(?::INTEGER[]), '
                f'unnest(?::BIGINT[]) ON CONFLICT (field, code) DO UPDATE '
                f'SET n = {table}.n + excluded.n',
                [[fields[c] for c in counts], list(counts), list(counts.values())])
        return result

    def _codes(self, keys: list[tuple[int, str]]) -> dict[tuple[int, str], int]:
        """The dictionary code of every (field, term), assigning new ones as needed."""
        if not keys:
            return {}
        terms = self._table.terms_table
        params = [[k[0] for k in keys], [k[1] for k in keys]]
        wanted = 'SELECT unnest(?::SMALLINT[]) AS field, unnest(?::VARCHAR[]) AS value'
        codes = {(field, value): code for field, value, code in self._cursor.execute(
            f'SELECT t.field, t.value, t.code FROM {terms} t JOIN ({wanted}) k '
            f'ON t.field = k.field AND t.value = k.value', params).fetchall()}
        missing = [k for k in keys if k not in codes]
        if missing:
            params = [[k[0] for k in missing], [k[1] for k in missing]]
            rows = self._cursor.execute(
                f"INSERT INTO {terms} SELECT field, nextval('{self._table.code_sequence}'), "
                f'value FROM ({wanted}) RETURNING field, value, code', params).fetchall()
            codes.update({(field, value): code for field, value, code in rows})
        return codes


# Rows below which `load_rows` binds them as parameters: a temporary file
# has a fixed cost that an incremental write of one bundle would feel
FILE_ROWS = 100


def load_rows(cursor: duckdb.DuckDBPyConnection, table: str, columns: Mapping[str, str],
              rows: list[dict[str, Any]]) -> None:
    """
    Append rows to a table. Converting nested Python lists to DuckDB values
    costs about ten times as much as DuckDB's parsing the same rows from a
    JSON file, so large batches go through a temporary file. BLOB values
    (bytes) go through it in base64.
    """
    names = ', '.join(columns)
    if len(rows) < FILE_ROWS:
        unnest = ', '.join(f'unnest(?::{kind}[])' for kind in columns.values())
        cursor.execute(f'INSERT INTO {table} ({names}) SELECT {unnest}',
                       [[row[name] for row in rows] for name in columns])
        return
    spec = ', '.join(f"{name}: '{'VARCHAR' if kind == 'BLOB' else kind}'"
                     for name, kind in columns.items())
    values = ', '.join(f'from_base64({name})' if kind == 'BLOB' else name
                       for name, kind in columns.items())
    with tempfile.NamedTemporaryFile('wb', suffix='.json', delete=False) as f:
        f.write(orjson.dumps(rows, default=_base64))
    try:
        cursor.execute(f'INSERT INTO {table} ({names}) SELECT {values} FROM '
                       f"read_json(?, format='array', columns={{{spec}}})", [f.name])
    finally:
        os.unlink(f.name)


def _base64(value: Any) -> str:
    # orjson's hook for what it cannot write: only the bytes of BLOB columns
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f'Cannot write {type(value).__name__} to JSON')
