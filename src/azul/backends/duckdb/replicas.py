"""
Replicas in DuckDB: three tables per catalog, registered in the deployment's
`__meta` table like the contribution tables so that deleting the catalog's
indices drops them.

`<replica index>`              one row per replica: id, entity id, type,
                               source and the document as JSON text (never
                               queried into);
`<replica index>_hubs`         one row per hub id and the group of replicas a
                               bundle reaches through it (lists of their
                               entity ids and replica ids);
`<replica index>_replica_hubs` one row per replica and the hub ids a bundle
                               gave it, read only for `include_hub_ids`.

Why this shape (issue 16): every ART index of DuckDB is keyed by something
random (a UUID, a hash), so that the inserts of a bundle land all over the
index, and a checkpoint (one per 16 MiB of WAL by default) rewrites every
index buffer an insert has touched: soon all of them. The cost of a bundle's
write then grows with the size of the indexes. When each (hub id, replica
id) pair was a row of its own, with a primary key and two more indexes over
long VARCHAR keys, a bundle added some 330 index entries of 36 to 130 bytes
and the write grew from 22 to 37 ms of CPU over the first 4,000 bundles of
the synthetic catalog (28.6 to 53.6 ms wall per bundle over 15,750). Now a
bundle adds about 80 entries of 8 or 16 bytes:

- every indexed key is a fixed-size hash of the value it stands for (a
  UUID-typed 128-bit hash where it is unique, a BIGINT where it is only
  looked up), so that an index is a fraction of the size of one over the
  VARCHARs and a checkpoint rewrites that much less; a lookup by a 64-bit
  hash may also find another value's rows, which are dropped after reading
  (in Python: a second condition on the VARCHAR in SQL would turn the index
  scan into a scan of the whole table);
- hubs are stored per group, one row per hub id a bundle writes (a file or
  the project, a handful per bundle) rather than one per (hub, replica)
  pair (a hundred per bundle);
- the key (unique index) of a group row hashes its content, so that writing the
  same bundle again, or the same project replica from every bundle of the
  project, adds nothing: a hub's rows stay as many as the distinct groups
  written for it (a file's bundle versions). Different groups of the same
  hub are all kept and united on reading;
- a write looks up which of its rows are stored already (one query of the
  three unique keys; a bulk load asks a set of the keys it wrote instead)
  and inserts the rest plainly: `INSERT OR IGNORE` has a fixed cost of
  several milliseconds a statement.

Hub ids live in tables of their own rather than in a list column of the
replica: adding the hubs of another bundle is then an insert of new rows
(nothing grows and is rewritten), and looking replicas up by hub is a lookup
in an index instead of a search through every replica's list.

Lookups bind their ids as an `IN` list of parameters, in batches small
enough that DuckDB answers them from the ART indexes (it scans the whole
table instead once a lookup would match more than `index_scan_max_count`,
2048, rows): the cost of a manifest page then grows with its files and their
replicas, not with the catalog.
"""
import hashlib
from collections.abc import Collection, Iterable, Iterator, Sequence
from uuid import UUID

import duckdb
import orjson

from azul.backends.base import Replica, merge_replicas
from azul.backends.duckdb.schema import LARGE_TEXT, ident
from azul.backends.duckdb.writes import load_rows


def hubs_table(name: str) -> str:
    return f'{name}_hubs'


def replica_hubs_table(name: str) -> str:
    return f'{name}_replica_hubs'


# Hubs per lookup: a hub has a row per distinct group written for it (a
# file's bundle versions, a few), so that a batch matches far fewer rows
# than DuckDB's limit of an index scan
HUB_BATCH = 250
# Replica ids (or entity ids) per lookup of the replica table: one row each
# (an entity: one per version of its document)
ID_BATCH = 1000
# Replicas per lookup of their hub ids: a replica has a row per distinct set
# of hubs a bundle gave it (a donor: one per bundle of its project)
HUB_LIST_BATCH = 20


