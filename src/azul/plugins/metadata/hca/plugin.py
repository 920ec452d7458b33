"""
The HCA metadata plugin: the field registry, shaping and summaries of this
package, and the transformers and aggregators of `transform` and `aggregate`.
"""
from collections.abc import Iterable, Mapping
from typing import Any

from azul.backends.base import Replica
from azul.core.aggregation import InnerAggregator
from azul.core.documents import Contribution
from azul.core.filters import Filters
from azul.core.search import SummaryRequest, SummaryResult
from azul.plugins.metadata.base import HitContext, MetadataPlugin, ReplicaJoin
from azul.plugins.metadata.hca import fields, shape, summary
from azul.plugins.metadata.hca.manifest import manifest_config
from azul.plugins.repository.base import Bundle


class HCAPlugin(MetadataPlugin):
    name = 'hca'
    # As the original: project metadata is public, the data behind it may not be
    open_entity_types = ('projects',)

    field_registry = fields.registry
    default_sorts = fields.default_sorts
    # The reference API's order; compact is the default
    manifest_formats = ('compact', 'terra.bdbag', 'terra.pfb', 'curl', 'verbatim.jsonl',
                        'verbatim.pfb')
    manifest_config = manifest_config

    @property
    def entity_types(self) -> tuple[str, ...]:
        # Imported here so that the service side does not load the indexer's
        # metadata model until something indexes
        from azul.plugins.metadata.hca.transform import ENTITY_TYPES
        return tuple(ENTITY_TYPES)

    def transform(self, bundle: Bundle, deleted: bool) -> Iterable[Contribution]:
        from azul.plugins.metadata.hca.transform import transform_bundle
        drs_domain = 'localhost' if self.config is None else self.config.drs_domain
        return transform_bundle(bundle, deleted, drs_domain)

    def replicas(self, bundle: Bundle, deleted: bool) -> Iterable[Replica]:
        from azul.plugins.metadata.hca.replicas import bundle_replicas
        return bundle_replicas(bundle, deleted)

    @property
    def replica_join(self) -> ReplicaJoin:
        from azul.plugins.metadata.hca import replicas
        return ReplicaJoin(root_entity_type=replicas.ROOT_ENTITY_TYPE,
                           hot_inner_entity_types=tuple(replicas.HOT_INNER_ENTITY_TYPES.values()),
                           source_fields=('sourceId', 'sourceSpec'))

    def aggregators(self, entity_type: str) -> Mapping[str, InnerAggregator]:
        from azul.plugins.metadata.hca.aggregate import aggregators
        return aggregators(entity_type)

    def shape_hit(self, entity_type: str, document: Mapping[str, Any],
                  context: HitContext) -> dict[str, Any]:
        return shape.shape_hit(entity_type, document, context)

    def summary_requests(self, filters: Filters) -> Mapping[str, SummaryRequest]:
        return summary.summary_requests(filters)

    def shape_summary(self, results: Mapping[str, SummaryResult]) -> dict[str, Any]:
        return summary.shape_summary(results)

    def facet_companions(self) -> Mapping[str, str]:
        return dict(fields.facet_companions)


