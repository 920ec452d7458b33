"""
Reindexing a catalog: build a new generation of its indices next to the one
readers use, in two passes over its bundles, the CPU-bound work of both on
every core (`reindex_pool`) while this process alone writes; then switch the
readers to it in one atomic step and drop the old one (see the generations
of `azul.backends.base`). Until the switch, readers see the catalog as it
was; a reindex that fails drops what it built, and one that is killed
leaves it for the next reindex to drop.

contribute  chunks of bundles are fetched and transformed in the workers; this
            process appends their contributions to the fresh indices in large
            batches, stores their replicas, and spills each contribution,
            keyed by its entity, to a temporary file per entity type;
aggregate   each entity type's spill file is sorted by entity in bounded memory
            (`azul.external_sort`) and read once: the contributions of one
            entity are consecutive, go to a worker in chunks of whole entities
            to be folded by the same pure `azul.core.aggregation.aggregate` as
            a notification's, and the aggregates are created in large batches.

Nothing is read back from the indices, and nothing is looked up per entity:
the cost is linear in the catalog (plus a sort), where aggregating in the
indexer's incremental way reads each batch of entities out of every stored
contribution. An entity that gained an aggregate meanwhile (a notification
processed during the reindex) is aggregated again the incremental way, with
its version check, and so is every entity of a contribution that an
incremental writer added to the new generation while it was being built
(`SearchBackend.late_entities`), before the switch and again right after.
"""
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from itertools import groupby
from operator import itemgetter
from typing import IO

import attrs
import orjson

from azul import collector
from azul.core.aggregation import shared_folds
from azul.core.documents import BundleFQID, Contribution, IndexedAggregate
from azul.core.fields import shared_projections
from azul.external_sort import sort_items
from azul.indexer.index import Indexer, Timings
from azul.indexer.reindex_pool import (
    CHUNK_SIZE,
    FOLD_SIZE,
    Chunk,
    ChunkResult,
    FoldChunk,
    FoldResult,
    ReindexPool,
    fold_chunk,
    transform_chunk,
)
from azul.plugins.repository.base import BundleProblem
from azul.runtime import Runtime

log = logging.getLogger(__name__)

# Contributions appended per backend round trip
CONTRIBUTION_BATCH_SIZE = 5000

# Contributions a reindex in one process holds instead of spilling them
IN_MEMORY_CONTRIBUTIONS = 20_000

# Aggregates created per backend round trip
AGGREGATE_BATCH_SIZE = 2000

Progress = Callable[[int], None]


@attrs.frozen
class ReindexReport:
    bundles: int
    contributions: int
    aggregates: int
    problems: tuple[BundleProblem, ...]
    timings: Timings = attrs.field(factory=Timings, eq=False)
    # The generation of the catalog's indices the reindex built
    generation: str = attrs.field(default='', eq=False)

    def to_json(self) -> dict:
        return {
            'bundles': self.bundles,
            'contributions': self.contributions,
            'aggregates': self.aggregates,
            'problems': [{'location': p.location, 'reason': p.reason} for p in self.problems],
        }


def list_source(runtime: Runtime, catalog: str, source: str
                ) -> tuple[list[BundleFQID], list[BundleProblem]]:
    repository = runtime.repository_plugin(catalog)
    listing = repository.list_bundles(source)
    for problem in listing.problems:
        log.warning('Skipping %s: %s', problem.location, problem.reason)
    return list(listing.bundles), list(listing.problems)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()


def reindex(runtime: Runtime,
            catalog: str,
            sources: Sequence[str] | None = None,
            on_bundle: Progress | None = None,
            on_entities: Progress | None = None,
            on_total: Callable[[str, int], None] | None = None,
            workers: int | None = None,
            chunk_size: int = CHUNK_SIZE,
            before_switch: Callable[[], None] | None = None) -> ReindexReport:
    """
    Reindex the catalog from `sources` (default: every source of the catalog)
    with `workers` transforming processes (default: one per core; fewer than
    two transform in this process). The callbacks let a CLI drive progress
    bars without this module knowing: `on_total('bundles' | 'contributions',
    n)` starts a pass, `on_bundle` and `on_entities` count bundles
    transformed and contributions folded. `before_switch` is called once the
    new generation is complete, before readers switch to it; if it raises,
    the reindex fails like any other.
    """
    catalog_obj = runtime.catalog(catalog)
    sources = list(sources or catalog_obj.sources)
    backend = runtime.backend
    plugin = runtime.metadata_plugin(catalog)
    indexer = Indexer(runtime)
    # Before the listing: a notification handled before the new generation
    # exists (and so written only to the old one) is of a bundle the
    # listing already finds
    generation = backend.begin_generation(catalog, plugin.entity_types, plugin.field_registry)
    try:
        report = _build(runtime, indexer, catalog, sources, on_bundle, on_entities, on_total,
                        workers, chunk_size)
        _fold_late(indexer, catalog)
        if before_switch:
            before_switch()
        backend.switch_generation(catalog)
    except BaseException:
        try:
            backend.abandon_generation(catalog)
        except Exception:
            # The next reindex drops it; the cause of the failure matters more
            log.exception('Could not drop generation %s of catalog %r', generation, catalog)
        raise
    # Notifications aggregated into the old generation between the re-fold
    # and the switch
    _fold_late(indexer, catalog)
    return attrs.evolve(report, generation=generation)