def _key(*parts: str) -> str:
    """
    A 128-bit hash as a UUID, the key of a row that stands for `parts`:
    unique where a 64-bit one would not be certain to be, and still a fixed
    16 bytes in an index.
    """
    h = hashlib.blake2b(orjson.dumps(parts), digest_size=16).hexdigest()
    # As str(UUID(bytes=digest)) spells it, without making the object: a
    # bulk load keys some 10,000 rows per 50 bundles
    return f'{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}'


def _lookup_key(value: str) -> int:
    # Signed, to fit a BIGINT
    digest = hashlib.blake2b(value.encode(), digest_size=8).digest()
    return int.from_bytes(digest, 'big', signed=True)


def create_statements(name: str, indexed: bool = True) -> list[str]:
    """
    The tables, and unless not `indexed` their indexes (`index_statements`):
    a reindex creates them after its bulk load.
    """
    table = ident(name)
    hubs, replica_hubs = ident(hubs_table(name)), ident(replica_hubs_table(name))
    tables = [
        f'CREATE TABLE IF NOT EXISTS {table} (key UUID NOT NULL, '
        f'entity_key BIGINT NOT NULL, id VARCHAR NOT NULL, entity_id VARCHAR NOT NULL, '
        f'replica_type VARCHAR NOT NULL, source VARCHAR NOT NULL, '
        f'contents VARCHAR NOT NULL {LARGE_TEXT})',
        f'CREATE TABLE IF NOT EXISTS {hubs} (key UUID NOT NULL, hub_key BIGINT NOT NULL, '
        f'hub_id VARCHAR NOT NULL, entity_ids VARCHAR[] NOT NULL, '
        f'replica_ids VARCHAR[] NOT NULL)',
        f'CREATE TABLE IF NOT EXISTS {replica_hubs} (key UUID NOT NULL, '
        f'replica_key UUID NOT NULL, hub_ids VARCHAR[] NOT NULL)',
    ]
    return tables + index_statements(name) if indexed else tables


def index_statements(name: str) -> list[str]:
    """
    The ART indexes of the replica tables. Unique indexes rather than
    primary keys, so that a reindex can create them after loading the rows
    (DuckDB cannot add a primary key to a table that has rows): built once
    from all the rows, an index costs a fraction of what maintaining it
    costs a bulk load, whose checkpoints rewrite every index buffer the
    inserts touched (issue 16). Idempotent.
    """
    table = ident(name)
    hubs, replica_hubs = ident(hubs_table(name)), ident(replica_hubs_table(name))
    return [
        f'CREATE UNIQUE INDEX IF NOT EXISTS {ident(name + "_key")} ON {table} (key)',
        f'CREATE UNIQUE INDEX IF NOT EXISTS {ident(name + "_hubs_key")} ON {hubs} (key)',
        f'CREATE UNIQUE INDEX IF NOT EXISTS {ident(name + "_replica_hubs_key")} '
        f'ON {replica_hubs} (key)',
        f'CREATE INDEX IF NOT EXISTS {ident(name + "_entity")} ON {table} (entity_key)',
        f'CREATE INDEX IF NOT EXISTS {ident(name + "_hub_key")} ON {hubs} (hub_key)',
        f'CREATE INDEX IF NOT EXISTS {ident(name + "_replica_key")} '
        f'ON {replica_hubs} (replica_key)',
    ]


def drop_statements(name: str) -> list[str]:
    return [f'DROP TABLE IF EXISTS {ident(replica_hubs_table(name))}',
            f'DROP TABLE IF EXISTS {ident(hubs_table(name))}',
            # The one hub table of the layout before issue 16, so that
            # deleting a catalog indexed by an older version leaves nothing
            f'DROP TABLE IF EXISTS {ident(name + "_hub")}',
            f'DROP TABLE IF EXISTS {ident(name)}']


