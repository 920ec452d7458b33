"""
The term bitmaps and sort orders of a backend object (see `bitmaps`): built
in a background thread on demand, one build at a time, and held within a
size limit.

Why on demand and in the background: a build reads every row (~2 s of CPU
at 1M bench rows), which no request should wait for; until a build for the
current content version is done, requests take the SQL path. Why never
stale: a build reads the content version in the snapshot it reads the rows
in, and a request uses the bitmaps only if they are of the version it reads
in its own snapshot; every write of content stamps a new version, so a write
makes the bitmaps unused until the next build, or rather, where the write
changed little, until they have advanced to the new version (`bitmap_advance`:
tens of ms at 1M). Writes faster than that just mean the SQL path.
"""
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping, Sequence
from types import MappingProxyType

import attrs
import duckdb
import numpy as np
from pyroaring import BitMap

from azul.backends.duckdb import bitmap_io, bitmap_queries
from azul.backends.duckdb.bitmap_advance import advance, advance_order
from azul.backends.duckdb.bitmaps import FacetTerm, SortOrder, TermBitmaps
from azul.backends.duckdb.doc_values import build_values
from azul.backends.duckdb.schema import TableSpec, decode_term
from azul.backends.duckdb.sql import PageSpec
from azul.core.search import Sort

log = logging.getLogger(__name__)

# Bytes of bitmaps and orders a backend object holds: at 1M bench rows
# the bitmaps of the files table take 32 MB and an order 4 MB
BITMAP_LIMIT = 256 * 2 ** 20

# Documents a table needs for its bitmaps to be built: below this DuckDB
# counts a filtered search's facets in a few ms
BITMAP_MIN_ROWS = 100_000

# Sort orders held per table
ORDERS = 4

# A table's next build of bitmaps starts no sooner than this many times the
# wall time of its last one after that one ended: under continuous writes
# every version is new, and back-to-back builds would take a core for
# bitmaps that are used by few requests, if any
BUILD_PAUSE = 10

# How long a filtered request waits for an advance of its table's bitmaps
# that is under way (see `current`): three times the table's last
# advance, within these bounds. At 1M rows an advance takes ~50 to 100 ms
# and the SQL path ~200 ms.
ADVANCE_WAIT_MIN = 0.05
ADVANCE_WAIT_MAX = 0.25

# The types of sort keys that an order keeps to advance by (see `bitmap_advance`)
NUMERIC_KEYS = {'BIGINT': 'q', 'INTEGER': 'i', 'DOUBLE': 'd'}

# (catalog, table name)
TableKey = tuple[str, str]

ReadVersion = Callable[[duckdb.DuckDBPyConnection], str]


@attrs.frozen
class _Job:
    """A build or advance of a table's bitmaps, and of a sort's order."""
    key: TableKey
    table: TableSpec
    read_version: ReadVersion
    sort: Sort | None
    # Whether a full build may run (else only an advance)
    full: bool


