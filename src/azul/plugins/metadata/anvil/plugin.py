"""
The AnVIL metadata plugin: the field registry of `fields`, the transformers
and aggregators of `transform` and `aggregate`, the hits of `shape` and the
summary of `summary`, after the original Azul's AnVIL plugin.

Manifests: `compact` only (see `manifest`). Not (yet) provided: the
original's `terra.pfb`, and replicas for its verbatim manifests; `curl`
needs mirroring in the original, which this deployment does not do.
"""
from collections.abc import Iterable, Mapping
from typing import Any

from azul.core.aggregation import InnerAggregator
from azul.core.documents import Contribution
from azul.core.fields import FieldRegistry
from azul.core.filters import Filters
from azul.core.search import Order, SummaryRequest, SummaryResult
from azul.errors import BadRequestError
from azul.plugins.metadata.anvil import aggregate, fields, shape, summary, transform
from azul.plugins.metadata.anvil.manifest import ManifestConfig, manifest_config
from azul.plugins.metadata.base import HitContext, MetadataPlugin
from azul.plugins.repository.base import Bundle


class AnvilPlugin(MetadataPlugin):
    name = 'anvil'
    # As the original: every caller may list datasets, the rest is limited
    # to the sources the caller may read
    open_entity_types = ('datasets',)

    @property
    def entity_types(self) -> tuple[str, ...]:
        return transform.ENTITY_TYPES

    @property
    def exposed_entity_types(self) -> tuple[str, ...]:
        return tuple(fields.default_sorts)

    @property
    def field_registry(self) -> FieldRegistry:
        return fields.registry

    def default_sort(self, entity_type: str) -> tuple[str, Order]:
        try:
            return fields.default_sorts[entity_type]
        except KeyError:
            raise BadRequestError(f'Unknown entity type {entity_type!r}; expected one of '
                                  f'{", ".join(self.exposed_entity_types)}') from None

    def transform(self, bundle: Bundle, deleted: bool) -> Iterable[Contribution]:
        return transform.transform_bundle(bundle, deleted)

    def aggregators(self, entity_type: str) -> Mapping[str, InnerAggregator]:
        return aggregate.aggregators(entity_type)

    def shape_hit(self, entity_type: str, document: Mapping[str, Any],
                  context: HitContext) -> dict[str, Any]:
        return shape.shape_hit(entity_type, document, context)

    def summary_requests(self, filters: Filters) -> Mapping[str, SummaryRequest]:
        return summary.summary_requests(filters)

    def shape_summary(self, results: Mapping[str, SummaryResult]) -> dict[str, Any]:
        return summary.shape_summary(results)

    @property
    def manifest_formats(self) -> tuple[str, ...]:
        return ('compact',)

    @property
    def manifest_config(self) -> ManifestConfig:
        return manifest_config