def write(cursor: duckdb.DuckDBPyConnection, name: str, replicas: Iterable[Replica],
          written: set[str] | None = None) -> int:
    """
    Store the replicas; returns how many. `written`, if given, holds the key
    of every row the table has, and is kept up to date: a bulk load into
    tables without indexes asks it instead of the table, which it would
    have to scan.
    """
    merged = merge_replicas(replicas)
    if not merged:
        return 0
    rows = list(merged.items())
    keys = {replica_id: _key(replica_id) for replica_id, _ in rows}
    groups: dict[str, list[tuple[str, str]]] = {}
    for replica_id, replica in rows:
        # One pair for all the hubs of the replica: a donor has hundreds
        pair = (replica.entity_id, replica_id)
        for hub_id in replica.hub_ids:
            group = groups.get(hub_id)
            if group is None:
                groups[hub_id] = [pair]
            else:
                group.append(pair)
    # Sorted, so that the same group hashes alike whatever the order of the
    # bundle's documents
    members = {hub_id: sorted(group) for hub_id, group in groups.items()}
    group_keys = {hub_id: _key(hub_id, *[i for _, i in group])
                  for hub_id, group in members.items()}
    hubbed = {replica_id: r.hub_ids for replica_id, r in rows if r.hub_ids}
    hub_list_keys = {replica_id: _key(replica_id, *hub_ids)
                     for replica_id, hub_ids in hubbed.items()}
    table = ident(name)
    hubs, replica_hubs = ident(hubs_table(name)), ident(replica_hubs_table(name))
    # What is stored already, in one lookup of the three unique keys, and
    # then plain inserts of the rest: `INSERT OR IGNORE` costs several times
    # as much (a fixed 3 to 5 ms a statement, whatever the rows), and the
    # write lock makes this bundle the only writer meanwhile
    if written is None:
        probe = [*keys.values(), *group_keys.values(), *hub_list_keys.values()]
        selects = [f'SELECT key FROM {table} WHERE key IN {_in(keys)}']
        if group_keys:
            selects.append(f'SELECT key FROM {hubs} WHERE key IN {_in(group_keys)}')
            selects.append(f'SELECT key FROM {replica_hubs} WHERE key IN {_in(hub_list_keys)}')
        stored = {str(key)
                  for key, in cursor.execute(' UNION ALL '.join(selects), probe).fetchall()}
    else:
        stored = written
    # The id covers the document's content, so an existing row already holds
    # exactly this document: only its hubs can be new
    new = [(i, r) for i, r in rows if keys[i] not in stored]
    new_groups = [h for h, k in group_keys.items() if k not in stored]
    new_lists = [i for i, k in hub_list_keys.items() if k not in stored]
    # As Arrow columns (`load_rows`): DuckDB converts the lists of hub ids
    # and replica ids from Python several times as slowly as it reads them
    if new:
        load_rows(cursor, table, _REPLICA_COLUMNS, [
            {'key': keys[i], 'entity_key': _lookup_key(r.entity_id), 'id': i,
             'entity_id': r.entity_id, 'replica_type': r.replica_type, 'source': r.source,
             'contents': orjson.dumps(r.contents).decode()}
            for i, r in new])
    if new_groups:
        load_rows(cursor, hubs, _HUB_COLUMNS, [
            {'key': group_keys[h], 'hub_key': _lookup_key(h), 'hub_id': h,
             'entity_ids': [e for e, _ in members[h]], 'replica_ids': [i for _, i in members[h]]}
            for h in new_groups])
    if new_lists:
        load_rows(cursor, replica_hubs, _REPLICA_HUB_COLUMNS, [
            {'key': hub_list_keys[i], 'replica_key': keys[i], 'hub_ids': list(hubbed[i])}
            for i in new_lists])
    if written is not None:
        written.update(keys[i] for i, _ in new)
        written.update(group_keys[h] for h in new_groups)
        written.update(hub_list_keys[i] for i in new_lists)
    return len(rows)


def stored_keys(cursor: duckdb.DuckDBPyConnection, name: str) -> Iterator[str]:
    """The key of every row of the three tables, as `write` makes them."""
    tables = (ident(name), ident(hubs_table(name)), ident(replica_hubs_table(name)))
    query = ' UNION ALL '.join(f'SELECT key FROM {table}' for table in tables)
    for key, in cursor.execute(query).fetchall():
        yield str(key)


