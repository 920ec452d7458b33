"""
The embedded backend: every index of a deployment is a set of tables in one
DuckDB database file (layout in `schema`, SQL in `sql`).

Threads: the local server runs request handlers and an indexer worker in one
process. DuckDB allows one writable database instance per file per process,
so we hold one connection and give each thread its own cursor (a cursor is a
connection to the same database with its own transaction context; DuckDB's
MVCC lets readers run while a write transaction is open). Writes take a lock:
DuckDB would abort a second concurrent writer of the same rows with a
transaction conflict, which the lock turns into plain waiting.

Generations (see `azul.backends.base`): the tables of an index are named
after its generation and registered with it in the `__meta` table; the
`__live` table holds each catalog's live generation (none: the tables
without one, under the plain names). Searches read an aggregate index by
its plain names, which after a reindex are views of the live generation's
three tables (rows, facet counts, dictionary), so that a read costs no
lookup and the counts and codes always come from the same generation as
the rows. The switch is one transaction: the old generation's tables and
views dropped, the new views, the new pointer. Writers, and the rarer
reads of contributions and replicas, look the live generation up first.
Nothing writes a catalog during its reindex but the reindexing process: a
DuckDB file has one writer, so the server cannot run alongside it.
"""

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from uuid import uuid4

import attrs
import duckdb
import orjson

from azul.backends.base import (
    AggregateWrite,
    Replica,
    SearchBackend,
    VersionedAggregate,
    index_name,
    replica_index_name,
    split_generation,
)
from azul.backends.duckdb import contributions as packing
from azul.backends.duckdb import replicas as replica_sql
from azul.backends.duckdb import sql, zdicts
from azul.backends.duckdb.bitmap_store import BITMAP_LIMIT, BITMAP_MIN_ROWS, BitmapStore
from azul.backends.duckdb.bulk import DuckDBBulkLoads
from azul.backends.duckdb.cache import CACHE_SIZE, ResultCache
from azul.backends.duckdb.columnar import load_columns
from azul.backends.duckdb.contributions import contribution_inner_table
from azul.backends.duckdb.packed import unpack
from azul.backends.duckdb.reads import DuckDBReads
from azul.backends.duckdb.schema import (
    TableSpec,
    contribution_create_statement,
    contribution_drop_statements,
    contribution_inner_create_statement,
    ident,
)
from azul.backends.duckdb.writes import AggregateWriter
from azul.backends.duckdb.zdicts import Dictionaries
from azul.core.documents import Aggregate, BundleFQID, Contribution, IndexedAggregate
from azul.core.fields import Field, FieldRegistry, FieldType
from azul.errors import BadRequestError, ServiceUnavailableError

# Tries of `close` while another thread's call is running, 100 ms apart
CLOSE_ATTEMPTS = 50

# The `entity_type` under which a catalog's replica table is registered
REPLICA_ENTITY_TYPE = '__replica'


