"""
The CPU-bound halves of the local worker's rounds in spawned processes: the
transform of a round's bundles and the fold of the entities its tallies
name. The worker's own process receives, reads, writes and acknowledges, as
only it may write to the index (a DuckDB file has one writer), and it alone
touches the queue, so that the queue's semantics do not depend on the pool:
a message is acknowledged once what it caused is written, and a process of
the pool that dies only makes the work it held run again.

A pool that breaks (a process killed, or out of memory) is replaced by a new
one. Bundles whose transform was lost with it are transformed again one by
one, each in a task of its own, so that a bundle that kills its process
fails alone (its notification is released for a later attempt, like any
failure) rather than with its round; a fold that was lost fails its
tallies, which the worker then aggregates one by one, so that the same holds.

Only for a local server: an AWS Lambda function has a single process, and
its worker folds and transforms in it.
"""
import concurrent.futures as cf
import functools
import heapq
import logging
import pickle
import traceback
from collections import defaultdict, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import attrs

from azul.backends.base import Replica
from azul.config import Config
from azul.core.documents import BundleFQID, Contribution, IndexedAggregate
from azul.errors import AzulError
from azul.indexer.index import AggregateOutcome, Indexer, Tally, fold
from azul.indexer.reindex_pool import in_worker, spawn_workers
from azul.runtime import Runtime

log = logging.getLogger(__name__)

# Bundles per transform task, at most: tasks small enough that both
# processes stay busy until the round's last bundle, large enough that a
# task's overhead is negligible
TRANSFORM_TASK = 50

# Contributions below which a batch of entities is folded in the worker's own
# process: handing it to another costs more than it saves (an idle server's
# single bundle, say)
MIN_POOLED_FOLD = 200

# Entities per batch of the pooled aggregation: the pool folds one batch
# while this process writes the one before, so batches stay small enough to
# overlap (the backend's `aggregate_batch_size` is for the unpooled way)
POOL_BATCH_SIZE = 500

# A contribution as it travels to a folding process: builtins only, which
# pickle in C, where the attrs classes take a Python call each
PackedContribution = tuple[str, str, str, bool, Mapping[str, Any]]

Transformed = tuple[list[Contribution], list[Replica]]


class ProcessDied(RuntimeError):
    """A process of the pool died while it held this work; it may be done again."""


@attrs.frozen
class TransformTask:
    bodies: tuple[Mapping[str, Any], ...]


@attrs.frozen
class FoldTask:
    catalog: str
    entity_type: str
    entities: tuple[tuple[str, tuple[PackedContribution, ...]], ...]


def transform_bodies(runtime: Runtime, task: TransformTask) -> list[Transformed | Exception]:
    """Each notification's contributions and replicas, or why it failed."""
    indexer = Indexer(runtime)
    results: list[Transformed | Exception] = []
    for body in task.bodies:
        try:
            fqid = BundleFQID(body['uuid'], body['version'])
            results.append(indexer.transform_bundle(body['catalog'], body['source'], fqid,
                                                    deleted=body['action'] == 'delete'))
        except Exception as e:
            results.append(_portable(e))
    return results


def _portable(error: Exception) -> Exception:
    """The error, fit to be sent to the parent, a fault with this process's traceback."""
    if not isinstance(error, AzulError):
        # The parent logs the traceback of a fault; the one it has is its own
        error.add_note(''.join(traceback.format_exception(error)).rstrip())
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f'{type(error).__name__}: {error}',
                            ''.join(traceback.format_exception(error)))
    return error


def fold_entities(runtime: Runtime, task: FoldTask) -> list[tuple[str, IndexedAggregate | None]]:
    plugin = runtime.metadata_plugin(task.catalog)
    aggregators = plugin.aggregators(task.entity_type)
    registry = plugin.field_registry
    results = []
    for entity_id, packed in task.entities:
        contributions = [Contribution(entity_type=task.entity_type, entity_id=entity_id,
                                      bundle=BundleFQID(uuid, version), source=source,
                                      deleted=deleted, contents=contents)
                         for uuid, version, source, deleted, contents in packed]
        results.append((entity_id, fold(task.entity_type, entity_id, contributions,
                                        aggregators, registry)))
    return results