def _fold_late(indexer: Indexer, catalog: str) -> None:
    late = indexer.runtime.backend.late_entities(catalog)
    for entity_type, entity_ids in late.items():
        log.info('Aggregating %i %s again: changed by notifications during the reindex',
                 len(entity_ids), entity_type)
        indexer.aggregate(catalog, entity_type, entity_ids)


def _build(runtime: Runtime, indexer: Indexer, catalog: str, sources: Sequence[str],
           on_bundle: Progress | None, on_entities: Progress | None,
           on_total: Callable[[str, int], None] | None, workers: int | None,
           chunk_size: int) -> ReindexReport:
    """Index the sources' bundles into the generation the backend is building."""
    work: list[tuple[str, list[BundleFQID]]] = []
    problems: list[BundleProblem] = []
    seen: set[BundleFQID] = set()
    for source in sources:
        fqids, source_problems = list_source(runtime, catalog, source)
        problems.extend(source_problems)
        # Contributions are appended, not upserted: a bundle that two sources
        # list (overlapping globs) is taken from the first only
        for fqid in seen.intersection(fqids):
            log.warning('Bundle %s.%s is in more than one source; taken from the first',
                        fqid.uuid, fqid.version)
        fqids = [fqid for fqid in fqids if fqid not in seen]
        seen.update(fqids)
        work.append((source, fqids))
    total = sum(len(fqids) for _, fqids in work)
    if workers is None:
        workers = runtime.config.reindex_workers or default_workers()
    # Starting processes costs more than a few chunks take
    workers = min(workers, -(-total // chunk_size))
    if on_total:
        on_total('bundles', total)
    backend = runtime.backend
    # What the process holds before is not garbage the reindex makes
    with (collector.frozen(),
          backend.bulk_load(catalog),
          tempfile.TemporaryDirectory(prefix='azul-reindex-') as tmp,
          ReindexPool(runtime, workers) as pool):
        # Nor is what the backend holds for the load, which grows with it:
        # DuckDB's set of the replica keys written reaches millions of
        # entries, and every full pass of the collector walks each of them,
        # while the objects the load makes set how often a full pass comes,
        # so that the cost per bundle grew with the catalog (issue 16)
        collector.settle()
        # Contributions folded in this process need not be written out and
        # parsed again while there are few enough to hold
        spill = _Spill(tmp, IN_MEMORY_CONTRIBUTIONS if workers < 2 else 0)
        try:
            tasks = (chunk for source, fqids in work
                     for chunk in chunks(catalog, source, fqids, chunk_size))
            # The chunks waiting for this process outlive the young passes
            # and ended in a full pass every one or two chunks, 0.8 ms of CPU
            # a bundle at 30,000 (a sixth of the pass), where rarer passes
            # left the peak RSS as it was
            with collector.rare_full_passes():
                bundles, contributions = _contribute(indexer, catalog, spill,
                                                     pool.map(transform_chunk, tasks),
                                                     problems, on_bundle)
            if on_total:
                on_total('contributions', contributions)
            # The contributions held for the fold, or none
            collector.settle()
            aggregates = 0
            # Folded here (one process), the contributions held are the
            # transform's objects, which share their inner entities, and so
            # do the aggregates folded from them, whose projections share
            # the fields of those entities. The aggregates waiting to be
            # written (the batch, and the results a worker sent) outlive the
            # young passes, ~65 containers each: a full pass every two
            # thousand aggregates walked a few hundred thousand of them and
            # took ~11% of the parent's CPU in the pass at 100,000 bundles
            # while freeing next to nothing (issue 16)
            with shared_folds(), shared_projections(), collector.rare_full_passes():
                for entity_type in spill.entity_types():
                    tasks = spill.fold_chunks(catalog, entity_type)
                    aggregates += _aggregate(indexer, catalog, entity_type,
                                             pool.map(fold_chunk, tasks), on_entities)
        finally:
            spill.close()
    return ReindexReport(bundles=bundles,
                         contributions=contributions,
                         aggregates=aggregates,
                         problems=tuple(problems),
                         timings=indexer.timings)


def chunks(catalog: str, source: str, fqids: Sequence[BundleFQID],
           size: int) -> Iterator[Chunk]:
    for i in range(0, len(fqids), size):
        yield Chunk(catalog, source, tuple(fqids[i:i + size]))


def _contribute(indexer: Indexer, catalog: str, spill: '_Spill',
                results: Iterator[ChunkResult], problems: list[BundleProblem],
                on_bundle: Progress | None) -> tuple[int, int]:
    backend = indexer.runtime.backend
    buffer: list[Contribution] = []
    bundles = contributions = 0

    def flush():
        nonlocal contributions
        with indexer.timed('write'):
            contributions += backend.load_contributions(catalog, buffer)
        spill.add(buffer)
        buffer.clear()

    for result in results:
        indexer.timings.transform += result.seconds
        bundles += result.bundles
        problems.extend(result.problems)
        for problem in result.problems:
            log.warning('Skipping bundle %s: %s', problem.location, problem.reason)
        if result.replicas:
            with indexer.timed('write'):
                backend.write_replicas(catalog, result.replicas)
        buffer.extend(result.contributions)
        if len(buffer) >= CONTRIBUTION_BATCH_SIZE:
            flush()
        if on_bundle:
            on_bundle(result.bundles + len(result.problems))
    if buffer:
        flush()
    return bundles, contributions


def _aggregate(indexer: Indexer, catalog: str, entity_type: str,
               results: Iterator[FoldResult], on_entities: Progress | None) -> int:
    """Create the folded aggregates of one entity type; returns how many were written."""
    backend = indexer.runtime.backend
    batch: list[IndexedAggregate] = []
    written = 0

    def flush():
        nonlocal written
        with indexer.timed('write'):
            taken = backend.load_aggregates(catalog, entity_type, batch)
        written += len(batch) - len(taken)
        if taken:
            # Written by a notification meanwhile: fold again with every
            # stored contribution, under the version check
            written += indexer.aggregate(catalog, entity_type, taken).written
        batch.clear()

    for result in results:
        indexer.timings.aggregate += result.seconds
        batch.extend(result.documents)
        if len(batch) >= AGGREGATE_BATCH_SIZE:
            flush()
        if on_entities:
            on_entities(result.contributions)
    if batch:
        flush()
    return written


class _Spill:
    """
    Contributions by entity type in temporary files, as `entity_id TAB json`
    lines; up to `in_memory` of them, as they are in memory.
    """

    def __init__(self, directory: str, in_memory: int = 0):
        self._directory = directory
        self._files: dict[str, IO[str]] = {}
        self._in_memory = in_memory
        self._held: dict[str, list[Contribution]] | None = {} if in_memory else None
        self._count = 0

    def add(self, contributions: Sequence[Contribution]) -> None:
        held = self._held
        if held is not None:
            self._count += len(contributions)
            if self._count <= self._in_memory:
                for c in contributions:
                    held.setdefault(c.entity_type, []).append(c)
                return
            self._held = None
            for entity_type in sorted(held):
                self._write(held[entity_type])
        self._write(contributions)

    def _write(self, contributions: Sequence[Contribution]) -> None:
        for c in contributions:
            f = self._files.get(c.entity_type)
            if f is None:
                path = os.path.join(self._directory, f'{c.entity_type}.spill')
                f = self._files[c.entity_type] = open(path, 'w+', encoding='utf-8',
                                                      buffering=1024 * 1024)
            f.write(f'{c.entity_id}\t{orjson.dumps(c.to_json()).decode()}\n')

    def entity_types(self) -> list[str]:
        return sorted(self._files if self._held is None else self._held)

    def fold_chunks(self, catalog: str, entity_type: str) -> Iterator[FoldChunk]:
        """The entity type's contributions grouped by entity, in tasks of whole entities."""
        if self._held is None:
            f = self._files[entity_type]
            f.flush()
            f.seek(0)
            rows = (line.rstrip('\n').split('\t', 1) for line in f)
            items = sort_items(rows, directory=self._directory)
        else:
            # In the order of the spilled lines: stable, by entity
            items = sorted(((c.entity_id, c) for c in self._held[entity_type]),
                           key=itemgetter(0))
        entities: list[tuple[str, tuple]] = []
        size = 0
        for entity_id, group in groupby(items, key=itemgetter(0)):
            lines = tuple(line for _, line in group)
            entities.append((entity_id, lines))
            size += len(lines)
            if size >= FOLD_SIZE:
                yield FoldChunk(catalog, entity_type, tuple(entities))
                entities, size = [], 0
        if entities:
            yield FoldChunk(catalog, entity_type, tuple(entities))

    def close(self) -> None:
        for f in self._files.values():
            f.close()