class BitmapStore:
    """The bitmaps of each table's latest built version, and their sort orders."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, limit: int = BITMAP_LIMIT,
                 min_rows: int = BITMAP_MIN_ROWS):
        self.limit = limit
        self.min_rows = min_rows
        self._connection = connection
        self._lock = threading.Lock()
        self._bitmaps: dict[TableKey, TermBitmaps] = {}
        self._orders: dict[TableKey, OrderedDict[str, SortOrder]] = {}
        # (table, version) whose bitmaps exceeded the limit: not built again
        self._refused: set[tuple[TableKey, str]] = set()
        # Table -> when its last build of bitmaps may be followed by another
        self._paused: dict[TableKey, float] = {}
        # Table -> when its last advance of bitmaps may be followed by another
        self._advance_paused: dict[TableKey, float] = {}
        # Tables whose advance is asked for or under way, and the wall time
        # of each table's last advance; `_changed` tells waiters one ended
        self._advancing: set[TableKey] = set()
        self._advance_wall: dict[TableKey, float] = {}
        self._changed = threading.Condition(self._lock)
        # Table -> rows that commits deleted, as they told (see `written`):
        # those not yet out of the held bitmaps' rows
        self._deleted: dict[TableKey, BitMap] = {}
        # Table -> the held bitmaps that could not advance, if any
        self._stuck: dict[TableKey, TermBitmaps] = {}
        # Table -> its layout and how to read its content version, as last requested
        self._sources: dict[TableKey, tuple[TableSpec, ReadVersion]] = {}
        self._thread: threading.Thread | None = None
        # Whether the thread of builds runs, and the jobs it takes next
        self._running = False
        self._pending: dict[tuple[TableKey, Sort | None], _Job] = {}
        self._building: duckdb.DuckDBPyConnection | None = None
        self._closed = False

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def bitmaps(self, key: TableKey, version: str) -> TermBitmaps | None:
        """The table's bitmaps if they are of `version`."""
        with self._lock:
            found = self._bitmaps.get(key)
        return found if found is not None and found.version == version else None

    def order(self, key: TableKey, version: str, column: str) -> SortOrder | None:
        with self._lock:
            orders = self._orders.get(key, {})
            found = orders.get(column)
            if found is not None:
                orders.move_to_end(column)
        return found if found is not None and found.version == version else None

    @property
    def nbytes(self) -> int:
        with self._lock:
            return self._held()

    def _held(self) -> int:
        return (sum(b.nbytes for b in self._bitmaps.values())
                + sum(o.nbytes for orders in self._orders.values() for o in orders.values()))

    def request(self, key: TableKey, table: TableSpec, version: str, sort: Sort | None,
                read_version: ReadVersion) -> bool:
        """
        Start a build of the table's bitmaps for `version`, and of the
        sort's order, unless one runs or they are held: whether it started.
        `read_version` reads the content version with a cursor in the build's
        snapshot.
        """
        if not self.enabled or self._closed or not table.coded:
            return False
        with self._lock:
            self._sources[key] = (table, read_version)
        column = None if sort is None else PageSpec(sort, 0).column(table)
        held = self.bitmaps(key, version) is not None
        if held and (column is None or self.order(key, version, column) is not None):
            return False
        with self._lock:
            if (key, version) in self._refused:
                return False
            # An order alone is cheap (~0.3 s of CPU at 1M rows): not paused.
            # Bitmaps of an older version advance, paused after an advance
            # (a full build, if they cannot, waits for its own pause)
            paused = self._advance_paused if self._advanceable(key) else self._paused
            if not held and time.monotonic() < paused.get(key, 0):
                return False
            self._start([_Job(key, table, read_version, sort, True)])
        return True

    def written(self, catalogs: Collection[str],
                deleted: Mapping[TableKey, Sequence[int]] = MappingProxyType({})) -> None:
        """
        After a commit that wrote to the catalogs, deleting the given rows of
        tables: their held bitmaps advance in the background now, rather than
        on the next filtered request, which would take the SQL path
        meanwhile. Only advances: a full build waits for a request.
        """
        if not catalogs or self._closed:
            return
        now = time.monotonic()
        with self._lock:
            for key, docs in deleted.items():
                if key in self._bitmaps:
                    self._deleted.setdefault(key, BitMap()).update(docs)
            jobs = [_Job(key, *self._sources[key], None, False) for key in self._bitmaps
                    if key[0] in catalogs and key in self._sources and self._advanceable(key)
                    and now >= self._advance_paused.get(key, 0)]
            if jobs:
                self._advancing.update(job.key for job in jobs)
                self._start(jobs)

    def current(self, key: TableKey, version: str) -> TermBitmaps | None:
        """
        The table's bitmaps of `version`, waiting for an advance under way
        that makes them if it does so soon: a request's wait instead of the
        SQL path, which costs more than an advance.
        """
        with self._changed:
            wall = self._advance_wall.get(key, ADVANCE_WAIT_MAX)
            deadline = time.monotonic() + max(ADVANCE_WAIT_MIN, min(ADVANCE_WAIT_MAX, 3 * wall))
            while True:
                found = self._bitmaps.get(key)
                if found is not None and found.version == version:
                    return found
                remaining = deadline - time.monotonic()
                if key not in self._advancing or remaining <= 0:
                    return None
                self._changed.wait(remaining)

    def _advanceable(self, key: TableKey) -> bool:
        """Whether the table has bitmaps that may advance. Under `_lock`."""
        held = self._bitmaps.get(key)
        return held is not None and self._stuck.get(key) is not held

    def _start(self, jobs: list['_Job']) -> None:
        """
        Run the jobs in the thread of builds, starting it unless it runs;
        one that runs takes them after its own (the latest of a table and
        sort). Under `_lock`.
        """
        if self._running:
            self._pending.update(((job.key, job.sort), job) for job in jobs)
            return
        self._running = True
        thread = threading.Thread(target=self._work, args=(jobs,), name='azul-bitmaps',
                                  daemon=True)
        self._thread = thread
        thread.start()

    def _work(self, jobs: list['_Job']) -> None:
        try:
            while True:
                for job in jobs:
                    if self._closed:
                        break
                    self._build(job.key, job.table, job.sort, job.read_version, job.full)
                with self._lock:
                    jobs = [] if self._closed else list(self._pending.values())
                    self._pending.clear()
                    if not jobs:
                        self._running = False
                        return
        except BaseException:
            with self._lock:
                self._running = False
            raise

    def wait(self, timeout: float | None = None) -> None:
        """Until the running builds, if any, have ended (for tests and benchmarks)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def close(self) -> None:
        """Stop a running build: it holds a cursor, which the connection's close waits for."""
        self._closed = True
        building = self._building
        if building is not None:
            try:
                building.interrupt()
            except duckdb.Error:
                pass
        self.wait(10)

    def _build(self, key: TableKey, table: TableSpec, sort: Sort | None,
               read_version: ReadVersion, full: bool = True) -> None:
        cursor = self._connection.cursor()
        self._building = cursor
        try:
            cursor.execute('BEGIN TRANSACTION')
            version = read_version(cursor)
            if version == 'none':
                # Content without versions (a file made before them) may change unseen
                return
            bitmaps = self.bitmaps(key, version)
            if bitmaps is None:
                start = time.process_time()
                advanced = self._advanced(key, cursor, table, version)
                if advanced is not None:
                    bitmaps, orders = advanced
                    if not self._keep(key, bitmaps):
                        return
                    for order in orders:
                        self._keep_order(key, order)
                    log.debug('Advanced the term bitmaps of %s to version %s: %.3f s of CPU',
                              key, version, time.process_time() - start)
                elif not full or time.monotonic() < self._paused.get(key, 0):
                    # A full build waits for its pause, advances do not
                    return
                else:
                    wall = time.monotonic()
                    try:
                        bitmaps = build_bitmaps(cursor, table, version, self.limit)
                    finally:
                        ended = time.monotonic()
                        with self._lock:
                            self._paused[key] = ended + BUILD_PAUSE * (ended - wall)
                    if bitmaps is None or not self._keep(key, bitmaps):
                        with self._lock:
                            self._refused.add((key, version))
                        return
                    log.info('Built the term bitmaps of %s at version %s: %d bytes, '
                             '%.2f s of CPU', key, version, bitmaps.nbytes,
                             time.process_time() - start)
            if sort is not None:
                column = PageSpec(sort, 0).column(table)
                if self.order(key, version, column) is None:
                    self._keep_order(key, build_order(cursor, table, sort, version))
        except duckdb.Error as e:
            # Interrupted by `close`, or the table changed under the build:
            # requests keep the SQL path
            log.warning('No term bitmaps for %s: %s', key, e)
        finally:
            self._building = None
            with self._changed:
                # What it advanced is kept by now
                self._advancing.discard(key)
                self._changed.notify_all()
            try:
                cursor.execute('ROLLBACK')
            except duckdb.Error:
                pass
            cursor.close()

    def _advanced(self, key: TableKey, cursor: duckdb.DuckDBPyConnection, table: TableSpec,
                  version: str) -> tuple[TermBitmaps, list[SortOrder]] | None:
        """
        The held bitmaps of an older version advanced to `version`, and its
        orders that can be, if they can be.
        """
        with self._lock:
            if not self._advanceable(key):
                return None
            old = self._bitmaps[key]
            orders = list(self._orders.get(key, {}).values())
            reported = BitMap(self._deleted.get(key, ()))
            self._advancing.add(key)
        wall = time.monotonic()
        try:
            bitmaps = advance(cursor, table, old, version, self.limit, reported)
            if bitmaps is None:
                # Nor will they later: from these, only a full build
                with self._lock:
                    self._stuck[key] = old
                return None
            removed = old.rows - bitmaps.rows
            after = old.rows.max() if old.rows else -1
            advanced = (advance_order(cursor, table, order, version, removed, after)
                        for order in orders if order.version == old.version)
            return bitmaps, [order for order in advanced if order is not None]
        finally:
            ended = time.monotonic()
            with self._lock:
                self._advance_paused[key] = ended + BUILD_PAUSE * (ended - wall)
                self._advance_wall[key] = ended - wall

    def _keep(self, key: TableKey, bitmaps: TermBitmaps) -> bool:
        with self._lock:
            if self._closed:
                return False
            old = self._bitmaps.pop(key, None)
            # The orders of an older version are of no use either, nor what
            # says that it could not advance (and holds it)
            orders = self._orders.pop(key, None)
            self._stuck.pop(key, None)
            if self._held() + bitmaps.nbytes > self.limit and bitmaps.values is not None:
                # Other tables' bitmaps hold part of the limit: the bitmaps without values
                bitmaps = attrs.evolve(bitmaps, values=None,
                                       nbytes=bitmaps.nbytes - bitmaps.values.nbytes)
            if self._held() + bitmaps.nbytes > self.limit:
                if old is not None:
                    self._bitmaps[key] = old
                if orders is not None:
                    self._orders[key] = orders
                return False
            self._bitmaps[key] = bitmaps
            reported = self._deleted.get(key)
            if reported is not None:
                # Rows out of these bitmaps' rows are out of every later version's
                reported &= bitmaps.rows
            return True

    def _keep_order(self, key: TableKey, order: SortOrder) -> None:
        with self._lock:
            orders = self._orders.setdefault(key, OrderedDict())
            orders.pop(order.column, None)
            while orders and (len(orders) >= ORDERS
                              or self._held() + order.nbytes > self.limit):
                orders.popitem(last=False)
            if self._held() + order.nbytes <= self.limit:
                orders[order.column] = order


