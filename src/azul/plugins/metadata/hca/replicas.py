"""
Replicas of an HCA bundle: each metadata document exactly as submitted, and
the bundle's links document, for the verbatim manifests.

Hubs, as the original Azul assigns them (`hub_ids`):

* every replica lists the project, the root entity of the catalog (the
  original's "root hub"), so that a manifest filtered only by project reaches
  every document of the project, even those no file connects to (orphans);
* a replica also lists the data files connected to its entity: the file
  itself, what a visit of the file sees (its descendants, then its ancestors,
  `graph.Graph.visits`), and the protocols the processes among them applied.
  The hub of a zarr store member is the store's `.zattrs` file, the one file
  entity of the store;
* the project is a *hot* entity: its hubs would be every file of the project,
  too many to list, so its replica lists none but the project itself, and the
  manifest finds it by entity id instead (`HOT_INNER_ENTITY_TYPES`);
* the links replica (entity id: the bundle uuid) lists every file hub of the
  bundle.

Deletions write nothing, as in the original, which never removes replicas:
the manifests reach replicas only through live aggregates (files, projects),
so those of a deleted bundle drop out with its aggregates. Replicas shared
with live bundles stay, rightly.
"""
import logging
from collections.abc import Mapping
from typing import Any

from azul.backends.base import Replica
from azul.plugins.metadata.hca.graph import Ids, graph_of
from azul.plugins.metadata.hca.model import HCABundle, parse_entity
from azul.plugins.metadata.hca.transform import zarr_parts
from azul.plugins.repository.base import Bundle

log = logging.getLogger(__name__)

# The original's `hot_entity_types` of HCA: schema name in a bundle → inner
# entity type in the aggregates whose `document_id` the manifest joins on
HOT_INNER_ENTITY_TYPES: Mapping[str, str] = {'project': 'projects'}

# The entity type at the root of the entity graph (the original's
# `root_entity_type`): filters only on its fields include orphans
ROOT_ENTITY_TYPE = 'projects'

LINKS_REPLICA_TYPE = 'links'


def bundle_replicas(bundle: Bundle, deleted: bool) -> list[Replica]:
    if deleted:
        return []
    graph = graph_of(bundle, reuse=True)
    model = graph.bundle
    project_id = model.project.document_id
    hubs_of: dict[str, set[str]] = {}
    file_hubs = _file_hubs(model)
    # A file is connected to what a visit of it sees, its descendants and
    # then its ancestors, and to the protocols applied among them. Files of
    # one process share their ancestors: those get the hubs of all such
    # files at once, instead of the hub of each file in turn
    by_ancestors: dict[tuple[str, ...], set[str]] = {}
    for member, hub in file_hubs.items():
        for entity_id in _connected(model, graph.accept(member)):
            hubs_of.setdefault(entity_id, set()).add(hub)
        by_ancestors.setdefault(graph.ancestors(member), set()).add(hub)
    for ancestors, hubs in by_ancestors.items():
        for entity_id in _connected(model, ancestors):
            hubs_of.setdefault(entity_id, set()).update(hubs)
    replicas = []
    for key, document in bundle.metadata.items():
        schema_name, _, key_id = key.partition('/')
        entity_id = model.document_ids.get(key) or _document_id(key, document, key_id)
        if schema_name in HOT_INNER_ENTITY_TYPES:
            hubs = {project_id}
        else:
            hubs = {project_id, *hubs_of.get(entity_id, ())}
        replicas.append(Replica(replica_type=schema_name, entity_id=entity_id,
                                contents=document, source=bundle.source,
                                hub_ids=tuple(sorted(hubs))))
    replicas.append(Replica(replica_type=LINKS_REPLICA_TYPE, entity_id=bundle.fqid.uuid,
                            contents=bundle.links, source=bundle.source,
                            hub_ids=tuple(sorted({project_id, *file_hubs.values()}))))
    return replicas


def _document_id(key: str, document: Mapping[str, Any], fallback: str) -> str:
    try:
        return parse_entity(key, document).document_id
    except (KeyError, TypeError, AttributeError):
        # The model skips a malformed document; its replica still says what
        # was submitted, under the id its metadata key names
        return fallback


def _file_hubs(model: HCABundle) -> dict[str, str]:
    """
    File entity id → the id of the file entity (aggregate) it is reached
    through: itself, or for a zarr store member the store's `.zattrs` file.
    Stitched files are their own bundle's hubs, as in the transformers.
    """
    def name(entity_id: str) -> str | None:
        value = model.manifest.get(entity_id, {}).get('name')
        return None if value is None else value.replace('!', '/')

    own = [f.document_id for f in model.files if not model.is_stitched(f)]
    representatives = {}
    for file_id in own:
        parts = zarr_parts(name(file_id))
        if parts is not None and parts[1].endswith('.zattrs'):
            representatives.setdefault(parts[0], file_id)
    result = {}
    for file_id in own:
        parts = zarr_parts(name(file_id))
        if parts is None:
            result[file_id] = file_id
        elif parts[0] in representatives:
            result[file_id] = representatives[parts[0]]
    return result


def _connected(model: HCABundle, entity_ids: Ids) -> list[str]:
    """The entities and the protocols applied by those among them that are processes."""
    protocols = model.protocols
    return [*entity_ids, *(p for entity_id in entity_ids for p in protocols.get(entity_id, ()))]