class DuckDBBackend(DuckDBBulkLoads, DuckDBReads, SearchBackend):

    def __init__(self, path: Path | str, prefix: str, deployment: str,
                 memory_limit: str | None = None, result_cache: bool = True,
                 bitmap_limit: int = BITMAP_LIMIT, bitmap_min_rows: int = BITMAP_MIN_ROWS):
        self._prefix = prefix
        self._deployment = deployment
        self._meta = ident(f'{prefix}_{deployment}__meta')
        self._live = ident(f'{prefix}_{deployment}__live')
        # Catalog -> the generation this object builds for it, see `begin_generation`
        self._building: dict[str, str] = {}
        # Replica table -> the key of every row it has, while a bulk load
        # fills it without indexes (see `bulk_load`)
        self._replica_keys: dict[str, set[str]] = {}
        # Catalog -> entity type -> the entities `write_aggregates` wrote into
        # the generation this object builds: as nothing else writes there,
        # the only aggregates a bulk load can find stored (`load_aggregates`)
        self._written: dict[str, dict[str, set[str]]] = {}
        self._content = ident(f'{prefix}_{deployment}__content')
        self._zdicts = Dictionaries(ident(f'{prefix}_{deployment}__zdicts'))
        self._path = str(path)
        config = {} if memory_limit is None else {'memory_limit': memory_limit}
        self._con = duckdb.connect(self._path, config=config)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._tables: dict[str, TableSpec] = {}
        # Summaries, and filtered searches' totals and facets, by content
        # version (see `cache`); benchmarks turn them off
        self._summaries = ResultCache(CACHE_SIZE if result_cache else 0)
        self._counts = ResultCache(CACHE_SIZE if result_cache else 0)
        # Filtered searches' facets and pages from term bitmaps (see
        # `bitmaps`); a limit of 0 turns them off
        self._bitmaps = BitmapStore(self._con, bitmap_limit, bitmap_min_rows)
        with self._write_lock:
            self._create_meta_tables()
            self._create_content_table()

    def _create_meta_tables(self) -> None:
        cursor = self._cursor()
        cursor.execute(f'CREATE TABLE IF NOT EXISTS {self._meta} (table_name VARCHAR NOT NULL, '
                       f'catalog VARCHAR NOT NULL, entity_type VARCHAR NOT NULL, '
                       f'aggregate BOOLEAN NOT NULL, registry VARCHAR)')
        # Files made before generations: their tables have none
        cursor.execute(f"ALTER TABLE {self._meta} ADD COLUMN IF NOT EXISTS "
                       f"generation VARCHAR DEFAULT ''")
        cursor.execute(f'CREATE TABLE IF NOT EXISTS {self._live} '
                       f'(catalog VARCHAR PRIMARY KEY, generation VARCHAR NOT NULL)')
        cursor.execute(zdicts.create_statement(self._zdicts.table))

    def _create_content_table(self) -> None:
        self._cursor().execute(f'CREATE TABLE IF NOT EXISTS {self._content} '
                               f'(catalog VARCHAR PRIMARY KEY, stamp VARCHAR NOT NULL)')

    def _touch(self, cursor: duckdb.DuckDBPyConnection, catalog: str) -> None:
        # In the transaction of the write, so that a reader never sees new
        # content under the old stamp
        written = getattr(self._local, 'written', None)
        if written is not None:
            written.add(catalog)
        touched = getattr(self._local, 'touched', None)
        if touched is not None:
            # Within `transaction`: readers see one stamp of its writes
            if catalog in touched:
                return
            touched.add(catalog)
        cursor.execute(f'INSERT OR REPLACE INTO {self._content} VALUES (?, ?)',
                       [catalog, uuid4().hex])

    def content_version(self, catalog: str) -> str:
        # Read once per catalog within a read snapshot (see `_snapshot`)
        versions = getattr(self._local, 'versions', None)
        if versions is not None and catalog in versions:
            return versions[catalog]
        try:
            row = self._one(f'SELECT stamp FROM {self._content} WHERE catalog = ?', [catalog])
        except duckdb.Error as e:
            raise ServiceUnavailableError(f'DuckDB at {self._path} is unavailable: {e}') from e
        version = 'none' if row is None else row[0]
        if versions is not None:
            versions[catalog] = version
        return version

    # Connections

    def _one(self, query: str, params: list) -> tuple | None:
        """
        The first row of a query of at most one. Fetched to the end: a
        result left open keeps its transaction open, and an open transaction
        on any cursor makes a reindex's CHECKPOINT fail.
        """
        rows = self._cursor().execute(query, params).fetchall()
        return rows[0] if rows else None

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = getattr(self._local, 'cursor', None)
        if cursor is None:
            cursor = self._con.cursor()
            self._local.cursor = cursor
        return cursor

    transactional = True

    # Each batch scans the contribution and aggregate tables a few times and
    # binds the aggregate table's hundreds of columns, whatever its size: in
    # batches of 500 the files of a live round of 500 bundles took twice the
    # CPU of their batch of 3,000. A batch is held in memory, as a reindex's
    # 2,000 are
    aggregate_batch_size = 5000

    @contextmanager
    def transaction(self) -> Iterator[None]:
        # The write lock for the whole block: the writes of other threads
        # wait rather than conflict with it (and the indexer's optimistic
        # concurrency never sees a race within it)
        with self._write_lock:
            local = self._local
            if getattr(local, 'in_transaction', False):
                # Within another: that one's end commits (and a bulk load's
                # commits within wait for this block's end, see `_bulk_written`)
                local.nested = getattr(local, 'nested', 0) + 1
                try:
                    yield
                finally:
                    local.nested -= 1
                return
            cursor = self._cursor()
            cursor.execute('BEGIN TRANSACTION')
            self._begin_transaction()
            try:
                yield
            except BaseException:
                self._end_transaction()
                cursor.execute('ROLLBACK')
                raise
            self._end_transaction()
            self._commit(cursor)
            self._advance_bitmaps()

    def _commit(self, cursor: duckdb.DuckDBPyConnection) -> None:
        try:
            cursor.execute('COMMIT')
        except BaseException:
            # Nothing was written; the cursor must not stay in the transaction
            with suppress(duckdb.Error):
                cursor.execute('ROLLBACK')
            raise

    def _advance_bitmaps(self) -> None:
        """After a commit: the bitmaps of the catalogs it wrote advance now (see `bitmap_store`)."""
        local = self._local
        written, deleted = getattr(local, 'written', None), getattr(local, 'deleted', None)
        local.written = local.deleted = None
        if written:
            self._bitmaps.written(written - self._building.keys(), deleted or {})

    def _begin_transaction(self) -> None:
        local = self._local
        local.in_transaction = True
        # The catalogs it wrote, whose bitmaps advance after its commit, and
        # the aggregate rows it deleted, by the bitmaps' key
        local.written, local.deleted = set(), {}
        # The catalogs whose content stamp it changed already
        local.touched = set()
        # (table, id) -> each contribution it wrote: reading them back
        # within, it need not parse what it has
        local.fresh = {}

    def _end_transaction(self) -> None:
        local = self._local
        local.in_transaction, local.touched, local.fresh = False, None, None

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._write_lock:
            cursor = self._cursor()
            if getattr(self._local, 'in_transaction', False):
                # Part of the caller's `transaction`, which commits or rolls back
                yield cursor
                return
            cursor.execute('BEGIN TRANSACTION')
            self._local.written, self._local.deleted = set(), {}
            try:
                yield cursor
            except BaseException:
                cursor.execute('ROLLBACK')
                raise
            else:
                cursor.execute('COMMIT')
                self._advance_bitmaps()

    def _query(self, query: sql.Query) -> list[tuple]:
        try:
            return self._cursor().execute(query.text, query.params).fetchall()
        except (duckdb.ConversionException, duckdb.InvalidInputException) as e:
            # The core validates values first; this is the last line of defence
            raise BadRequestError(f'Invalid value in request: {e}') from None

    # Tables

    def _generation(self, catalog: str) -> str:
        """The generation this object reads and writes: the one it builds, else the live one."""
        generation = self._building.get(catalog)
        if generation is None:
            row = self._one(f'SELECT generation FROM {self._live} WHERE catalog = ?',
                            [catalog])
            generation = '' if row is None else row[0]
        return generation

    def _name(self, catalog: str, entity_type: str, aggregate: bool) -> str:
        return index_name(self._prefix, self._deployment, catalog, entity_type, aggregate,
                          self._generation(catalog))

    def _table(self, catalog: str, entity_type: str) -> TableSpec | None:
        """The aggregate index to read: by its plain names unless this object builds it."""
        if catalog in self._building:
            return self._stored_table(catalog, entity_type)
        name = index_name(self._prefix, self._deployment, catalog, entity_type, True)
        table = self._tables.get(name)
        if table is None:
            row = self._one(f'SELECT registry FROM {self._meta} WHERE catalog = ? '
                            f'AND entity_type = ? AND aggregate AND generation = coalesce('
                            f'(SELECT generation FROM {self._live} WHERE catalog = ?), \'\')',
                            [catalog, entity_type, catalog])
            if row is None:
                return None
            table = self._spec(name, row[0])
            self._tables[name] = table
        return table

    def _spec(self, name: str, registry: str) -> TableSpec:
        fields = _registry_from_json(orjson.loads(registry))
        # Tables made before the code, prefix or single code columns, before
        # packed documents, or before the per-term sums, are read and written as they were
        layout = TableSpec.of(name, fields)
        counts = name + '__counts'
        rows = self._cursor().execute(
            'SELECT table_name, column_name, data_type FROM duckdb_columns() '
            'WHERE table_name IN (?, ?)', [name, counts]).fetchall()
        columns = {column: kind for table, column, kind in rows if table == name}
        summed = {column for table, column, _ in rows if table == counts}
        return TableSpec.of(name, fields,
                            coded=all(s.codes in columns for s in layout.facets),
                            prefixed=all(s.prefix in columns for s in layout.fields
                                         if layout.prefixed_spec(s)),
                            packed=columns.get('document') == layout.document_type,
                            summed=all(s.sum in summed for s in layout.summed_fields),
                            singled=all(s.single in columns for s in layout.fields
                                        if layout.single_spec(s)))

    def _stored_table(self, catalog: str, entity_type: str) -> TableSpec | None:
        """The aggregate index to write: the tables of its generation."""
        name = self._name(catalog, entity_type, True)
        table = self._tables.get(name)
        if table is None:
            row = self._one(f'SELECT registry FROM {self._meta} WHERE table_name = ?', [name])
            if row is None:
                return None
            table = self._spec(name, row[0])
            self._tables[name] = table
        return table

    def _require(self, catalog: str, entity_type: str) -> TableSpec:
        table = self._stored_table(catalog, entity_type)
        if table is None:
            raise BadRequestError(f'No index for entity type {entity_type!r} '
                                  f'in catalog {catalog!r}')
        return table

    def _exists(self, name: str) -> bool:
        rows = self._cursor().execute(f'SELECT 1 FROM {self._meta} WHERE table_name = ?',
                                      [name]).fetchall()
        return bool(rows)

    def create_indices(self, catalog: str, entity_types: Sequence[str],
                       registry: FieldRegistry) -> None:
        made: dict[str, TableSpec] = {}
        enclosed = getattr(self._local, 'in_transaction', False)
        with self._transaction() as cursor:
            generation = self._generation(catalog)
            names = [index_name(self._prefix, self._deployment, catalog, entity_type, aggregate,
                                generation)
                     for entity_type in entity_types for aggregate in (True, False)]
            names.append(replica_index_name(self._prefix, self._deployment, catalog, generation))
            # One query for all the names rather than one per table: a
            # reindex creates a dozen, each lookup a millisecond of CPU
            existing = {name for name, in cursor.execute(
                f'SELECT table_name FROM {self._meta} '
                f'WHERE table_name IN (SELECT unnest(?::VARCHAR[]))', [names]).fetchall()}
            insert = (f'INSERT INTO {self._meta} (table_name, catalog, entity_type, aggregate, '
                      f'registry, generation) VALUES (?, ?, ?, ?, ?, ?)')
            stored_registry = _registry_to_json(registry)
            for entity_type in entity_types:
                name = index_name(self._prefix, self._deployment, catalog, entity_type, True,
                                  generation)
                if name not in existing:
                    table = TableSpec.of(name, registry)
                    for statement in table.create_statements():
                        cursor.execute(statement)
                    if generation and catalog not in self._building:
                        # An entity type new to a live generation: searches
                        # read it by its plain names, as the switch made them
                        plain = TableSpec(split_generation(name)[0], ())
                        for statement in _view_statements(plain, table):
                            cursor.execute(statement)
                    cursor.execute(insert, [name, catalog, entity_type, True,
                                            stored_registry, generation])
                    made[name] = _created_spec(name, stored_registry)
                name = index_name(self._prefix, self._deployment, catalog, entity_type, False,
                                  generation)
                if name not in existing:
                    cursor.execute(contribution_create_statement(name))
                    cursor.execute(insert, [name, catalog, entity_type, False, None, generation])
            name = replica_index_name(self._prefix, self._deployment, catalog, generation)
            if name not in existing:
                # A generation being built gets its indexes once loaded
                indexed = catalog not in self._building
                for statement in replica_sql.create_statements(name, indexed):
                    cursor.execute(statement)
                # Registered as a table that is not an aggregate, with an
                # entity type no plugin has, so that `_drop` finds it
                cursor.execute(insert, [name, catalog, REPLICA_ENTITY_TYPE, False, None,
                                        generation])
            if catalog not in self._building:
                # A generation being built changes no content until the switch
                self._touch(cursor, catalog)
        # What `_spec` would read back from the catalog for these tables,
        # without its query of every column of the file; only once committed
        # (not within a caller's transaction, which may yet roll them back)
        if not enclosed:
            self._tables.update(made)

    # Generations

    def generations(self, catalog: str) -> list[str]:
        rows = self._cursor().execute(f'SELECT DISTINCT generation FROM {self._meta} '
                                      f'WHERE catalog = ? ORDER BY 1', [catalog]).fetchall()
        return [generation for generation, in rows]

    def _drop_leftovers(self, catalog: str) -> None:
        # Whatever is not live is an interrupted reindex's
        live = self._generation(catalog)
        self._drop('catalog = ? AND generation <> ?', [catalog, live])

    def switch_generation(self, catalog: str) -> None:
        # Still this object's to abandon if the switch fails
        generation = self._building[catalog]
        with self._transaction() as cursor:
            # Those of the tables the previous switch dropped, see `zdicts`
            self._zdicts.forget_dropped(cursor, self._meta)
            self._drop_in(cursor, 'catalog = ? AND generation <> ?', [catalog, generation])
            rows = cursor.execute(f'SELECT table_name FROM {self._meta} WHERE catalog = ? '
                                  f'AND generation = ? AND aggregate',
                                  [catalog, generation]).fetchall()
            for name, in rows:
                stored = TableSpec(name, ())
                plain = TableSpec(split_generation(name)[0], ())
                for statement in _view_statements(plain, stored):
                    cursor.execute(statement)
            # Made by `bulk_load` already, unless the generation was built without
            self._index_replicas(cursor, catalog)
            cursor.execute(f'INSERT OR REPLACE INTO {self._live} VALUES (?, ?)',
                           [catalog, generation])
            self._touch(cursor, catalog)
        del self._building[catalog]
        self._written.pop(catalog, None)

    def abandon_generation(self, catalog: str) -> None:
        generation = self._building.pop(catalog, None)
        self._written.pop(catalog, None)
        if generation is not None:
            self._drop('catalog = ? AND generation = ?', [catalog, generation])

    def _switch_safe(self, read: Callable[[], Any]) -> Any:
        """
        The result of `read`, asked again if the tables it found in the cache
        are gone (another object of this process deleted or reindexed them).
        """
        try:
            return read()
        except duckdb.CatalogException:
            self._tables.clear()
            return read()

    def delete_indices(self, catalog: str) -> None:
        self._building.pop(catalog, None)
        self._written.pop(catalog, None)
        self._drop('catalog = ?', [catalog])
        with self._transaction() as cursor:
            cursor.execute(f'DELETE FROM {self._content} WHERE catalog = ?', [catalog])
            cursor.execute(f'DELETE FROM {self._live} WHERE catalog = ?', [catalog])

    def drop_deployment(self) -> None:
        self._drop('TRUE', [])
        self._building.clear()
        self._written.clear()
        with self._write_lock:
            self._cursor().execute(f'DROP TABLE IF EXISTS {self._meta}')
            self._cursor().execute(f'DROP TABLE IF EXISTS {self._live}')
            self._cursor().execute(f'DROP TABLE IF EXISTS {self._content}')
            self._cursor().execute(f'DROP TABLE IF EXISTS {self._zdicts.table}')
            self._create_content_table()
            self._create_meta_tables()

    def _drop(self, condition: str, params: list) -> None:
        with self._transaction() as cursor:
            self._drop_in(cursor, condition, params)

    def _drop_in(self, cursor: duckdb.DuckDBPyConnection, condition: str, params: list) -> None:
        live = dict(cursor.execute(f'SELECT catalog, generation FROM {self._live}').fetchall())
        rows = cursor.execute(f'SELECT table_name, aggregate, entity_type, catalog, generation '
                              f'FROM {self._meta} WHERE {condition}', params).fetchall()
        for name, aggregate, entity_type, catalog, generation in rows:
            if aggregate:
                statements = TableSpec(name, ()).drop_statements()
                if generation and live.get(catalog) == generation:
                    # The views that the plain names are of the live generation
                    plain = TableSpec(split_generation(name)[0], ())
                    statements = [f'DROP VIEW IF EXISTS {view}'
                                  for view, _ in _aggregate_tables(plain, plain)] + statements
                    self._tables.pop(plain.name, None)
            elif entity_type == REPLICA_ENTITY_TYPE:
                statements = replica_sql.drop_statements(name)
            else:
                statements = contribution_drop_statements(name)
            for statement in statements:
                cursor.execute(statement)
            self._tables.pop(name, None)
        cursor.execute(f'DELETE FROM {self._meta} WHERE {condition}', params)

    def count(self, catalog: str, entity_type: str, aggregate: bool = True) -> int:
        name = self._name(catalog, entity_type, aggregate)
        if not self._exists(name):
            return 0
        return self._one(f'SELECT count(*) FROM {ident(name)}', [])[0]

    # Contributions

    def write_contributions(self, catalog: str, contributions: Iterable[Contribution]) -> int:
        return self._insert_contributions(catalog, contributions, upsert=True)

    def load_contributions(self, catalog: str, contributions: Sequence[Contribution]) -> int:
        # Nothing to replace, so no search of the table for the ids
        written = self._insert_contributions(catalog, contributions, upsert=False)
        self._bulk_written()
        return written

    def _insert_contributions(self, catalog: str, contributions: Iterable[Contribution],
                              upsert: bool) -> int:
        by_type: dict[str, dict[str, Contribution]] = {}
        for c in contributions:
            by_type.setdefault(c.entity_type, {})[c.id] = c
        written = 0
        with self._transaction() as cursor:
            for entity_type, batch in by_type.items():
                name = self._name(catalog, entity_type, False)
                if not self._exists(name):
                    raise BadRequestError(f'No contribution index for {entity_type!r} '
                                          f'in catalog {catalog!r}')
                table = ident(name)
                rows = list(batch.values())
                packed = packing.pack(rows)
                inner = ident(contribution_inner_table(name))
                if upsert:
                    # By id: DuckDB's ON CONFLICT needs an index we'd rather not maintain
                    cursor.execute(f'DELETE FROM {table} WHERE id IN '
                                   f'(SELECT unnest(?::VARCHAR[]))', [list(batch)])
                    # A table made before inner entities had one of their own
                    cursor.execute(contribution_inner_create_statement(name))
                if packed.docs and upsert:
                    # A notification's bundle mostly repeats entities stored before
                    cursor.execute(
                        f'INSERT INTO {inner} SELECT * FROM (SELECT unnest(?::UUID[]) AS key, '
                        f'unnest(?::VARCHAR[]) AS doc) AS new WHERE NOT EXISTS '
                        f'(SELECT 1 FROM {inner} AS t WHERE t.key = new.key)',
                        [list(packed.docs), list(packed.docs.values())])
                elif packed.docs:
                    # As Arrow columns: DuckDB converts list parameters value by value
                    load_columns(cursor, inner, _INNER_COLUMNS,
                                 {'key': list(packed.docs), 'doc': list(packed.docs.values())},
                                 len(packed.docs))
                load_columns(cursor, table, _CONTRIBUTION_COLUMNS,
                             {'id': [c.id for c in rows],
                              'entity_id': [c.entity_id for c in rows],
                              'bundle_uuid': [c.bundle.uuid for c in rows],
                              'bundle_version': [c.bundle.version for c in rows],
                              'deleted': [c.deleted for c in rows],
                              'source': [c.source for c in rows],
                              'contents': packed.contents},
                             len(rows))
                written += len(rows)
                fresh = getattr(self._local, 'fresh', None)
                if fresh is not None:
                    fresh.update(((name, c.id), c) for c in rows)
        return written

    def read_contributions(self, catalog: str, entity_type: str,
                           entity_ids: Sequence[str]) -> Mapping[str, list[Contribution]]:
        name = self._name(catalog, entity_type, False)
        result: dict[str, list[Contribution]] = {}
        if not entity_ids or not self._exists(name):
            return result
        cursor = self._cursor()
        rows = cursor.execute(
            f'SELECT id, entity_id, bundle_uuid, bundle_version, source, deleted, contents '
            f'FROM {ident(name)} WHERE entity_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY id',
            [list(entity_ids)]).fetchall()
        # Those the transaction wrote are the objects it was given (see
        # `transaction`), equal to what parsing them would make
        fresh = getattr(self._local, 'fresh', None) or {}
        known = [fresh.get((name, row[0])) for row in rows]
        values = [None if c is not None else orjson.loads(row[6])
                  for row, c in zip(rows, known, strict=True)]
        keys = packing.referenced_keys(v for v in values if v is not None)
        found = cursor.execute(
            f'SELECT key, doc FROM {ident(contribution_inner_table(name))} '
            f'WHERE key IN (SELECT unnest(?::UUID[]))', [list(keys)]).fetchall() if keys else []
        docs = packing.parse_docs(found)
        for row, value, c in zip(rows, values, known, strict=True):
            _, entity_id, uuid, version, source, deleted, _ = row
            if c is None:
                c = Contribution(entity_type=entity_type, entity_id=entity_id,
                                 bundle=BundleFQID(uuid, version), source=source,
                                 deleted=deleted, contents=packing.unpack(value, docs))
            result.setdefault(entity_id, []).append(c)
        return result

    # Replicas

    def _replica_name(self, catalog: str) -> str:
        return replica_index_name(self._prefix, self._deployment, catalog,
                                  self._generation(catalog))

    def _require_replicas(self, catalog: str) -> str:
        name = self._replica_name(catalog)
        if not self._exists(name):
            raise BadRequestError(f'No replica index in catalog {catalog!r}')
        return name

    def write_replicas(self, catalog: str, replicas: Iterable[Replica]) -> int:
        name = self._require_replicas(catalog)
        with self._transaction() as cursor:
            # Replicas change no aggregate, so the content version stays: a
            # cached manifest is only stale once the aggregates that lead to
            # the new replicas are written, which touches it
            written = replica_sql.write(cursor, name, replicas, self._replica_keys.get(name))
        self._bulk_written()
        return written

    def scan_replicas(self, catalog: str, hub_ids: Sequence[str],
                      entity_ids: Sequence[str] = (), *,
                      include_hub_ids: bool = False) -> Iterator[Replica]:
        name = self._replica_name(catalog)
        if not (hub_ids or entity_ids) or not self._exists(name):
            return
        # A cursor of its own, as in `scan`: the caller interleaves other reads
        cursor = self._con.cursor()
        try:
            yield from replica_sql.scan(cursor, name, hub_ids, entity_ids, include_hub_ids)
        finally:
            cursor.close()

    # Aggregates

    def read_aggregates(self, catalog: str, entity_type: str,
                        entity_ids: Sequence[str]) -> Mapping[str, VersionedAggregate]:
        table = self._table(catalog, entity_type)
        if table is None or not entity_ids:
            return {}
        rows = self._cursor().execute(
            f'SELECT entity_id, document, doc FROM {table.table} '
            f'WHERE entity_id IN (SELECT unnest(?::VARCHAR[]))', [list(entity_ids)]).fetchall()
        return {entity_id: VersionedAggregate(
                    Aggregate.from_json(entity_type, unpack(document, self._zdict)), doc)
                for entity_id, document, doc in rows}

    def read_versions(self, catalog: str, entity_type: str,
                      entity_ids: Sequence[str]) -> Mapping[str, int]:
        table = self._table(catalog, entity_type)
        if table is None or not entity_ids:
            return {}
        return dict(self._cursor().execute(
            f'SELECT entity_id, doc FROM {table.table} '
            f'WHERE entity_id IN (SELECT unnest(?::VARCHAR[]))', [list(entity_ids)]).fetchall())

    def write_aggregates(self, catalog: str, entity_type: str,
                         writes: Sequence[AggregateWrite]) -> list[str]:
        table = self._require(catalog, entity_type)
        with self._transaction() as cursor:
            table = self._packing(cursor, table, [w.document for w in writes
                                                  if w.document is not None])
            writer = AggregateWriter(cursor, table)
            conflicts = writer.write(writes)
            deleted = getattr(self._local, 'deleted', None)
            if deleted is not None and writer.deleted:
                # By the bitmaps' key: the name the live generation is read by
                key = (catalog, index_name(self._prefix, self._deployment, catalog,
                                           entity_type, True))
                deleted.setdefault(key, []).extend(writer.deleted)
            if catalog in self._building:
                written = self._written.setdefault(catalog, {}).setdefault(entity_type, set())
                written.update(w.entity_id for w in writes)
            else:
                # A generation being built is new content only once switched to
                self._touch(cursor, catalog)
            return conflicts

    def load_aggregates(self, catalog: str, entity_type: str,
                        documents: Sequence[IndexedAggregate]) -> list[str]:
        if catalog not in self._building:
            return super().load_aggregates(catalog, entity_type, documents)
        # Without looking up stored versions: that search reads every row of
        # the table, so a reindex's batches would cost more as it fills it
        table = self._require(catalog, entity_type)
        with self._transaction() as cursor:
            written = self._written.get(catalog, {}).get(entity_type, set())
            suspects = [d.entity_id for d in documents if d.entity_id in written]
            # Those a notification wrote may have been deleted since
            stored = set() if not suspects else {row[0] for row in cursor.execute(
                f'SELECT entity_id FROM {table.table} '
                f'WHERE entity_id IN (SELECT unnest(?::VARCHAR[]))', [suspects]).fetchall()}
            fresh = [d for d in documents if d.entity_id not in stored]
            if fresh:
                table = self._packing(cursor, table, fresh)
                AggregateWriter(cursor, table).insert(fresh)
        self._bulk_written()
        return [d.entity_id for d in documents if d.entity_id in stored]

    def _zdict(self, zdict_id: int) -> bytes:
        """A preset dictionary of packed documents, as `packed.unpack` takes them."""
        return self._zdicts.get(self._cursor(), zdict_id)

    def _packing(self, cursor: duckdb.DuckDBPyConnection, table: TableSpec,
                 documents: Sequence[IndexedAggregate]) -> TableSpec:
        """The table as a write of these documents packs them: with its dictionary."""
        return attrs.evolve(table, zdict=self._zdicts.of_table(cursor, table, documents))

    def get_aggregate(self, catalog: str, entity_type: str, entity_id: str
                      ) -> Mapping[str, Any] | None:
        table = self._table(catalog, entity_type)
        if table is None:
            return None
        row = self._one(f'SELECT document FROM {table.table} WHERE entity_id = ?', [entity_id])
        return None if row is None else unpack(row[0], self._zdict)

    def health(self) -> Mapping[str, Any]:
        try:
            self._cursor().execute('SELECT 1').fetchall()
        except duckdb.Error as e:
            raise ServiceUnavailableError(f'DuckDB at {self._path} is unavailable: {e}') from e
        return {'up': True, 'backend': 'duckdb', 'path': self._path}

    def close(self) -> None:
        self._bitmaps.close()
        # A thread still answering a request (a manifest job, say) makes
        # DuckDB refuse to close rather than wait; give it a few seconds
        for _ in range(CLOSE_ATTEMPTS - 1):
            try:
                self._con.close()
            except duckdb.ResourceInUseException:
                time.sleep(0.1)
            else:
                return
        self._con.close()


