"""
The `verbatim.jsonl` manifest: the metadata documents behind the matching
files exactly as they were submitted, one JSON object per line,
`{"value": <document>, "type": <replica type>}`, each document once.

How replicas are found, as the original finds them (`replicas`):

* the aggregates matching the filters are read page by page: files, or the
  root entities (projects) when the filters name nothing but root entity and
  source fields, in which case the manifest includes orphans (documents no
  file connects to), which list the root as a hub;
* per page, one lookup of the replicas listing one of the page's entities as
  a hub, or whose entity id is one of the hot inner entities (projects) the
  page's aggregates name;
* each page's replicas come in (entity id, replica id) order; a replica
  reached from several pages is written the first time only.

The JSONL manifest is written source by source, as the original partitions
it: for each source in order (those a source filter names, else the
catalog's), the aggregates of that source alone, so that the lines of one
source come together. The PFB manifest lists its replicas in one pass over
all sources, as the original's does.
"""
import json
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import Any, BinaryIO

import attrs

from azul.backends.base import Replica
from azul.core.filters import Filters, Is
from azul.manifests.formats.base import ManifestContext, ManifestFormat
from azul.plugins.metadata.base import ReplicaJoin

# Aggregates per replica lookup: the lookup's cost grows with it, the number
# of lookups shrinks (the original pages by 5000)
PAGE_SIZE = 1000


def include_orphans(context: ManifestContext, join: ReplicaJoin) -> bool:
    """
    Whether the filters name only fields of the root entity or the source:
    then they select whole roots (a project is bijective with its source),
    and every document of a selected root belongs in the manifest. No
    filters at all select every root (the empty set is a proper subset).
    """
    prefix = f'contents.{join.root_entity_type}.'
    # A field of the root entity by its path, or by its name where the
    # plugin keeps the values elsewhere (AnVIL's `datasets.duos_id`): the
    # original asks its field mapping, which names every such field
    root_fields = {f.name for f in context.plugin.field_registry
                   if f.path.startswith(prefix) or f.name.startswith(f'{join.root_entity_type}.')}
    return set(context.filters.fields()) < root_fields | set(join.source_fields)


def _keys(document: Mapping[str, Any], join: ReplicaJoin) -> tuple[str, list[str]]:
    """The aggregate's entity id (a hub) and the ids of its hot inner entities."""
    contents = document.get('contents') or {}
    hot_ids = []
    for entity_type in join.hot_inner_entity_types:
        for inner in contents.get(entity_type) or ():
            # A list in an aggregate of another type, a string in one of the
            # same type
            ids = inner.get('document_id')
            hot_ids.extend(ids if isinstance(ids, list) else [ids])
    return document['entity_id'], [i for i in hot_ids if i is not None]


def _pages(documents: Iterable[Mapping[str, Any]]) -> Iterator[list[Mapping[str, Any]]]:
    documents = iter(documents)
    while page := list(islice(documents, PAGE_SIZE)):
        yield page


def source_partitions(context: ManifestContext) -> list[ManifestContext]:
    """
    The context of each source's part of the manifest, by source: the
    sources an `is` filter on the plugin's sources field names (all of them,
    if it has several such terms), else the catalog's. The caller's access
    still bounds each part (the filters' scope).
    """
    name = context.plugin.source_id_field
    sources = set(context.catalog.sources)
    for term in context.filters.terms:
        if isinstance(term, Is) and term.field.name == name and not term.negated:
            sources &= {str(v) for v in term.values}
    field = context.plugin.field_registry[name]
    return [attrs.evolve(context, filters=Filters((*context.filters.terms,
                                                   Is(field, (source,))),
                                                  context.filters.scope))
            for source in sorted(sources)]


def replicas(context: ManifestContext, by_source: bool = False) -> Iterator[Replica]:
    """
    Every distinct replica of the manifest, streamed; source by source if
    `by_source`.
    """
    join = context.plugin.replica_join
    if join is None:
        raise ValueError(f'Catalog {context.catalog.name!r} has no verbatim manifests')
    # Decided on the request's filters: a source partition's own term must
    # not turn a manifest of whole roots into one without orphans
    entity_type = join.root_entity_type if include_orphans(context, join) else 'files'
    # Why a set of every id written: a replica (a donor, a protocol) is
    # reached from the files of many pages, and the pages' lookups come in
    # no order across pages that would let us skip it otherwise. The set
    # grows with the manifest's distinct documents, not its files; the
    # original holds the same set (per source).
    emitted: set[str] = set()
    parts = source_partitions(context) if by_source else [context]
    for page in (page for part in parts for page in _pages(part.scan(entity_type))):
        hub_ids: list[str] = []
        hot_ids: list[str] = []
        for document in page:
            hub_id, ids = _keys(document, join)
            hub_ids.append(hub_id)
            hot_ids.extend(ids)
        for replica in context.backend.scan_replicas(context.catalog.name, hub_ids, hot_ids):
            replica_id = replica.id
            if replica_id not in emitted:
                emitted.add(replica_id)
                yield replica


def jsonl_line(replica: Replica) -> bytes:
    # `json.dumps` with its default separators, as the original writes lines
    return (json.dumps({'value': replica.contents, 'type': replica.replica_type})
            + '\n').encode()


class VerbatimJSONLFormat(ManifestFormat):
    name = 'verbatim.jsonl'
    extension = 'jsonl'
    content_type = 'application/jsonl'

    def write(self, context: ManifestContext, output: BinaryIO) -> str | None:
        for replica in replicas(context, by_source=True):
            output.write(jsonl_line(replica))
        # The original names no verbatim manifest after its content
        return None
