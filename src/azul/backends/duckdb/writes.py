"""
Writing aggregates: the version check, the row of the aggregate table, new
entries in the term dictionary and the term counts, all in the caller's
transaction.

A row's version is its `doc` number, drawn from a sequence and never reused,
so that an entity deleted and re-created does not get a version an old reader
still holds (the ABA problem of a per-entity counter).
"""

from collections.abc import Mapping, Sequence
from itertools import chain
from typing import Any

import duckdb
import orjson

from azul import collector
from azul.backends.base import AggregateWrite
from azul.backends.duckdb import sums
from azul.backends.duckdb.columnar import load_columns
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
        # The rows it deleted, by `doc`: the term bitmaps advance by them
        self.deleted: list[int] = []

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
            sums.subtract(self._cursor, table, old)
            self._cursor.execute(f'DELETE FROM {table.table} WHERE doc IN '
                                 f'(SELECT unnest(?::BIGINT[]))', [old])
            self.deleted += old
        documents = [w.document for w in applied if w.document is not None]
        if documents:
            self.insert(documents)
        return [w.entity_id for w in conflicts]

    def insert(self, documents: Sequence[IndexedAggregate]) -> None:
        """Insert rows for documents known to be absent."""
        # A batch makes hundreds of thousands of lists and strings that
        # reference counting frees at its end; the collector's passes over
        # them (and the heap) meanwhile find nothing to collect
        with collector.paused():
            self._insert(documents)

    def _insert(self, documents: Sequence[IndexedAggregate]) -> None:
        table = self._table
        docs = [row[0] for row in self._cursor.execute(
            f"SELECT nextval('{table.doc_sequence}') FROM range(?)",
            [len(documents)]).fetchall()]
        by_facet = self._term_codes(documents)
        columns = {'doc': 'BIGINT', 'entity_id': 'VARCHAR', 'document': table.document_type,
                   'codes': 'INTEGER[]'}
        values: dict[str, list] = {
            'doc': docs,
            'entity_id': [document.entity_id for document in documents],
            'document': [pack(d.aggregate.to_json(), table.zdict) if table.packed
                         else orjson.dumps(d.aggregate.to_json()).decode() for d in documents],
            'codes': ([list(chain.from_iterable(row)) for row in zip(*by_facet, strict=True)]
                      if by_facet else [[] for _ in documents]),
        }
        coded = [spec.codes for spec in table.facets if table.coded_spec(spec)]
        if coded:
            for column, codes in zip(coded, by_facet, strict=True):
                columns[column] = 'INTEGER[]'
                values[column] = codes
        # A facet's code where it has one term (by position in `table.facets`)
        for i, spec in enumerate(table.facets):
            if table.single_spec(spec):
                columns[spec.single] = 'INTEGER'
                values[spec.single] = [c[0] if len(c) == 1 else None for c in by_facet[i]]
        # Column by column: a field's conversions in one loop. Projections
        # repeat (the project's fields in the aggregate of each of its files,
        # say), so a textual field's columns are made once per distinct
        # projection; only those of textual fields, whose values are all
        # strings (as keys, 1, 1.0 and True would be one)
        for spec in table.fields:
            field = spec.field
            name = field.name
            projections = [document.fields[name] for document in documents]
            distinct = dict.fromkeys(projections) if field.type.textual else None
            columns[spec.values] = element_type(field.type) + '[]'
            if distinct is None:
                values[spec.values] = [to_column(field, p) for p in projections]
            else:
                made = {p: to_column(field, p) for p in distinct}
                values[spec.values] = [made[p] for p in projections]
            if field.sortable:
                columns[spec.sort_column] = sort_type(field.type)
                if distinct is None:
                    lows = [sort_value(field, p) for p in projections]
                else:
                    made = {p: sort_value(field, p) for p in distinct}
                    lows = [made[p] for p in projections]
                values[spec.sort_column] = lows
                if table.prefixed_spec(spec):
                    columns[spec.prefix] = 'BIGINT'
                    made = {low: sort_prefix(low) for low in set(lows)}
                    values[spec.prefix] = [made[low] for low in lows]
        load_columns(self._cursor, table.table, columns, values, len(documents))

    def _term_codes(self, documents: Sequence[IndexedAggregate]) -> list[list[list[int]]]:
        """
        The codes of the documents' terms: per facet, each document's list of
        codes. Counts them, and adds the sums of the summed fields, in
        `T__counts` (see `sums`).
        """
        facets = self._table.facets
        # (field, value) -> dictionary key; values repeat a lot, encoding them
        # does not. The keys in the order of documents, then facets: the
        # order of new codes follows it
        keys: dict[tuple[int, Value], tuple[int, str]] = {}
        # A textual field's projections repeat, their values are keys already
        seen: set[tuple[int, tuple]] = set()
        textual = {spec.id: spec.field.type.textual for spec in facets}
        for document in documents:
            for spec in facets:
                projection = document.fields[spec.field.name]
                if textual[spec.id]:
                    if (spec.id, projection) in seen:
                        continue
                    seen.add((spec.id, projection))
                for value in projection:
                    if (spec.id, value) not in keys:
                        keys[spec.id, value] = (spec.id, encode_term(value))
        codes = self._codes(list(set(keys.values())))
        by_value = {k: codes[key] for k, key in keys.items()}
        result = []
        for spec in facets:
            field_id, name = spec.id, spec.field.name
            projections = [document.fields[name] for document in documents]
            if textual[field_id]:
                made = {p: [by_value[field_id, value] for value in p]
                        for p in dict.fromkeys(projections)}
                result.append([made[p] for p in projections])
            else:
                result.append([[by_value[field_id, value] for value in p] for p in projections])
        # Counted in the order of documents, then facets, as the rows of
        # new terms are added to `T__counts` in the order they are first seen
        per_document = (chain.from_iterable(row) for row in zip(*result, strict=True)) \
            if result else ([] for _ in documents)
        summed = self._table.summed_fields
        tally = sums.Tally(summed)
        names = [spec.field.name for spec in summed]
        tally.add(per_document, ([document.fields[name] for name in names]
                                 for document in documents))
        fields = {code: key[0] for key, code in codes.items()}
        sums.upsert(self._cursor, self._table, tally, fields)
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


def load_rows(cursor: duckdb.DuckDBPyConnection, table: str, columns: Mapping[str, str],
              rows: list[dict[str, Any]]) -> None:
    """Append rows to a table (see `columnar.load_columns`)."""
    load_columns(cursor, table, columns, {name: [row[name] for row in rows] for name in columns},
                 len(rows))
