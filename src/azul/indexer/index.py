"""
The two indexing stages, independent of how work reaches them (a local queue,
SQS, or a reindex loop):

contribute  fetch a bundle, transform it into contributions, write them, and
            return the entities it touched (the tallies);
aggregate   for touched entities, read every contribution, fold them with the
            pure `azul.core.aggregation.aggregate`, and write the aggregates
            with optimistic concurrency, retrying the entities that lost a race.

Both are idempotent: contribution ids are deterministic and an aggregate is a
function of the stored contributions, so re-delivered work converges to the
same index.
"""
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import attrs

from azul.backends.base import AggregateWrite, Replica, Version
from azul.core.aggregation import InnerAggregator, aggregate, shared_folds
from azul.core.documents import BundleFQID, Contribution, IndexedAggregate
from azul.core.fields import FieldRegistry, shared_projections
from azul.errors import ConflictError
from azul.runtime import Runtime

log = logging.getLogger(__name__)

# How often an aggregate write that lost an optimistic-concurrency race is
# retried (re-reading contributions each time) before the work is handed back
# to the queue as failed.
MAX_AGGREGATE_ATTEMPTS = 10

EntityRef = tuple[str, str]  # (entity_type, entity_id)


@attrs.define
class Tally:
    """The entities that contributions touched, which must be aggregated again."""
    entities: set[EntityRef] = attrs.field(factory=set)

    def add(self, contributions: Iterable[Contribution]) -> None:
        self.entities.update((c.entity_type, c.entity_id) for c in contributions)

    def merge(self, other: 'Tally') -> None:
        self.entities |= other.entities

    def by_type(self) -> dict[str, list[str]]:
        result = defaultdict(list)
        for entity_type, entity_id in sorted(self.entities):
            result[entity_type].append(entity_id)
        return dict(result)

    def __len__(self) -> int:
        return len(self.entities)


def fold(entity_type: str, entity_id: str, contributions: Iterable[Contribution],
         aggregators: Mapping[str, InnerAggregator], registry: FieldRegistry
         ) -> IndexedAggregate | None:
    """An entity's aggregate with its projection onto the fields, or None if it has none."""
    result = aggregate(entity_type, entity_id, contributions, aggregators)
    if result is None:
        return None
    return IndexedAggregate(result, registry.extract(result.to_json()))


@attrs.define
class Timings:
    transform: float = 0.0
    write: float = 0.0
    aggregate: float = 0.0


@attrs.frozen
class AggregateOutcome:
    written: int
    deleted: int
    retries: int