def build_bitmaps(cursor: duckdb.DuckDBPyConnection, table: TableSpec, version: str,
                  limit: int) -> TermBitmaps | None:
    """
    The table's bitmaps and the values of its documents (`doc_values`),
    read in the cursor's snapshot; None if the bitmaps are over `limit`
    bytes, and no values if those are.
    """
    entries = cursor.execute(*bitmap_io.args(bitmap_queries.table_oid(table))).fetchall()
    # Without one entry, never advanced
    oid = entries[0][0] if len(entries) == 1 else None
    [(_, top)] = cursor.execute(*bitmap_io.args(bitmap_queries.extent(table))).fetchall()
    if top is not None and top >= 2 ** 32:
        return None
    rows = BitMap(bitmap_io.unsigned(cursor, bitmap_queries.documents(table)))
    rows.run_optimize()
    nbytes = bitmap_io.size_of(rows)
    values = dict(cursor.execute(*bitmap_io.args(bitmap_queries.dictionary(table))).fetchall())
    fields, keys = {}, {}
    for spec in table.facets:
        terms = []
        for code, docs in bitmap_io.lists(cursor, bitmap_queries.term_documents(table, spec)):
            bitmap = BitMap(docs)
            bitmap.run_optimize()
            bitmap.shrink_to_fit()
            nbytes += bitmap_io.size_of(bitmap)
            if nbytes > limit:
                return None
            value = values[code]
            keys[spec.id, value] = bitmap
            terms.append(FacetTerm(bitmap, decode_term(spec.field, value)))
        fields[spec.id] = tuple(terms)
    # In the bitmaps' limit, without them if they do not fit beside the bitmaps
    values = build_values(cursor, table, rows, fields, limit - nbytes)
    if values is not None:
        nbytes += values.nbytes
    return TermBitmaps(version=version, rows=rows, fields=fields, keys=keys, nbytes=nbytes,
                       values=values, oid=oid)


