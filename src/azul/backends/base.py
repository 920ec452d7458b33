"""
The SearchBackend interface: everything the indexer and the service need from
an index, implemented once for embedded DuckDB and once for OpenSearch.

Conventions shared by both implementations:

- A catalog has one aggregate index per entity type and one contribution index
  per entity type. Their names come from `index_name`, so that several
  deployments and catalogs can share one OpenSearch cluster.
- Backends know fields only as `Field` objects from the plugin's registry,
  handed to `create_indices`; they never see plugin document paths. Values
  reach queries only as bound parameters (DuckDB) or JSON values (OpenSearch).
- Aggregates are written with optimistic concurrency: `read_aggregates`
  returns an opaque version per document, `write_aggregates` takes the version
  the writer read (None: the document must not exist yet) and reports which
  writes lost the race, so that the indexer can re-read and retry.
- Semantics of search and summary are those of `azul.core.search`.
- A catalog also has one replica index (`replica_index_name`): the metadata
  documents of its bundles as submitted, for the verbatim manifests (see
  `Replica`). It is created and deleted with the catalog's other indices.
- Generations: a reindex builds a complete new set of the catalog's indices
  (`begin_generation`) next to the set readers use, and makes it theirs in
  one atomic step at the end (`switch_generation`), so that no reader ever
  sees an empty or half-built catalog. The stored index of a generation is
  named `index_name(..., generation)`; the plain name stays what readers
  and incremental writers address (an OpenSearch alias, a DuckDB pointer).
  Indices made by `create_indices` alone (a catalog that was never
  reindexed, or one indexed before generations existed) have no generation
  suffix; the first reindex replaces them like any other generation.
"""
import hashlib
import re
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import attrs
import orjson

from azul.core.documents import Aggregate, Contribution, IndexedAggregate
from azul.core.fields import FieldRegistry
from azul.core.filters import Filters
from azul.core.search import SearchRequest, SearchResult, SummaryRequest, SummaryResult
from azul.errors import AzulError

# Opaque to callers: an int for DuckDB, (seq_no, primary_term) for OpenSearch
Version = Any


@attrs.frozen
class VersionedAggregate:
    aggregate: Aggregate
    version: Version


@attrs.frozen
class AggregateWrite:
    """
    Write `document`, or delete the entity's aggregate if `document` is None,
    provided the stored version is still `expected` (None: absent).
    """
    entity_id: str
    document: IndexedAggregate | None
    expected: Version | None


@attrs.frozen
class Replica:
    """
    One metadata document of a bundle exactly as it was submitted (or, for
    HCA, the bundle's links), as the original Azul stores it for its verbatim
    manifests. `hub_ids` are the entities a manifest reaches the replica
    through: the files connected to it and the catalog's root entity (the
    project), as the original lists them. Replicas of the same document
    written by several bundles are one replica whose hub ids are the union.
    """
    # The schema name (e.g. `donor_organism`, `sequence_file`) or `links`
    replica_type: str
    entity_id: str
    contents: Mapping[str, Any]
    source: str
    hub_ids: tuple[str, ...] = ()

    @property
    def content_hash(self) -> str:
        # Canonical JSON (sorted keys), so that equal documents hash alike
        # whatever order their keys were read in
        return hashlib.sha256(orjson.dumps(self.contents, option=orjson.OPT_SORT_KEYS)
                              ).hexdigest()

    @property
    def id(self) -> str:
        """
        Deterministic, as the original's: a changed document (a newer version
        of the entity) is a replica of its own, the same document is the same
        replica whichever bundle wrote it.
        """
        return f'{self.replica_type}_{self.entity_id}_{self.content_hash}'


def merge_replicas(replicas: Iterable[Replica]) -> dict[str, Replica]:
    """
    The replicas by id, those with the same id (the same document reached
    from several files) folded into one with the union of their hub ids,
    sorted so that a stored list does not depend on the order of writes.
    """
    merged: dict[str, Replica] = {}
    for replica in replicas:
        replica_id = replica.id
        seen = merged.get(replica_id)
        hubs = replica.hub_ids if seen is None else (*seen.hub_ids, *replica.hub_ids)
        hubs = tuple(sorted(set(hubs)))
        # Most replicas come with their hub ids sorted already, and are kept
        merged[replica_id] = replica if hubs == replica.hub_ids else attrs.evolve(replica,
                                                                                  hub_ids=hubs)
    return merged


# Separates an index's plain name from its generation. Neither a catalog
# nor an entity type contains it, so the plain name is everything before it.
GENERATION_SEPARATOR = '__'


def _generational(name: str, generation: str) -> str:
    return f'{name}{GENERATION_SEPARATOR}{generation}' if generation else name