_REPLICA_COLUMNS = {'key': 'UUID', 'entity_key': 'BIGINT', 'id': 'VARCHAR',
                    'entity_id': 'VARCHAR', 'replica_type': 'VARCHAR', 'source': 'VARCHAR',
                    'contents': 'VARCHAR'}
_HUB_COLUMNS = {'key': 'UUID', 'hub_key': 'BIGINT', 'hub_id': 'VARCHAR',
                'entity_ids': 'VARCHAR[]', 'replica_ids': 'VARCHAR[]'}
_REPLICA_HUB_COLUMNS = {'key': 'UUID', 'replica_key': 'UUID', 'hub_ids': 'VARCHAR[]'}


def _in(values: Collection) -> str:
    return '(' + ', '.join('?' * len(values)) + ')'


def _batches(values: Sequence[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(values), size):
        yield list(values[i:i + size])


def scan(cursor: duckdb.DuckDBPyConnection, name: str, hub_ids: Sequence[str],
         entity_ids: Sequence[str], include_hub_ids: bool) -> Iterator[Replica]:
    """
    See `SearchBackend.scan_replicas`. First the keys (entity id, replica id)
    of every match, from the indexes; sorted, they are read in batches of
    consecutive keys, so that the replicas come out in order while only one
    batch of documents is held at a time.
    """
    table, hubs = ident(name), ident(hubs_table(name))
    keys: set[tuple[str, str]] = set()
    for batch in _batches(sorted(set(hub_ids)), HUB_BATCH):
        wanted = set(batch)
        lookup = [_lookup_key(hub_id) for hub_id in batch]
        rows = cursor.execute(f'SELECT hub_id, entity_ids, replica_ids FROM {hubs} '
                              f'WHERE hub_key IN {_in(lookup)}', lookup).fetchall()
        for hub_id, group_entity_ids, group_replica_ids in rows:
            if hub_id in wanted:
                keys.update(zip(group_entity_ids, group_replica_ids, strict=True))
    for batch in _batches(sorted(set(entity_ids)), ID_BATCH):
        wanted = set(batch)
        lookup = [_lookup_key(entity_id) for entity_id in batch]
        rows = cursor.execute(f'SELECT entity_id, id FROM {table} '
                              f'WHERE entity_key IN {_in(lookup)}', lookup).fetchall()
        keys.update(row for row in rows if row[0] in wanted)
    ordered = sorted(keys)
    for i in range(0, len(ordered), ID_BATCH):
        ids = [replica_id for _, replica_id in ordered[i:i + ID_BATCH]]
        lookup = [_key(replica_id) for replica_id in ids]
        rows = cursor.execute(f'SELECT replica_type, entity_id, contents, source, id '
                              f'FROM {table} WHERE key IN {_in(lookup)} '
                              f'ORDER BY entity_id, id', lookup).fetchall()
        hub_lists = _hub_lists(cursor, name, ids) if include_hub_ids else {}
        for replica_type, entity_id, contents, source, replica_id in rows:
            yield Replica(replica_type=replica_type, entity_id=entity_id,
                          contents=orjson.loads(contents), source=source,
                          hub_ids=hub_lists.get(replica_id, ()))


def _hub_lists(cursor: duckdb.DuckDBPyConnection, name: str, ids: list[str]
               ) -> dict[str, tuple[str, ...]]:
    # The union of the hub ids every bundle gave the replica
    found: dict[str, set[str]] = {}
    table = ident(replica_hubs_table(name))
    for batch in _batches(ids, HUB_LIST_BATCH):
        by_key = {UUID(_key(replica_id)): replica_id for replica_id in batch}
        lookup = [str(key) for key in by_key]
        rows = cursor.execute(f'SELECT replica_key, hub_ids FROM {table} '
                              f'WHERE replica_key IN {_in(lookup)}', lookup).fetchall()
        for replica_key, hub_ids in rows:
            found.setdefault(by_key[replica_key], set()).update(hub_ids)
    return {replica_id: tuple(sorted(hub_ids)) for replica_id, hub_ids in found.items()}