def build_order(cursor: duckdb.DuckDBPyConnection, table: TableSpec, sort: Sort,
                version: str) -> SortOrder:
    ascending = PageSpec(Sort(sort.field, 'asc'), 0)
    column = ascending.column(table)
    kind = NUMERIC_KEYS.get(ascending.key(table)[1])
    if kind is None:
        docs = bitmap_io.unsigned(cursor, bitmap_queries.order(table, ascending))
        return SortOrder(version=version, column=column, docs=docs.tobytes())
    # The keys by a scan in no order, put in the order's: projecting them in
    # the sort cost it twice the CPU (~0.75 against ~0.3 s at 1M rows)
    docs = np.frombuffer(bitmap_io.unsigned(cursor, bitmap_queries.order(table, ascending)),
                         dtype=np.uint32)
    keyed, keys = bitmap_io.pairs(cursor, bitmap_queries.order_keys(table, ascending), kind)
    keyed = np.frombuffer(keyed, dtype=np.uint32)
    by_doc = np.zeros(int(keyed.max()) + 1 if len(keyed) else 0, dtype=np.dtype(kind))
    by_doc[keyed] = np.frombuffer(keys, dtype=np.dtype(kind))
    # Null keys come last: the first documents of the order are those with one
    return SortOrder(version=version, column=column, docs=docs.tobytes(), sort=ascending.sort,
                     keys=by_doc[docs[:len(keyed)]])
