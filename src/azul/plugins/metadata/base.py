"""
The MetadataPlugin interface, split by concern: the field registry (API
names, facets, default sorts), transformers and aggregators (indexer side),
response shaping and summaries (service side).
"""
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

import attrs

from azul.backends.base import Replica
from azul.core.aggregation import InnerAggregator
from azul.core.documents import Contribution
from azul.core.fields import FieldRegistry
from azul.core.filters import Filters
from azul.core.search import Order, SummaryRequest, SummaryResult
from azul.errors import BadRequestError
from azul.plugins.repository.base import Bundle


@attrs.frozen
class HitContext:
    """What shaping a hit needs from the request: where file URLs point."""
    catalog: str
    # Absolute URL of the service root, without a trailing slash
    service_url: str
    #: The sources the caller may read: which entities are `accessible`
    readable: frozenset[str] = frozenset()

    def file_url(self, file_uuid: str, version: str | None) -> str:
        url = f'{self.service_url}/repository/files/{file_uuid}?catalog={self.catalog}'
        # The version's colons are escaped, as in the original's links
        return url if version is None else f'{url}&version={quote(version, safe="")}'


@attrs.frozen
class ReplicaJoin:
    """
    How the verbatim manifests reach a plugin's replicas from the aggregates
    matching the filters (the original's `root_entity_type`,
    `hot_entity_types` and special source fields).
    """
    # Filters only on fields of this entity type (or the source fields)
    # select whole roots: the manifest then starts from their aggregates and
    # includes orphans, the replicas no file connects to
    root_entity_type: str
    # Inner entity types of an aggregate whose `document_id`s are entity ids
    # of replicas that do not list their hubs (hot entities)
    hot_inner_entity_types: tuple[str, ...]
    source_fields: tuple[str, ...]


class MetadataPlugin(ABC):
    name: str

    def __init__(self, config: Any = None):
        # The deployment's settings (`azul.config.Config`), for what a plugin
        # needs of them, e.g. the DRS domain; None in tests of pure functions
        self.config = config

    @property
    @abstractmethod
    def entity_types(self) -> tuple[str, ...]:
        """Every entity type the transformers produce (indices to create)."""

    #: The API's field names, facets and filters (declared by each plugin)
    field_registry: FieldRegistry

    #: Entity type served at /index/{entity_type} -> its default sort
    default_sorts: Mapping[str, tuple[str, Order]]

    @property
    def exposed_entity_types(self) -> tuple[str, ...]:
        """Entity types served at /index/{entity_type}."""
        return tuple(self.default_sorts)

    #: Entity types listed to every caller, each hit marked `accessible` or
    #: not (the original: HCA projects, AnVIL datasets); the other entity
    #: types only show what the caller may read
    open_entity_types: tuple[str, ...] = ()

    #: The field of the entity's sources, which access control reads and a
    #: filter of a source the caller may not read is refused on (the
    #: original's `special_fields.source_id`)
    source_id_field: str = 'sourceId'

    #: The field the service's file downloads and DRS look a file up by (the
    #: original's `special_fields.file_uuid`); its version is `fileVersion`
    file_id_field: str = 'fileId'

    def default_sort(self, entity_type: str) -> tuple[str, Order]:
        try:
            return self.default_sorts[entity_type]
        except KeyError:
            raise BadRequestError(f'Unknown entity type {entity_type!r}; expected one of '
                                  f'{", ".join(self.exposed_entity_types)}') from None

    @abstractmethod
    def transform(self, bundle: Bundle, deleted: bool) -> Iterable[Contribution]:
        """One contribution per entity the bundle touches."""

    def replicas(self, bundle: Bundle, deleted: bool) -> Iterable[Replica]:
        """
        The bundle's metadata documents as submitted, for the verbatim
        manifests (see `Replica`); none for a deletion or a plugin without
        verbatim manifests.
        """
        return ()

    @property
    def replica_join(self) -> ReplicaJoin | None:
        """How verbatim manifests join aggregates to replicas; None: no replicas."""
        return None

    @property
    def verbatim_pfb_records(self) -> Mapping[str, Any] | None:
        """
        The Avro record of each replica type of a verbatim PFB, for a plugin
        whose data model types them (AnVIL); None: derived from the replicas
        a manifest holds (HCA), as the original does.
        """
        return None

    @abstractmethod
    def aggregators(self, entity_type: str) -> Mapping[str, InnerAggregator]: ...

    @abstractmethod
    def shape_hit(self, entity_type: str, document: Mapping[str, Any],
                  context: HitContext) -> dict[str, Any]:
        """An aggregate document as a hit of /index/{entity_type}."""

    @abstractmethod
    def summary_requests(self, filters: Filters) -> Mapping[str, SummaryRequest]:
        """The backend requests behind /index/summary, by a name of the plugin's choice."""

    @abstractmethod
    def shape_summary(self, results: Mapping[str, SummaryResult]) -> dict[str, Any]:
        """The /index/summary response from the results of `summary_requests`."""

    #: Names of the manifest formats the plugin's catalogs offer
    #: (`azul.manifests.formats.FORMATS`); the first is the default
    manifest_formats: tuple[str, ...] = ()

    #: The columns of the tabular manifests: path of a list of entities in a
    #: `files` aggregate → {field name → column name}, in column order
    manifest_config: Mapping[tuple[str, ...], Mapping[str, str]] = {}

    def facet_companions(self) -> Mapping[str, str]:
        """
        Facets whose terms carry the distinct values of another field, e.g.
        the `project` facet's terms carry `projectId`: facet name -> field name.
        """
        return {}
