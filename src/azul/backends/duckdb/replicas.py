"""
Replicas in DuckDB: two tables per catalog, registered in the deployment's
`__meta` table like the contribution tables so that deleting the catalog's
indices drops them.

`<replica index>`      one row per replica: id, entity id, type, source and
                       the document as JSON text (never queried into);
`<replica index>_hub`  one row per (hub id, replica id), with the replica's
                       entity id (the sort key), so that finding and
                       ordering the replicas of some hubs reads this table only.

Hub ids live in a table of their own rather than in a list column of the
replica: adding the hubs of another bundle is then an insert of new rows
(nothing grows and is rewritten), and looking replicas up by hub is a lookup
in an index instead of a search through every replica's list.

Lookups bind their ids as an `IN` list of parameters, in batches small
enough that DuckDB answers them from the ART indexes (it scans the whole
table instead once a lookup would match more than `index_scan_max_count`,
2048, rows): the cost of a manifest page then grows with its files and their
replicas, not with the catalog.
"""
from collections.abc import Iterable, Iterator, Sequence

import duckdb
import orjson

from azul.backends.base import Replica, merge_replicas
from azul.backends.duckdb.schema import ident


def hub_table(name: str) -> str:
    return f'{name}_hub'


# Hubs per lookup: a file has some tens of replicas, so that a batch matches
# fewer rows than DuckDB's limit of an index scan
HUB_BATCH = 50
# Replica ids (or entity ids) per lookup of the replica table: one row each
ID_BATCH = 1000


def create_statements(name: str) -> list[str]:
    table, hubs = ident(name), ident(hub_table(name))
    return [
        f'CREATE TABLE IF NOT EXISTS {table} (id VARCHAR PRIMARY KEY, '
        f'entity_id VARCHAR NOT NULL, replica_type VARCHAR NOT NULL, '
        f'source VARCHAR NOT NULL, contents VARCHAR NOT NULL)',
        f'CREATE TABLE IF NOT EXISTS {hubs} (hub_id VARCHAR NOT NULL, '
        f'replica_id VARCHAR NOT NULL, entity_id VARCHAR NOT NULL, '
        f'PRIMARY KEY (hub_id, replica_id))',
        f'CREATE INDEX IF NOT EXISTS {ident(name + "_entity")} ON {table} (entity_id)',
        f'CREATE INDEX IF NOT EXISTS {ident(name + "_hub_id")} ON {hubs} (hub_id)',
        f'CREATE INDEX IF NOT EXISTS {ident(name + "_hub_replica")} ON {hubs} (replica_id)',
    ]


def drop_statements(name: str) -> list[str]:
    return [f'DROP TABLE IF EXISTS {ident(hub_table(name))}',
            f'DROP TABLE IF EXISTS {ident(name)}']


def write(cursor: duckdb.DuckDBPyConnection, name: str, replicas: Iterable[Replica]) -> int:
    merged = merge_replicas(replicas)
    if not merged:
        return 0
    rows = list(merged.items())
    # The id covers the document's content, so an existing row already holds
    # exactly this document: only its hubs can be new
    cursor.execute(
        f'INSERT OR IGNORE INTO {ident(name)} SELECT unnest(?::VARCHAR[]), '
        f'unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), '
        f'unnest(?::VARCHAR[])',
        [[i for i, _ in rows], [r.entity_id for _, r in rows],
         [r.replica_type for _, r in rows], [r.source for _, r in rows],
         [orjson.dumps(r.contents).decode() for _, r in rows]])
    hubs = [(hub_id, i, r.entity_id) for i, r in rows for hub_id in r.hub_ids]
    if hubs:
        cursor.execute(
            f'INSERT OR IGNORE INTO {ident(hub_table(name))} '
            f'SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[])',
            [[h for h, _, _ in hubs], [i for _, i, _ in hubs], [e for _, _, e in hubs]])
    return len(rows)


def _in(values: Sequence[str]) -> str:
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
    table, hubs = ident(name), ident(hub_table(name))
    keys: set[tuple[str, str]] = set()
    for batch in _batches(sorted(set(hub_ids)), HUB_BATCH):
        keys.update(cursor.execute(f'SELECT entity_id, replica_id FROM {hubs} '
                                   f'WHERE hub_id IN {_in(batch)}', batch).fetchall())
    for batch in _batches(sorted(set(entity_ids)), ID_BATCH):
        keys.update(cursor.execute(f'SELECT entity_id, id FROM {table} '
                                   f'WHERE entity_id IN {_in(batch)}', batch).fetchall())
    ordered = sorted(keys)
    for i in range(0, len(ordered), ID_BATCH):
        ids = [replica_id for _, replica_id in ordered[i:i + ID_BATCH]]
        rows = cursor.execute(f'SELECT replica_type, entity_id, contents, source, id '
                              f'FROM {table} WHERE id IN {_in(ids)} '
                              f'ORDER BY entity_id, id', ids).fetchall()
        hub_lists = _hub_lists(cursor, hubs, ids) if include_hub_ids else {}
        for replica_type, entity_id, contents, source, replica_id in rows:
            yield Replica(replica_type=replica_type, entity_id=entity_id,
                          contents=orjson.loads(contents), source=source,
                          hub_ids=hub_lists.get(replica_id, ()))


def _hub_lists(cursor: duckdb.DuckDBPyConnection, hubs: str, ids: list[str]
               ) -> dict[str, tuple[str, ...]]:
    rows = cursor.execute(f'SELECT replica_id, list(hub_id ORDER BY hub_id) FROM {hubs} '
                          f'WHERE replica_id IN {_in(ids)} GROUP BY replica_id', ids).fetchall()
    return {replica_id: tuple(hub_list) for replica_id, hub_list in rows}
