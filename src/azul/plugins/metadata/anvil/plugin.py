"""
The AnVIL metadata plugin: the field registry and manifest columns of
`fields`, the transformers and aggregators of `indexer`, the hits and the
summary of `response`, after the original Azul's AnVIL plugin.

Manifests: `compact` (see `fields.manifest_config`), `terra.pfb`
(`azul.manifests.formats.pfb_anvil`) and, from the replicas of `replicas`,
`verbatim.jsonl` and `verbatim.pfb`. Not `curl`: it needs mirroring in the
original, which this deployment does not do.
"""
from collections.abc import Iterable, Mapping
from typing import Any

from azul.backends.base import Replica
from azul.core.aggregation import InnerAggregator
from azul.core.documents import Contribution
from azul.core.filters import Filters
from azul.core.search import SummaryRequest, SummaryResult
from azul.plugins.metadata.anvil import fields, indexer, replicas, response, schema
from azul.plugins.metadata.anvil.fields import manifest_config
from azul.plugins.metadata.base import HitContext, MetadataPlugin, ReplicaJoin
from azul.plugins.repository.base import Bundle


class AnvilPlugin(MetadataPlugin):
    name = 'anvil'
    # As the original: every caller may list datasets, the rest is limited
    # to the sources the caller may read
    open_entity_types = ('datasets',)
    # The original's AnVIL name of the sources field (`special_fields.source_id`)
    source_id_field = 'source_id'
    file_id_field = 'files.document_id'

    field_registry = fields.registry
    default_sorts = fields.default_sorts
    # As the original's with replicas enabled and mirroring disabled
    manifest_formats = ('compact', 'terra.pfb', 'verbatim.jsonl', 'verbatim.pfb')
    manifest_config = manifest_config

    @property
    def entity_types(self) -> tuple[str, ...]:
        return indexer.ENTITY_TYPES

    def transform(self, bundle: Bundle, deleted: bool) -> Iterable[Contribution]:
        return indexer.transform_bundle(bundle, deleted)

    def replicas(self, bundle: Bundle, deleted: bool) -> Iterable[Replica]:
        return replicas.bundle_replicas(bundle, deleted)

    @property
    def replica_join(self) -> ReplicaJoin:
        return ReplicaJoin(root_entity_type=replicas.ROOT_ENTITY_TYPE,
                           hot_inner_entity_types=replicas.HOT_INNER_ENTITY_TYPES,
                           source_fields=replicas.SOURCE_FIELDS)

    @property
    def verbatim_pfb_records(self) -> Mapping[str, Any]:
        # The original types an AnVIL verbatim PFB by the AnVIL data model
        return schema.pfb_records()

    def aggregators(self, entity_type: str) -> Mapping[str, InnerAggregator]:
        return indexer.aggregators(entity_type)

    def shape_hit(self, entity_type: str, document: Mapping[str, Any],
                  context: HitContext) -> dict[str, Any]:
        return response.shape_hit(entity_type, document, context)

    def summary_requests(self, filters: Filters) -> Mapping[str, SummaryRequest]:
        return response.summary_requests(filters)

    def shape_summary(self, results: Mapping[str, SummaryResult]) -> dict[str, Any]:
        return response.shape_summary(results)


