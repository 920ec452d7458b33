"""
Bulk loads (a reindex) into the embedded backend; mixed into `DuckDBBackend`.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from azul.backends.duckdb import replicas as replica_sql

# WAL a load into a live generation accumulates before DuckDB checkpoints
# (see `bulk_load`)
BULK_CHECKPOINT_THRESHOLD = '1GiB'

# DuckDB's threads while a load into a generation being built runs (None:
# as configured). An INSERT of a batch of aggregates from Arrow took a
# third less CPU with one thread than with two: its batches are a few
# thousand rows, too few to share out, and the second thread's share is
# mostly overhead. The commit's checkpoint runs with the configured threads
BULK_THREADS: int | None = 1

# Table data in memory (DuckDB's `IN_MEMORY_TABLE`) that a load into a
# generation being built holds in one transaction before it commits and goes
# on in a new one: the fixtures' whole load, 68 MiB, is one transaction. The
# larger the transactions, the higher the peak RSS: the 10,500 synthetic
# bundles peaked at 1.3 GB committing every write, 1.9 GB with this limit,
# 2.2 GB with 256 MiB and 3.5 GB in one transaction (issue 16)
BULK_TRANSACTION_BYTES = 96 * 1024 * 1024


class DuckDBBulkLoads:

    _building: dict[str, str]
    _local: threading.local
    _replica_keys: dict[str, set[str]]
    _write_lock: threading.RLock

    @contextmanager
    def bulk_load(self, catalog: str) -> Iterator[None]:
        if catalog in self._building:
            with self._bulk_transaction(catalog):
                yield
            return
        # A checkpoint rewrites the indexes of the tables it touches, so the
        # default threshold (a checkpoint per 16 MiB of WAL) would make every
        # batch of a reindex pay for the size of the catalog so far
        with self._write_lock:
            cursor = self._cursor()
            previous = self._checkpoint_threshold(cursor)
            cursor.execute(f"SET checkpoint_threshold = '{BULK_CHECKPOINT_THRESHOLD}'")
        try:
            yield
        finally:
            with self._write_lock:
                self._cursor().execute(f"SET checkpoint_threshold = '{previous}'")
        with self._write_lock:
            self._cursor().execute('CHECKPOINT')

    @contextmanager
    def _bulk_transaction(self, catalog: str) -> Iterator[None]:
        """
        A load into the generation this object builds, as one transaction
        whose commit checkpoints instead of writing the WAL. Committed batch
        by batch, every row went to the WAL and then again, at the final
        checkpoint, to the tables: for the fixtures 265 columns per
        aggregate twice (issue 16). The WAL buys nothing here: a generation
        is read only once switched to, and one that a crash interrupted is
        dropped by the next reindex, however much of it was committed.
        A large load commits along the way (see `BULK_TRANSACTION_BYTES`),
        those commits writing the WAL as before. The write lock is held
        throughout: another thread's write into the generation would
        otherwise commit beside this transaction's snapshot, unseen by
        `load_aggregates`.
        """
        with self._write_lock:
            cursor = self._cursor()
            # The replica tables of a generation being built have no indexes
            # yet: while nothing else writes them, which rows they have is
            # known here, and the load appends without looking them up
            replicas = self._replica_name(catalog)
            fresh = self._exists(replicas) and not self._has_indexes(replicas)
            if fresh:
                self._replica_keys[replicas] = set(replica_sql.stored_keys(cursor, replicas))
            previous = self._checkpoint_threshold(cursor)
            threads = self._setting(cursor, 'threads')
            if BULK_THREADS is not None:
                cursor.execute(f'SET threads = {BULK_THREADS}')
            # For the commits within (see `_bulk_written`), as for a load
            # into a live generation
            cursor.execute(f"SET checkpoint_threshold = '{BULK_CHECKPOINT_THRESHOLD}'")
            cursor.execute('BEGIN TRANSACTION')
            # Joined by every write of this thread (see `_transaction`); the
            # contributions written are not kept for reading back (no
            # `fresh`, unlike `_begin_transaction`): a catalog's worth of them
            local = self._local
            local.in_transaction, local.touched, local.fresh = True, set(), None
            local.bulk_memory = _table_memory(cursor)
            try:
                try:
                    yield
                    if fresh:
                        # Built from all rows at once, before the checkpoint writes them
                        self._index_replicas(cursor, catalog)
                except BaseException:
                    self._end_transaction()
                    cursor.execute('ROLLBACK')
                    raise
                finally:
                    self._replica_keys.pop(replicas, None)
                    local.bulk_memory = None
                self._end_transaction()
                # Past DuckDB's `auto_checkpoint_skip_wal_threshold` (100 kB
                # of estimated WAL), a commit that checkpoints skips the WAL.
                # If another cursor's open transaction keeps the checkpoint
                # from running, the commit writes the WAL as before
                cursor.execute(f'SET threads = {threads}')
                cursor.execute("SET checkpoint_threshold = '0B'")
                self._commit(cursor)
            finally:
                cursor.execute(f'SET threads = {threads}')
                cursor.execute(f"SET checkpoint_threshold = '{previous}'")
            # Whatever the commit left in the WAL
            cursor.execute('CHECKPOINT')

    def _bulk_written(self) -> None:
        """
        After a write of this thread: once the load's transaction holds
        `BULK_TRANSACTION_BYTES` of table data in memory, commit it and go
        on in a new one (not within a caller's `transaction`, which must
        stay whole).
        """
        local = self._local
        start = getattr(local, 'bulk_memory', None)
        if start is None or getattr(local, 'nested', 0):
            return
        cursor = self._cursor()
        if _table_memory(cursor) - start >= BULK_TRANSACTION_BYTES:
            cursor.execute('COMMIT')
            cursor.execute('BEGIN TRANSACTION')
            local.bulk_memory = _table_memory(cursor)

    def _checkpoint_threshold(self, cursor: duckdb.DuckDBPyConnection) -> str:
        return self._setting(cursor, 'checkpoint_threshold')

    def _setting(self, cursor: duckdb.DuckDBPyConnection, name: str) -> str:
        [(value,)] = cursor.execute('SELECT current_setting(?)', [name]).fetchall()
        return value

    def _has_indexes(self, table: str) -> bool:
        rows = self._cursor().execute('SELECT 1 FROM duckdb_indexes() WHERE table_name = ?',
                                      [table]).fetchall()
        return bool(rows)

    def _index_replicas(self, cursor: duckdb.DuckDBPyConnection, catalog: str) -> None:
        name = self._replica_name(catalog)
        if self._exists(name):
            for statement in replica_sql.index_statements(name):
                cursor.execute(statement)


def _table_memory(cursor: duckdb.DuckDBPyConnection) -> int:
    """The bytes of table data that DuckDB holds in memory, committed or not."""
    [(size,)] = cursor.execute("SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT "
                               "FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'").fetchall()
    return size
