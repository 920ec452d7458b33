"""
The CPU-bound halves of a reindex on every core. Worker processes, each with
a Runtime of its own built from the same Config, fetch and transform chunks
of bundles (`transform_chunk`) and fold chunks of entities into aggregates
(`fold_chunk`); only the parent writes: a DuckDB file has one writer, and one
writer batching large appends beats several contending for it.

Workers are spawned rather than forked, because the parent holds a backend
(DuckDB's threads, open sockets) that a fork would copy in an undefined state.
At most two tasks per worker are in flight, so memory is bounded by the size
of a task, not by the catalog.
"""
import concurrent.futures as cf
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from typing import Any

import attrs
import orjson

from azul.backends.base import Replica
from azul.config import Config
from azul.core.aggregation import shared_folds
from azul.core.documents import BundleFQID, Contribution, IndexedAggregate
from azul.core.fields import shared_projections
from azul.errors import AzulError
from azul.indexer.index import Indexer, fold
from azul.plugins.repository.base import BundleProblem
from azul.runtime import Runtime

# Bundles per transform task: large enough that handing a task to a process
# costs little next to doing it, small enough to bound the memory in flight
# (a synthetic bundle makes ~11 contributions of ~5 kB)
CHUNK_SIZE = 100

# Contributions per fold task (whole entities: a project's may exceed it)
FOLD_SIZE = 2000


@attrs.frozen
class Chunk:
    catalog: str
    source: str
    fqids: tuple[BundleFQID, ...]


@attrs.frozen
class ChunkResult:
    bundles: int
    contributions: list[Contribution]
    replicas: list[Replica]
    problems: list[BundleProblem]
    seconds: float


@attrs.frozen
class FoldChunk:
    catalog: str
    entity_type: str
    # Each entity's contributions as the JSON of `Contribution.to_json`,
    # passed on as read from the spill: the parent need not parse them; or,
    # folded in the process that holds them, as they are
    entities: tuple[tuple[str, tuple[str | Contribution, ...]], ...]


@attrs.frozen
class FoldResult:
    documents: list[IndexedAggregate]
    contributions: int
    seconds: float


def transform_chunk(runtime: Runtime, chunk: Chunk) -> ChunkResult:
    """Fetch and transform the chunk's bundles; an unreadable one is a problem, not a failure."""
    start = time.process_time()
    indexer = Indexer(runtime)
    contributions: list[Contribution] = []
    replicas: list[Replica] = []
    problems = []
    for fqid in chunk.fqids:
        try:
            c, r = indexer.transform_bundle(chunk.catalog, chunk.source, fqid, deleted=False)
        except AzulError as e:
            # One unreadable bundle must not abort a reindex: it is reported by name
            problems.append(BundleProblem(f'{chunk.source} {fqid.uuid}.{fqid.version}', str(e)))
        else:
            contributions.extend(c)
            replicas.extend(r)
    return ChunkResult(bundles=len(chunk.fqids) - len(problems),
                       contributions=contributions,
                       replicas=replicas,
                       problems=problems,
                       seconds=time.process_time() - start)


def fold_chunk(runtime: Runtime, chunk: FoldChunk) -> FoldResult:
    """The aggregates of the chunk's entities (none for an entity without live contributions)."""
    start = time.process_time()
    plugin = runtime.metadata_plugin(chunk.catalog)
    aggregators = plugin.aggregators(chunk.entity_type)
    registry = plugin.field_registry
    documents = []
    count = 0
    parsed = any(not isinstance(line, Contribution)
                 for _, lines in chunk.entities for line in lines)
    # Contributions folded where they were made share their inner entity
    # objects, and the caller's memos see them; those parsed here from the
    # spill share none until equal ones are made one object again (by their
    # JSON text), so that the fold and the projection take each list of them
    # once in the chunk: a project's entities recur in most of its
    # contributions, whichever bundles made them
    with ExitStack() as memos:
        if parsed:
            memos.enter_context(shared_folds())
            memos.enter_context(shared_projections())
        interned: dict[bytes, Any] = {}
        for entity_id, lines in chunk.entities:
            contributions = [line if isinstance(line, Contribution) else _parse(line, interned)
                             for line in lines]
            count += len(contributions)
            document = fold(chunk.entity_type, entity_id, contributions, aggregators, registry)
            if document is not None:
                documents.append(document)
    return FoldResult(documents=documents, contributions=count,
                      seconds=time.process_time() - start)


def _parse(line: str, interned: dict[bytes, Any]) -> Contribution:
    """A spilled contribution, each of its inner entities the one object of its JSON text."""
    doc = orjson.loads(line)
    contents = doc['contents']
    dumps = orjson.dumps
    for inner_type, entities in contents.items():
        if entities.__class__ is list:
            contents[inner_type] = [interned.setdefault(dumps(entity), entity)
                                    for entity in entities]
    return Contribution.from_json(doc)


_worker_runtime: Runtime | None = None

# Seconds between a worker's checks that the process that started it lives
ORPHAN_CHECK_S = 0.5


def _init_worker(config: Config, parent: int) -> None:
    global _worker_runtime
    # Ctrl-C reaches the whole process group: the parent stops its workers
    # itself, so that none dies with a traceback in the middle of a task
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True,
                     name='orphan-check').start()
    _worker_runtime = Runtime(config)


def _exit_when_orphaned(parent: int) -> None:
    # A parent killed with SIGKILL cannot stop its workers, and a worker
    # waiting for a task would wait for ever; a re-parented one stops itself
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_S)
    os._exit(1)


def in_worker(function: Callable[[Runtime, Any], Any], task: Any) -> Any:
    """`function(runtime, task)` in a worker of `spawn_workers`, with the worker's Runtime."""
    assert _worker_runtime is not None
    return function(_worker_runtime, task)


def spawn_workers(config: Config, processes: int) -> cf.ProcessPoolExecutor:
    """
    A pool of spawned worker processes, each with a Runtime of `config`, that
    ignore Ctrl-C and stop themselves soon after this process dies.
    """
    return cf.ProcessPoolExecutor(max_workers=processes,
                                  mp_context=multiprocessing.get_context('spawn'),
                                  initializer=_init_worker,
                                  initargs=(config, os.getpid()))


class ReindexPool:
    """
    Runs tasks in `workers` spawned processes; with fewer than two, in this
    process, one at a time (a small catalog does not pay for starting them).
    """

    def __init__(self, runtime: Runtime, workers: int):
        self._runtime = runtime
        self._workers = workers
        self._pool: cf.ProcessPoolExecutor | None = None

    def __enter__(self) -> 'ReindexPool':
        if self._workers >= 2:
            self._pool = spawn_workers(self._runtime.config, self._workers)
        return self

    def __exit__(self, *exc_info) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def map(self, function: Callable[[Runtime, Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        """The results of `function(runtime, task)` for every task, in the order they complete."""
        pool = self._pool
        if pool is None:
            for task in tasks:
                yield function(self._runtime, task)
            return
        pending: set[cf.Future] = set()
        for task in tasks:
            if len(pending) >= 2 * self._workers:
                done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                yield from (f.result() for f in done)
            pending.add(pool.submit(in_worker, function, task))
        while pending:
            done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            yield from (f.result() for f in done)