class Indexer:

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.timings = Timings()
        self._aggregators: dict[tuple[str, str], Mapping[str, InnerAggregator]] = {}

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Add the wall time of the block to `timings.<stage>`."""
        start = time.perf_counter()
        try:
            yield
        finally:
            setattr(self.timings, stage, getattr(self.timings, stage) + time.perf_counter() - start)

    def create_indices(self, catalog: str, delete: bool = False) -> None:
        plugin = self.runtime.metadata_plugin(catalog)
        backend = self.runtime.backend
        if delete:
            backend.delete_indices(catalog)
        backend.create_indices(catalog, plugin.entity_types, plugin.field_registry)

    def transform(self, catalog: str, source: str, fqid: BundleFQID,
                  deleted: bool) -> list[Contribution]:
        """
        The bundle's contributions, after storing its replicas. Both the
        queue (`contribute`) and a reindex come through here, so that the one
        fetch of the bundle serves both. Replicas go first: the manifests
        reach them only through aggregates, which the contributions lead to,
        so a crash in between leaves nothing half visible, and the re-run
        writes the same ids again.
        """
        contributions, replicas = self.transform_bundle(catalog, source, fqid, deleted)
        self.write_replicas(catalog, replicas)
        return contributions

    def write_replicas(self, catalog: str, replicas: Sequence[Replica]) -> None:
        if replicas:
            with self.timed('write'):
                self.runtime.backend.write_replicas(catalog, replicas)

    def transform_bundle(self, catalog: str, source: str, fqid: BundleFQID, deleted: bool
                         ) -> tuple[list[Contribution], list[Replica]]:
        """The bundle's contributions and replicas, touching no index."""
        with self.timed('transform'):
            repository = self.runtime.repository_plugin(catalog)
            plugin = self.runtime.metadata_plugin(catalog)
            bundle = repository.fetch_bundle(source, fqid)
            contributions = list(plugin.transform(bundle, deleted=deleted))
            replicas = list(plugin.replicas(bundle, deleted))
        return contributions, replicas

    def write_contributions(self, catalog: str, contributions: Sequence[Contribution]) -> Tally:
        with self.timed('write'):
            self.runtime.backend.write_contributions(catalog, contributions)
        tally = Tally()
        tally.add(contributions)
        return tally

    def contribute(self, catalog: str, source: str, fqid: BundleFQID,
                   deleted: bool = False) -> Tally:
        return self.write_contributions(catalog, self.transform(catalog, source, fqid, deleted))

    def aggregate(self, catalog: str, entity_type: str,
                  entity_ids: Sequence[str]) -> AggregateOutcome:
        """
        Recompute the aggregates of the given entities. Raises ConflictError if
        some still lose the race after MAX_AGGREGATE_ATTEMPTS, so that a queue
        re-delivers the work instead of losing it.
        """
        written = deleted = retries = 0
        size = self.runtime.backend.aggregate_batch_size
        for i in range(0, len(entity_ids), size):
            pending = list(entity_ids[i:i + size])
            for attempt in range(MAX_AGGREGATE_ATTEMPTS):
                w, d, conflicts = self._aggregate_once(catalog, entity_type, pending)
                written += w
                deleted += d
                if not conflicts:
                    break
                retries += len(conflicts)
                log.info('Retrying %d %s aggregate(s) that lost a concurrent update, '
                         'attempt %d', len(conflicts), entity_type, attempt + 2)
                pending = conflicts
            else:
                raise ConflictError(f'{len(pending)} {entity_type} aggregate(s) still conflict '
                                    f'after {MAX_AGGREGATE_ATTEMPTS} attempts: {pending[:5]}')
        return AggregateOutcome(written=written, deleted=deleted, retries=retries)

    def _aggregate_once(self, catalog: str, entity_type: str,
                        entity_ids: Sequence[str]) -> tuple[int, int, list[str]]:
        with self.timed('aggregate'):
            return self._aggregate_batch(catalog, entity_type, entity_ids)

    def _aggregate_batch(self, catalog: str, entity_type: str,
                         entity_ids: Sequence[str]) -> tuple[int, int, list[str]]:
        current, contributions = self.read_batch(catalog, entity_type, entity_ids)
        # Contributions read together share their equal inner entities (the
        # project's, say, in every file's contribution): each list of them
        # is folded once, and so are the fields projected from those folds
        with shared_folds(), shared_projections():
            documents = self.fold_all(catalog, entity_type, entity_ids, contributions)
        return self.write_batch(catalog, entity_type, entity_ids, current, documents)

    def read_batch(self, catalog: str, entity_type: str, entity_ids: Sequence[str]
                   ) -> tuple[Mapping[str, Version], Mapping[str, list[Contribution]]]:
        """The versions of the entities' stored aggregates, and their every stored contribution."""
        backend = self.runtime.backend
        # Versions are read before contributions: a contribution written after
        # our read bumps nothing, but its own tally's aggregate write will then
        # conflict with ours or follow it, so no contribution is ever lost.
        current = backend.read_versions(catalog, entity_type, entity_ids)
        return current, backend.read_contributions(catalog, entity_type, entity_ids)

    def write_batch(self, catalog: str, entity_type: str, entity_ids: Sequence[str],
                    current: Mapping[str, Version],
                    documents: Mapping[str, IndexedAggregate | None]
                    ) -> tuple[int, int, list[str]]:
        """
        Write the folded aggregates where the stored versions are still
        `current`; returns how many were written and deleted, and the
        entities whose versions had changed.
        """
        writes = []
        deleted = 0
        for entity_id in entity_ids:
            document = documents[entity_id]
            expected = current.get(entity_id)
            if document is None:
                # Even with nothing stored, write the deletion: a concurrent
                # aggregation that read contributions before this bundle's
                # deletion and created the document meanwhile then makes this
                # write conflict, and the retry deletes what it created.
                deleted += expected is not None
            writes.append(AggregateWrite(entity_id, document, expected))
        backend = self.runtime.backend
        conflicts = backend.write_aggregates(catalog, entity_type, writes) if writes else []
        written = sum(1 for w in writes if w.document is not None)
        return written, deleted, list(conflicts)

    def fold_all(self, catalog: str, entity_type: str, entity_ids: Sequence[str],
                 contributions: Mapping[str, Sequence[Contribution]]
                 ) -> dict[str, IndexedAggregate | None]:
        """Each entity's aggregate from its stored contributions (None: it has none)."""
        plugin = self.runtime.metadata_plugin(catalog)
        registry = plugin.field_registry
        # The same aggregator objects every time: the fold memo knows them by identity
        key = (catalog, entity_type)
        aggregators = self._aggregators.get(key)
        if aggregators is None:
            aggregators = self._aggregators[key] = plugin.aggregators(entity_type)
        return {entity_id: fold(entity_type, entity_id, contributions.get(entity_id, ()),
                                aggregators, registry)
                for entity_id in entity_ids}

    def aggregate_tally(self, catalog: str, tally: Tally) -> dict[str, AggregateOutcome]:
        return {
            entity_type: self.aggregate(catalog, entity_type, entity_ids)
            for entity_type, entity_ids in tally.by_type().items()
        }

    def index_bundles(self, catalog: str, source: str, fqids: Iterable[BundleFQID],
                      deleted: bool = False) -> Mapping[str, AggregateOutcome]:
        """Contribute a batch of bundles, then aggregate everything they touched once."""
        tally = Tally()
        for fqid in fqids:
            tally.merge(self.contribute(catalog, source, fqid, deleted))
        return self.aggregate_tally(catalog, tally)