_CONTRIBUTION_COLUMNS = {'id': 'VARCHAR', 'entity_id': 'VARCHAR', 'bundle_uuid': 'VARCHAR',
                         'bundle_version': 'VARCHAR', 'deleted': 'BOOLEAN', 'source': 'VARCHAR',
                         'contents': 'VARCHAR'}
_INNER_COLUMNS = {'key': 'UUID', 'doc': 'VARCHAR'}


def _aggregate_tables(view: TableSpec, table: TableSpec) -> list[tuple[str, str]]:
    """The tables of an aggregate index that searches read, paired with those of another."""
    return [(view.table, table.table), (view.counts_table, table.counts_table),
            (view.terms_table, table.terms_table)]


def _view_statements(plain: TableSpec, stored: TableSpec) -> list[str]:
    # A view has no rowid of its own: the filtered searches find their page
    # by the table's (the plan is the same semi join as on the table)
    return [f'CREATE VIEW {view} AS SELECT rowid AS rowid, * FROM {table}'
            for view, table in _aggregate_tables(plain, stored)]


def _created_spec(name: str, registry: str) -> TableSpec:
    """The spec of an aggregate table made by `TableSpec.of`, with its stored registry."""
    # From the stored registry, as `_spec` makes it: a field's JSON keeps
    # only what the tables need
    return TableSpec.of(name, _registry_from_json(orjson.loads(registry)))


def _registry_to_json(registry: FieldRegistry) -> str:
    return orjson.dumps([{'name': f.name, 'type': f.type.value, 'path': f.path,
                        'facet': f.facet, 'sortable': f.sortable} for f in registry]).decode()


def _registry_from_json(fields: list[dict]) -> FieldRegistry:
    return FieldRegistry(tuple(Field(name=f['name'], type=FieldType(f['type']), path=f['path'],
                                     facet=f['facet'], sortable=f['sortable']) for f in fields))
