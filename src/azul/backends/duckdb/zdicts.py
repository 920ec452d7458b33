"""
The preset dictionaries of packed documents (see `packed`), in one table per
deployment: `{prefix}_{deployment}__zdicts` (id, table_name, dictionary),
`id` the dictionary's Adler-32, which the zlib header of every document
packed with it carries, `table_name` the aggregate table (of its
generation) whose documents are packed with it.

A table's dictionary is chosen from its first written batch and stored in the
transaction that writes that batch, so that whoever sees a document packed
with it sees the dictionary too. It never changes: later batches of the
table use it, and so a reader caches a dictionary by its id for the life of
its connection (`Dictionaries`). Rows stay after their table is dropped by a
switch: a reader may have read a document of the old generation just before
the switch and look its dictionary up just after. They go at the next
switch, when the tables they were made for are gone since a whole reindex.

A missing dictionary (a file damaged, or a row deleted by hand) is an error
that names it, and so is one whose bytes do not have its id (checked once,
when loaded); `packed.inflate` checks each document's own Adler-32, so a
wrong dictionary cannot inflate to garbage either.
"""

import threading
import zlib
from collections.abc import Iterable, Sequence

import duckdb
import orjson

from azul.backends.duckdb.schema import TableSpec
from azul.core.documents import IndexedAggregate
from azul.errors import AzulError

# A dictionary's bytes: zlib's window, of which the last 32,506 bytes are in
# reach of a document's first byte (32 kB less `MIN_LOOKAHEAD`)
SIZE = 32 * 1024 - 262


def create_statement(table: str) -> str:
    # No key: a table has a few rows, read whole, and one dictionary may
    # serve two tables (the same first batch)
    return (f'CREATE TABLE IF NOT EXISTS {table} (id UINTEGER NOT NULL, '
            f'table_name VARCHAR NOT NULL, dictionary BLOB NOT NULL)')


def choose(documents: Sequence[bytes]) -> bytes:
    """
    A dictionary from a batch's JSON documents: the last of them,
    concatenated, up to `SIZE`. zlib codes nearer matches in fewer bits, so
    the batch's order is kept, the last document last.
    """
    return _newest(reversed(documents))


def _newest(documents: Iterable[bytes]) -> bytes:
    """`choose` of documents given newest first, taking only as many as it needs."""
    parts, size = [], 0
    for document in documents:
        parts.append(document)
        size += len(document)
        if size >= SIZE:
            break
    return b''.join(reversed(parts))[-SIZE:]


class Dictionaries:
    """
    The dictionaries of one connection's database, by id; loaded on first use
    through the calling thread's cursor (which sees its own transaction's
    writes) and kept.
    """

    def __init__(self, table: str):
        self.table = table
        self._by_id: dict[int, bytes] = {}
        self._lock = threading.Lock()

    def get(self, cursor: duckdb.DuckDBPyConnection, zdict_id: int) -> bytes:
        zdict = self._by_id.get(zdict_id)
        if zdict is None:
            zdict = self._load(cursor, zdict_id)
        return zdict

    def _load(self, cursor: duckdb.DuckDBPyConnection, zdict_id: int) -> bytes:
        rows = cursor.execute(f'SELECT dictionary FROM {self.table} WHERE id = ? LIMIT 1',
                              [zdict_id]).fetchall()
        if not rows:
            raise AzulError(f'A packed document names zlib dictionary {zdict_id:#010x}, '
                            f'which {self.table} lacks')
        zdict = rows[0][0]
        if zlib.adler32(zdict) != zdict_id:
            # `packed.inflate` leaves this check to us
            raise AzulError(f'The zlib dictionary {zdict_id:#010x} in {self.table} is damaged')
        with self._lock:
            self._by_id[zdict_id] = zdict
        return zdict

    def of_table(self, cursor: duckdb.DuckDBPyConnection, table: TableSpec,
                 documents: Sequence[IndexedAggregate]) -> bytes | None:
        """
        The dictionary to pack a table's new documents with, chosen from
        these if it has none yet; None for a table of JSON text. In the
        caller's write transaction.
        """
        if not table.packed:
            return None
        rows = cursor.execute(f'SELECT id FROM {self.table} WHERE table_name = ?',
                              [table.name]).fetchall()
        if rows:
            return self.get(cursor, rows[0][0])
        if not documents:
            return None
        # Once per table, serializing only the batch's last documents
        zdict = _newest(orjson.dumps(document.aggregate.to_json())
                        for document in reversed(documents))
        while True:
            zdict_id = zlib.adler32(zdict)
            rows = cursor.execute(f'SELECT dictionary FROM {self.table} WHERE id = ? LIMIT 1',
                                  [zdict_id]).fetchall()
            if not rows or rows[0][0] == zdict:
                break
            # Another dictionary has this id: a document names one by its id
            zdict = zdict[1:]
        cursor.execute(f'INSERT INTO {self.table} VALUES (?, ?, ?)',
                       [zdict_id, table.name, zdict])
        # By its content, right even if the transaction rolls back
        with self._lock:
            self._by_id[zdict_id] = zdict
        return zdict

    def forget_dropped(self, cursor: duckdb.DuckDBPyConnection, meta: str) -> None:
        """Deletes the dictionaries of tables no longer registered, see above."""
        cursor.execute(f'DELETE FROM {self.table} WHERE table_name NOT IN '
                       f'(SELECT table_name FROM {meta})')