def _pack(contributions: Sequence[Contribution]) -> tuple[PackedContribution, ...]:
    return tuple((c.bundle.uuid, c.bundle.version, c.source, c.deleted, c.contents)
                 for c in contributions)


def _nothing(runtime: Runtime, task: None) -> None:
    return None


class LivePool:
    """
    `processes` spawned processes for the local worker, started by `start()`
    (or the first task), stopped by `close()`, and replaced when one dies.
    Used by the worker's thread alone.
    """

    def __init__(self, config: Config, processes: int):
        assert processes >= 2, 'one process is the worker itself'
        self.config = config
        self.processes = processes
        self._executor: cf.ProcessPoolExecutor | None = None
        # Pools replaced after one of their processes died
        self.replaced = 0

    def start(self, wait: bool = False) -> None:
        """
        Start the processes now, rather than with the first round's tasks;
        with `wait`, return once they are ready for tasks.
        """
        executor = self._live()
        futures = [executor.submit(in_worker, _nothing, None) for _ in range(self.processes)]
        if wait:
            cf.wait(futures)

    def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def pids(self) -> list[int]:
        """The process ids of the pool's processes (none before `start`)."""
        executor = self._executor
        # The executor keeps no public list of its processes
        return sorted(executor._processes) if executor is not None else []

    def _live(self) -> cf.ProcessPoolExecutor:
        if self._executor is None:
            self._executor = spawn_workers(self.config, self.processes)
        return self._executor

    def _replace(self, executor: cf.ProcessPoolExecutor) -> None:
        # Only once per broken pool, however many of its tasks were lost
        if self._executor is executor:
            log.warning('A process of the indexer pool died; starting a new pool')
            self._executor = None
            self.replaced += 1
            executor.shutdown(wait=False, cancel_futures=True)

    def _submit(self, function: Callable[[Runtime, Any], Any], task: Any
                ) -> tuple[cf.ProcessPoolExecutor, cf.Future]:
        executor = self._live()
        try:
            return executor, executor.submit(in_worker, function, task)
        except BrokenProcessPool:
            # It broke while idle: the task is the first of a new pool
            self._replace(executor)
            executor = self._live()
            return executor, executor.submit(in_worker, function, task)

    def transform(self, bodies: Sequence[Mapping[str, Any]]) -> 'PendingTransforms':
        """Start transforming the notifications' bundles; `results()` waits for them."""
        size = min(TRANSFORM_TASK, -(-len(bodies) // self.processes)) or 1
        tasks = [TransformTask(tuple(bodies[i:i + size])) for i in range(0, len(bodies), size)]
        return PendingTransforms(self, [(task, *self._submit(transform_bodies, task))
                                        for task in tasks])

    def fold(self, catalog: str, entity_type: str, entity_ids: Sequence[str],
             contributions: Mapping[str, Sequence[Contribution]]
             ) -> dict[str, IndexedAggregate | None] | None:
        """
        The entities' aggregates, folded by the pool, or None if there are too
        few contributions for that to pay. Raises ProcessDied if a process died
        with the work.
        """
        pending = self.start_fold(catalog, entity_type, entity_ids, contributions)
        return None if pending is None else pending()

    def start_fold(self, catalog: str, entity_type: str, entity_ids: Sequence[str],
                   contributions: Mapping[str, Sequence[Contribution]]
                   ) -> Callable[[], dict[str, IndexedAggregate | None]] | None:
        """Like `fold`, but returns at once: a function that waits for the aggregates."""
        sizes = {entity_id: len(contributions.get(entity_id, ())) for entity_id in entity_ids}
        if sum(sizes.values()) < MIN_POOLED_FOLD:
            return None
        # Largest first, each to the process with the least so far: a
        # project's hundreds of contributions must not share a process with
        # more than their share of the rest
        shares: list[tuple[int, int, list[str]]] = [(0, i, []) for i in range(self.processes)]
        for entity_id in sorted(entity_ids, key=sizes.__getitem__, reverse=True):
            total, i, ids = heapq.heappop(shares)
            ids.append(entity_id)
            heapq.heappush(shares, (total + sizes[entity_id], i, ids))
        submitted = [
            self._submit(fold_entities, FoldTask(catalog, entity_type, tuple(
                (entity_id, _pack(contributions.get(entity_id, ()))) for entity_id in ids)))
            for _, _, ids in shares if ids
        ]

        def documents() -> dict[str, IndexedAggregate | None]:
            result: dict[str, IndexedAggregate | None] = {}
            for executor, future in submitted:
                try:
                    result.update(future.result())
                except (BrokenProcessPool, cf.CancelledError):
                    self._replace(executor)
                    raise ProcessDied(f'A process folding {len(entity_ids)} {entity_type} '
                                      f'died') from None
            return result

        return documents


class PooledIndexer(Indexer):
    """
    An Indexer whose folds of many contributions are done by the pool, and
    whose aggregation of a tally reads and writes one batch of entities while
    the pool folds the next.
    """

    def __init__(self, runtime: Runtime, pool: LivePool):
        super().__init__(runtime)
        self.pool = pool

    def fold_all(self, catalog: str, entity_type: str, entity_ids: Sequence[str],
                 contributions: Mapping[str, Sequence[Contribution]]
                 ) -> dict[str, IndexedAggregate | None]:
        documents = self.pool.fold(catalog, entity_type, entity_ids, contributions)
        if documents is None:
            return super().fold_all(catalog, entity_type, entity_ids, contributions)
        return documents

    def aggregate_tally(self, catalog: str, tally: Tally) -> dict[str, AggregateOutcome]:
        outcomes: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        in_flight: deque[tuple[str, list[str], Mapping, Callable[[], Mapping]]] = deque()

        def finish() -> None:
            entity_type, ids, current, documents = in_flight.popleft()
            with self.timed('aggregate'):
                written, deleted, conflicts = self.write_batch(catalog, entity_type, ids,
                                                               current, documents())
            outcome = outcomes[entity_type]
            outcome[0] += written
            outcome[1] += deleted
            if conflicts:
                # Lost a race: the ordinary way, one batch at a time, retried
                retried = self.aggregate(catalog, entity_type, conflicts)
                outcome[0] += retried.written
                outcome[1] += retried.deleted
                outcome[2] += len(conflicts) + retried.retries

        for entity_type, entity_ids in tally.by_type().items():
            for i in range(0, len(entity_ids), POOL_BATCH_SIZE):
                ids = entity_ids[i:i + POOL_BATCH_SIZE]
                with self.timed('aggregate'):
                    current, contributions = self.read_batch(catalog, entity_type, ids)
                    pending = self.pool.start_fold(catalog, entity_type, ids, contributions)
                    if pending is None:
                        folded = super().fold_all(catalog, entity_type, ids, contributions)
                        pending = functools.partial(dict, folded)
                in_flight.append((entity_type, ids, current, pending))
                # The batch before is written while the pool folds this one
                if len(in_flight) > 1:
                    finish()
        while in_flight:
            finish()
        return {t: AggregateOutcome(*outcome) for t, outcome in outcomes.items()}


@attrs.frozen
class PendingTransforms:
    pool: LivePool
    tasks: list[tuple[TransformTask, cf.ProcessPoolExecutor, cf.Future]]

    def results(self) -> list[Transformed | Exception]:
        """Each notification's contributions and replicas or error, in their order."""
        results: list[Transformed | Exception] = []
        lost: list[int] = []
        for task, executor, future in self.tasks:
            try:
                results.extend(future.result())
            except (BrokenProcessPool, cf.CancelledError):
                # Cancelled: by the replacement of a pool that broke meanwhile
                self.pool._replace(executor)
                lost.extend(range(len(results), len(results) + len(task.bodies)))
                results.extend(ProcessDied() for _ in task.bodies)
            except Exception as e:
                # The task itself failed (its result could not be sent, say)
                results.extend(e for _ in task.bodies)
        bodies = [body for task, _, _ in self.tasks for body in task.bodies]
        for i in lost:
            # One at a time: a bundle that kills its process again fails alone
            executor, future = self.pool._submit(transform_bodies, TransformTask((bodies[i],)))
            try:
                [results[i]] = future.result()
            except BrokenProcessPool:
                self.pool._replace(executor)
                results[i] = ProcessDied(f'The process transforming bundle '
                                         f'{bodies[i].get("uuid")} died')
            except Exception as e:
                results[i] = e
        return results
