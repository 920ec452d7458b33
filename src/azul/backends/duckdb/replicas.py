"""
Replicas in DuckDB: two tables per catalog, registered in the deployment's
`__meta` table like the contribution tables so that deleting the catalog's
indices drops them.

`<replica index>`      one row per replica: id, entity id, type, source and
                       the document as JSON text (never queried into);
`<replica index>_hub`  one row per (hub id, replica id).

Hub ids live in a table of their own rather than in a list column of the
replica: adding the hubs of another bundle is then an insert of new rows
(nothing grows and is rewritten), and looking replicas up by hub is a join on
an indexed column instead of a search through every replica's list.
"""
from collections.abc import Iterable, Iterator, Sequence

import duckdb
import orjson

from azul.backends.base import Replica, merge_replicas
from azul.backends.duckdb.schema import ident


def hub_table(name: str) -> str:
    return f'{name}_hub'


def create_statements(name: str) -> list[str]:
    table, hubs = ident(name), ident(hub_table(name))
    return [
        f'CREATE TABLE IF NOT EXISTS {table} (id VARCHAR PRIMARY KEY, '
        f'entity_id VARCHAR NOT NULL, replica_type VARCHAR NOT NULL, '
        f'source VARCHAR NOT NULL, contents VARCHAR NOT NULL)',
        f'CREATE TABLE IF NOT EXISTS {hubs} (hub_id VARCHAR NOT NULL, '
        f'replica_id VARCHAR NOT NULL, PRIMARY KEY (hub_id, replica_id))',
        f'CREATE INDEX IF NOT EXISTS {ident(name + "_entity")} ON {table} (entity_id)',
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
    hubs = [(hub_id, i) for i, r in rows for hub_id in r.hub_ids]
    if hubs:
        cursor.execute(
            f'INSERT OR IGNORE INTO {ident(hub_table(name))} '
            f'SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[])',
            [[h for h, _ in hubs], [i for _, i in hubs]])
    return len(rows)


def scan(cursor: duckdb.DuckDBPyConnection, name: str, hub_ids: Sequence[str],
         entity_ids: Sequence[str], include_hub_ids: bool) -> Iterator[Replica]:
    """See `SearchBackend.scan_replicas`: one query for all the ids given."""
    hub_ids, entity_ids = sorted(set(hub_ids)), sorted(set(entity_ids))
    table, hubs = ident(name), ident(hub_table(name))
    matches = (
        f'WITH matches AS ('
        f'  SELECT replica_id AS id FROM {hubs} WHERE hub_id IN (SELECT unnest(?::VARCHAR[]))'
        f'  UNION'
        f'  SELECT id FROM {table} WHERE entity_id IN (SELECT unnest(?::VARCHAR[]))'
        f')'
    )
    if include_hub_ids:
        query = (
            f'{matches}, hub_lists AS ('
            f'  SELECT replica_id AS id, list(hub_id ORDER BY hub_id) AS hub_ids FROM {hubs}'
            f'  WHERE replica_id IN (SELECT id FROM matches) GROUP BY replica_id'
            f') '
            f'SELECT r.replica_type, r.entity_id, r.contents, r.source, h.hub_ids '
            f'FROM {table} AS r JOIN matches USING (id) LEFT JOIN hub_lists AS h USING (id) '
            f'ORDER BY r.entity_id, r.id'
        )
    else:
        query = (
            f'{matches} '
            f'SELECT r.replica_type, r.entity_id, r.contents, r.source, NULL '
            f'FROM {table} AS r JOIN matches USING (id) ORDER BY r.entity_id, r.id'
        )
    cursor.execute(query, [hub_ids, entity_ids])
    while batch := cursor.fetchmany(500):
        for replica_type, entity_id, contents, source, hub_list in batch:
            yield Replica(replica_type=replica_type, entity_id=entity_id,
                          contents=orjson.loads(contents), source=source,
                          hub_ids=tuple(hub_list or ()))