def index_name(prefix: str, deployment: str, catalog: str, entity_type: str,
               aggregate: bool, generation: str = '') -> str:
    kind = 'aggregate' if aggregate else 'contribution'
    return _generational(f'{prefix}_{deployment}_{catalog}_{entity_type}_{kind}', generation)


def replica_index_name(prefix: str, deployment: str, catalog: str,
                       generation: str = '') -> str:
    # Matched by the catalog's pattern (`{prefix}_{deployment}_{catalog}_*`),
    # so that deleting the catalog's indices deletes it too
    return _generational(f'{prefix}_{deployment}_{catalog}_replica', generation)


def new_generation() -> str:
    """
    A fresh generation id: lower case (OpenSearch index names), valid in a
    DuckDB identifier, with the UTC time the reindex began first, so that
    an operator listing indices sees which set is the newer; the random
    tail keeps two reindexes within a second apart.
    """
    return 'g' + time.strftime('%Y%m%d%H%M%S', time.gmtime()) + uuid.uuid4().hex[:6]


_generational_re = re.compile(rf'^(.+){GENERATION_SEPARATOR}(g[0-9]{{14}}[0-9a-f]{{6}})$')


def split_generation(name: str) -> tuple[str, str]:
    """An index's plain name and its generation ('' if it has none)."""
    match = _generational_re.match(name)
    return (name, '') if match is None else (match[1], match[2])


