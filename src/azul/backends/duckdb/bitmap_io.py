"""
Reading what the term bitmaps are made of (see `bitmap_store`,
`bitmap_advance`): query results as Arrow buffers, without a Python object
per value.
"""
from array import array
from collections.abc import Iterator

import duckdb
import nanoarrow as na
from pyroaring import BitMap

from azul.backends.duckdb.sql import Query


def size_of(bitmap: BitMap) -> int:
    stats = bitmap.get_statistics()
    return (stats['n_bytes_array_containers'] + stats['n_bytes_run_containers']
            + stats['n_bytes_bitset_containers'])


def args(query: Query) -> tuple[str, tuple]:
    return query.text, query.params


def batches(cursor: duckdb.DuckDBPyConnection, query: Query) -> Iterator:
    """The result's Arrow batches as array views: its buffers, without a Python object per value."""
    relation = cursor.sql(query.text, params=list(query.params) or None)
    for batch in na.c_array_stream(relation):
        yield batch.view()


def buffer(view, typecode: str, extra: int = 0) -> array:
    """The values of an array view's data buffer (`extra` more: a list's last offset)."""
    values = array(typecode)
    values.frombytes(memoryview(view.buffer(1)).cast('B'))
    return values[view.offset:view.offset + view.length + extra]


def unsigned(cursor: duckdb.DuckDBPyConnection, query: Query) -> array:
    """The values of a one-column UINTEGER result."""
    values = array('I')
    for view in batches(cursor, query):
        values.extend(buffer(view.child(0), 'I'))
    return values


def lists(cursor: duckdb.DuckDBPyConnection, query: Query) -> Iterator[tuple[int, array]]:
    """The rows (INTEGER, UINTEGER[]) of a result."""
    for view in batches(cursor, query):
        codes = buffer(view.child(0), 'i')
        column = view.child(1)
        offsets = buffer(column, 'i', extra=1)
        # The offsets index the child's values from the child's own offset on
        child = column.child(0)
        values = array('I')
        values.frombytes(memoryview(child.buffer(1)).cast('B'))
        base = child.offset
        for i, code in enumerate(codes):
            yield code, values[base + offsets[i]:base + offsets[i + 1]]


def pairs(cursor: duckdb.DuckDBPyConnection, query: Query, typecode: str
          ) -> tuple[array, array]:
    """The rows (UINTEGER, value without nulls) of a result, the values as `typecode`."""
    docs, values = array('I'), array(typecode)
    for view in batches(cursor, query):
        docs.extend(buffer(view.child(0), 'I'))
        values.extend(buffer(view.child(1), typecode))
    return docs, values
