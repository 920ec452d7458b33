"""
Replicas in OpenSearch: one index per catalog (`replica_index_name`) with an
explicit, strict mapping. The document itself is stored as its JSON text
(`contents_json`), not indexed: it is only ever returned, indexing arbitrary
metadata would let its fields grow the mapping without bound, and as text
its keys keep the order the bundle gave them (an object's keys came back
sorted from our serializer and in hash order after the hub script rewrote
the source, so a verbatim manifest's lines differed from DuckDB's).

  replica_id    keyword, the document id again: the tie-breaker of the sort
                (sorting on `_id` is slow and deprecated)
  entity_id     keyword: the first sort key, and the lookup of hot entities
                (projects), whose hubs are too many to list
  replica_type  keyword
  source        keyword
  hub_ids       keyword array: the lookup by file (or project) hub
  contents_json text, not indexed (`contents`, an object, in indices
                written before: read, never written)
"""
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from azul.backends.base import Replica, merge_replicas

# Adds the hub ids a stored replica lacks; a no-op (nothing rewritten) if it
# has them all. Order is kept sorted so that documents do not depend on the
# order in which bundles were indexed.
_ADD_HUBS = '''
    Set existing = new HashSet(ctx._source.hub_ids);
    boolean changed = false;
    for (String hub : params.hub_ids) {
        if (existing.add(hub)) {
            ctx._source.hub_ids.add(hub);
            changed = true;
        }
    }
    if (changed) {
        Collections.sort(ctx._source.hub_ids);
    } else {
        ctx.op = 'noop';
    }
'''

# Bound on ids per terms clause (OpenSearch refuses more than 65536)
TERMS_BATCH = 10000


def mappings() -> dict[str, Any]:
    keyword = {'type': 'keyword'}
    return {
        'dynamic': 'strict',
        'properties': {
            'replica_id': keyword,
            'entity_id': keyword,
            'replica_type': keyword,
            'source': keyword,
            'hub_ids': keyword,
            'contents_json': {'type': 'text', 'index': False},
        },
    }


def source(replica_id: str, replica: Replica) -> dict[str, Any]:
    return {
        'replica_id': replica_id,
        'entity_id': replica.entity_id,
        'replica_type': replica.replica_type,
        'source': replica.source,
        'hub_ids': list(replica.hub_ids),
        'contents_json': json.dumps(replica.contents, separators=(',', ':'),
                                    ensure_ascii=False),
    }


def from_source(doc: Mapping[str, Any]) -> Replica:
    text = doc.get('contents_json')
    contents = doc['contents'] if text is None else json.loads(text)
    return Replica(replica_type=doc['replica_type'], entity_id=doc['entity_id'],
                   contents=contents, source=doc['source'],
                   hub_ids=tuple(doc.get('hub_ids', ())))


def actions(index: str, replicas: Iterable[Replica]) -> list[dict[str, Any]]:
    """
    One upsert per replica. Why `retry_on_conflict` is safe here, unlike for
    aggregates: the script only adds ids to a set, so re-applying it on top
    of a concurrent writer's update loses nothing.
    """
    return [
        {
            '_op_type': 'update',
            '_index': index,
            '_id': replica_id,
            'retry_on_conflict': 5,
            'script': {'lang': 'painless', 'source': _ADD_HUBS,
                       'params': {'hub_ids': list(replica.hub_ids)}},
            'upsert': source(replica_id, replica),
        }
        for replica_id, replica in merge_replicas(replicas).items()
    ]


def query(hub_ids: Sequence[str], entity_ids: Sequence[str]) -> dict[str, Any]:
    should = []
    hub_ids, entity_ids = sorted(set(hub_ids)), sorted(set(entity_ids))
    for i in range(0, len(hub_ids), TERMS_BATCH):
        should.append({'terms': {'hub_ids': hub_ids[i:i + TERMS_BATCH]}})
    for i in range(0, len(entity_ids), TERMS_BATCH):
        should.append({'terms': {'entity_id': entity_ids[i:i + TERMS_BATCH]}})
    return {'bool': {'should': should, 'minimum_should_match': 1}}


Search = Callable[[dict[str, Any]], list[dict[str, Any]]]


def scan(search: Search, hub_ids: Sequence[str], entity_ids: Sequence[str],
         page_size: int, include_hub_ids: bool) -> Iterator[Replica]:
    """
    Every match in (entity id, replica id) order, page by page with
    `search_after`; `search` runs one request body and returns its hits.
    """
    after = None
    while True:
        body: dict[str, Any] = {
            'size': page_size,
            'query': query(hub_ids, entity_ids),
            'sort': [{'entity_id': 'asc'}, {'replica_id': 'asc'}],
            'track_total_hits': False,
            '_source': True if include_hub_ids else {'excludes': ['hub_ids']},
        }
        if after is not None:
            body['search_after'] = after
        hits = search(body)
        for hit in hits:
            yield from_source(hit['_source'])
        if len(hits) < page_size:
            return
        after = hits[-1]['sort']
