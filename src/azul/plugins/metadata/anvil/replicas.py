"""
Replicas of an AnVIL bundle: each of its table rows exactly as the bundle
holds it, for the verbatim manifests. The replica type is the row's table
(`anvil_donor`, `anvil_sequencingactivity`, ...), its entity id the row's
`datarepo_row_id` (the key of the bundle's entity).

Hubs, as the original Azul's AnVIL transformers assign them:

* the dataset is the root of the entity graph (the original's implicit hub):
  every row lists the bundle's one dataset, so that a manifest of whole
  datasets (no file filter) reaches every row of them, including those no
  file reaches;
* a row also lists the files the links connect it to, upwards and
  downwards, the way the transformers find the entities related to an
  entity (`indexer._Transformer._linked`); a file lists itself as well. An
  activity reaches only the files of its own link: its biosample's other
  files are siblings, not relatives;
* a row no file reaches (the original's orphans: a donor without
  biosamples, a row of a table no link mentions) lists the dataset only;
* the dataset itself is a *hot* entity: its hubs would be every file of the
  dataset, so it lists none but itself, and a manifest finds it by entity id
  through the `datasets` inner entities of the aggregates it reads
  (`HOT_INNER_ENTITY_TYPES`). A DUOS bundle's dataset row (what DUOS says of
  the dataset) is a replica of its own, of the same type and entity id: the
  original keeps both documents, and both come out of a manifest that
  reaches the dataset.

AnVIL bundles have no links document of their own, unlike HCA's: there is
no `links` replica.

Deletions write nothing, as for HCA and in the original: manifests reach
replicas only through live aggregates.
"""
from azul.backends.base import Replica
from azul.plugins.metadata.anvil.indexer import _ref, _Transformer
from azul.plugins.repository.base import Bundle

# The entity type at the root of AnVIL's entity graph (the original's
# `root_entity_type`): filters on nothing but its fields (and the sources)
# select whole datasets, whose manifests include the rows no file reaches
ROOT_ENTITY_TYPE = 'datasets'

# Inner entity types of an aggregate whose ids are those of hot replicas
HOT_INNER_ENTITY_TYPES = ('datasets',)

# The original's AnVIL source fields (`special_fields.source_id` and
# `source_spec`): filters on them select whole datasets too, a dataset
# being one snapshot's
SOURCE_FIELDS = ('source_id', 'source_spec')

FILE_TABLE = 'file'
DATASET_TABLE = 'dataset'


def bundle_replicas(bundle: Bundle, deleted: bool) -> list[Replica]:
    if deleted:
        return []
    hubs = replica_hubs(bundle)
    return [Replica(replica_type=key.partition('/')[0],
                    entity_id=_ref(key)[1],
                    contents=row,
                    source=bundle.source,
                    hub_ids=hubs[key])
            for key, row in bundle.metadata.items()]


def replica_hubs(bundle: Bundle) -> dict[str, tuple[str, ...]]:
    """Metadata key of each row of the bundle → its hub ids, sorted."""
    transformer = _Transformer(bundle)
    dataset_id = transformer.dataset[1]
    result = {}
    for key in bundle.metadata:
        ref = _ref(key)
        table, entity_id = ref
        if table == DATASET_TABLE:
            hubs = {entity_id}
        else:
            files = {r[1] for r in transformer._linked(ref) if r[0] == FILE_TABLE}
            if table == FILE_TABLE:
                files.add(entity_id)
            hubs = {dataset_id, *files}
        result[key] = tuple(sorted(hubs))
    return result


def orphans(bundle: Bundle) -> list[str]:
    """The metadata keys of the rows no file reaches, the dataset aside."""
    dataset_key = 'anvil_dataset/'
    return [key for key, hubs in replica_hubs(bundle).items()
            if not key.startswith(dataset_key) and len(hubs) == 1]