class SearchBackend(ABC):

    @abstractmethod
    def create_indices(self, catalog: str, entity_types: Sequence[str],
                       registry: FieldRegistry) -> None:
        """
        Create the catalog's indices if missing. Idempotent: an existing index
        and its documents are left alone.
        """

    @abstractmethod
    def delete_indices(self, catalog: str) -> None:
        """Delete every index of the catalog, of every generation; missing ones are fine."""

    #: Catalog -> the generation this object builds (see `begin_generation`)
    _building: dict[str, str]

    def begin_generation(self, catalog: str, entity_types: Sequence[str],
                         registry: FieldRegistry) -> str:
        """
        Drop what earlier reindexes of the catalog left unfinished (every
        generation but the one readers use), create a new generation of the
        catalog's indices and point this backend object at it for the
        catalog: its reads and writes of the catalog go there until
        `switch_generation` or `abandon_generation`, while other backend
        objects (the service's, another process's) keep the old one. One
        reindex of a catalog at a time. Returns the generation's id.
        """
        if catalog in self._building:
            raise AzulError(f'Catalog {catalog!r} is already being reindexed by this process')
        self._drop_leftovers(catalog)
        generation = new_generation()
        self._building[catalog] = generation
        try:
            self.create_indices(catalog, entity_types, registry)
        except BaseException:
            self.abandon_generation(catalog)
            raise
        return generation

    @abstractmethod
    def _drop_leftovers(self, catalog: str) -> None:
        """Drop every generation of the catalog but the live one."""

    @abstractmethod
    def switch_generation(self, catalog: str) -> None:
        """
        Make the generation this object builds the one every reader of the
        catalog uses, in one atomic step, and drop the one they used before
        (along with any other leftover generation).
        """

    @abstractmethod
    def abandon_generation(self, catalog: str) -> None:
        """Drop the generation this object builds; readers keep the old one."""

    @abstractmethod
    def generations(self, catalog: str) -> list[str]:
        """
        The generations of which the catalog has indices, sorted ('' for
        indices without a generation): the one readers use, plus any being
        built or left behind by an interrupted reindex.
        """

    def late_entities(self, catalog: str) -> Mapping[str, list[str]]:
        """
        Entity ids by entity type whose contributions incremental writers
        added to the generation being built (or, after the switch, to the
        catalog's indices) while a reindex was building it: their aggregates
        must be folded again from every stored contribution. Only a backend
        whose incremental writers can run alongside a reindex has any.
        """
        return {}

    @abstractmethod
    def write_contributions(self, catalog: str, contributions: Iterable[Contribution]) -> int:
        """Upsert by `Contribution.id`; returns the number written."""

    @abstractmethod
    def read_contributions(self, catalog: str, entity_type: str,
                           entity_ids: Sequence[str]) -> Mapping[str, list[Contribution]]:
        """Every stored contribution of the given entities, by entity id."""

    def load_contributions(self, catalog: str, contributions: Sequence[Contribution]) -> int:
        """
        Contributions of a reindex into indices it just created, so that none
        is stored yet: a backend may append them without looking for stored
        ones. Returns the number written.
        """
        return self.write_contributions(catalog, contributions)

    @abstractmethod
    def write_replicas(self, catalog: str, replicas: Iterable[Replica]) -> int:
        """
        Store replicas by `Replica.id`: a new one as given, an existing one
        gains the hub ids it lacked (never loses any). Idempotent; returns the
        number of replicas given (after merging duplicates by id).
        """

    @abstractmethod
    def scan_replicas(self, catalog: str, hub_ids: Sequence[str],
                      entity_ids: Sequence[str] = (), *,
                      include_hub_ids: bool = False) -> Iterator[Replica]:
        """
        Every stored replica with one of `hub_ids` among its hub ids, or whose
        entity id is one of `entity_ids`, each once, in (entity id, replica id)
        order, streamed. Cost grows with the ids asked for and the replicas
        found, not with the catalog: which is why the replicas' own hub ids
        (a donor's grow with the files of its project) are only read if asked
        for; otherwise they come back empty.
        """

    @abstractmethod
    def read_aggregates(self, catalog: str, entity_type: str,
                        entity_ids: Sequence[str]) -> Mapping[str, VersionedAggregate]:
        """The stored aggregates of the given entities; absent ones are left out."""

    def read_versions(self, catalog: str, entity_type: str,
                      entity_ids: Sequence[str]) -> Mapping[str, Version]:
        """
        The versions of the stored aggregates of the given entities (absent
        ones are left out): what an aggregation needs of them, since it folds
        the aggregates anew. A backend may read them without the documents.
        """
        return {entity_id: aggregate.version for entity_id, aggregate
                in self.read_aggregates(catalog, entity_type, entity_ids).items()}

    @abstractmethod
    def write_aggregates(self, catalog: str, entity_type: str,
                         writes: Sequence[AggregateWrite]) -> list[str]:
        """
        Apply the writes; return the entity ids whose `expected` version no
        longer matched (those writes were not applied).
        """

    def load_aggregates(self, catalog: str, entity_type: str,
                        documents: Sequence[IndexedAggregate]) -> list[str]:
        """
        Create the aggregates of entities that have none yet (a reindex into
        indices it just created). Returns the entity ids that did have one,
        written meanwhile by someone else; those documents were not written,
        and the caller aggregates them again the careful way.
        """
        return self.write_aggregates(catalog, entity_type,
                                     [AggregateWrite(d.entity_id, d, None) for d in documents])

    @abstractmethod
    def get_aggregate(self, catalog: str, entity_type: str, entity_id: str
                      ) -> Mapping[str, Any] | None:
        """One aggregate document (`Aggregate.to_json()`), or None."""

    @abstractmethod
    def search(self, catalog: str, request: SearchRequest) -> SearchResult:
        ...

    @abstractmethod
    def summary(self, catalog: str, request: SummaryRequest) -> SummaryResult:
        ...

    @abstractmethod
    def scan(self, catalog: str, entity_type: str, filters: Filters,
             include: Sequence[str] | None = None) -> Iterator[Mapping[str, Any]]:
        """
        Every matching aggregate document, in entity id order, streamed. With
        `include` (dotted paths into the document), a backend may leave out
        everything else, to move less data; it may also return more.
        """

    @abstractmethod
    def content_version(self, catalog: str) -> str:
        """
        A stamp that changes whenever the catalog's aggregates change (a
        write, a deletion, indices created or deleted): manifests are cached
        under it. Cheap: one lookup, whatever the catalog's size.
        """

    @abstractmethod
    def count(self, catalog: str, entity_type: str, aggregate: bool = True) -> int:
        """Number of documents in an index; 0 if it does not exist."""

    @abstractmethod
    def health(self) -> Mapping[str, Any]:
        """
        `{"up": True, ...details}` if the backend answers; raises
        `ServiceUnavailableError` with a message if not.
        """

    @abstractmethod
    def drop_deployment(self) -> None:
        """Delete every index of this backend's deployment (used by tests)."""

    @contextmanager
    def bulk_load(self, catalog: str) -> Iterator[None]:
        """
        Around a reindex: the backend may trade freshness of reads for write
        throughput (OpenSearch: refresh interval off, restored afterwards,
        also on error). Writes inside are durable as always; reads may lag
        until the block ends.
        """
        yield

    #: Whether `transaction` makes the writes within it one atomic unit
    transactional: bool = False

    #: Entities the indexer aggregates per round trip of reads and writes
    #: (`Indexer.aggregate`): one request's worth of documents
    aggregate_batch_size: int = 500

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """
        The writes (and reads) this thread makes within the block, as one
        unit: reads see the block's own writes, other readers see none of
        them until the block ends, and then all of them; if the block
        raises, none. Only where `transactional`; elsewhere writes within
        apply one by one, as without the block.
        """
        yield

    def close(self) -> None:  # noqa: B027 (optional hook: most backends hold nothing to close)
        """Release connections; the backend must not be used afterwards."""
