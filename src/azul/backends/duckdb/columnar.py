"""
Rows handed to DuckDB as Arrow columns.

A batch of aggregates is 226 columns of a few thousand rows, mostly short
lists. DuckDB converts nested Python lists value by value (about ten times
as slowly as it parses the same rows from JSON), and the JSON detour costs
the encoding, the file, the parse and base64 for the packed documents. An
Arrow array is read by DuckDB's scan as it is, and nanoarrow builds one from
Python lists in C: flat values and offsets per list column, without a row
dict per row. nanoarrow (a 1.2 MB wheel) rather than pyarrow (55 MB): it
builds arrays of primitive values and strings from Python sequences, which is
all this needs, the lists being assembled here from their offsets.
"""

import itertools
import re
from array import array
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
import nanoarrow as na

# DuckDB's scalar types as Arrow types
_SCALARS = {
    'BIGINT': na.int64(),
    'INTEGER': na.int32(),
    'SMALLINT': na.int16(),
    'DOUBLE': na.float64(),
    'BOOLEAN': na.bool_(),
    'VARCHAR': na.string(),
    'BLOB': na.binary(),
    # Strings that INSERT casts to the column's type
    'UUID': na.string(),
}

_struct_re = re.compile(r'^STRUCT\((.*)\)$')


def load_columns(cursor: duckdb.DuckDBPyConnection, table: str, columns: Mapping[str, str],
                 values: Mapping[str, Sequence[Any]], length: int) -> None:
    """
    Append `length` rows to a table, given column by column: `values[name]`
    is the column's values, one per row, as Python values of the column's
    DuckDB type in `columns` (lists for `T[]`, dicts for STRUCTs, bytes for
    BLOB, None for NULL, but not for a whole list: the list columns written
    are NOT NULL).
    """
    with registered(cursor, columns, values, length) as view:
        cursor.execute(f'INSERT INTO {table} ({", ".join(columns)}) SELECT * FROM {view}')


@contextmanager
def registered(cursor: duckdb.DuckDBPyConnection, columns: Mapping[str, str],
               values: Mapping[str, Sequence[Any]], length: int) -> Iterator[str]:
    """The columns (as `load_columns` takes them) as a view of the cursor, by its name."""
    arrays = [_column(kind, values[name]) for name, kind in columns.items()]
    schema = na.struct({name: a.schema for name, a in zip(columns, arrays, strict=True)})
    batch = na.Array(na.c_array_from_buffers(schema, length, [None], children=arrays))
    view = '_azul_columns'
    cursor.register(view, batch)
    try:
        yield view
    finally:
        cursor.unregister(view)


def _column(kind: str, values: Sequence[Any]) -> Any:
    if kind.endswith('[]'):
        offsets = array('i', [0])
        offsets.extend(itertools.accumulate(map(len, values)))
        child = _column(kind[:-2], list(itertools.chain.from_iterable(values)))
        return na.c_array_from_buffers(na.list_(child.schema), len(values),
                                       [None, offsets], children=[child])
    match = _struct_re.match(kind)
    if match:
        fields = [f.strip().split(' ', 1) for f in match.group(1).split(',')]
        children = [_column(field_kind, [None if v is None else v[name] for v in values])
                    for name, field_kind in fields]
        valid = [v is not None for v in values]
        schema = na.struct({name: child.schema
                            for (name, _), child in zip(fields, children, strict=True)})
        return na.c_array_from_buffers(schema, len(values),
                                       [None if all(valid) else na.c_buffer(valid, na.bool_())],
                                       children=children)
    return na.c_array(values, _SCALARS[kind])
