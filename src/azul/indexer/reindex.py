"""
Reindexing a catalog: (re)create its indices, list every bundle of its
sources, contribute them all, then aggregate every touched entity once.

Aggregating after all contributions instead of after each bundle means an
entity shared by many bundles (a project, say) is folded once, not once per
bundle, which is what keeps a reindex linear in the size of the catalog.
"""
import logging
from collections.abc import Callable, Sequence

import attrs

from azul.core.documents import BundleFQID
from azul.errors import AzulError
from azul.indexer.index import Indexer, Tally, Timings
from azul.plugins.repository.base import BundleProblem
from azul.runtime import Runtime

log = logging.getLogger(__name__)

# Contributions are buffered and written in batches of this many, one backend
# round trip each
CONTRIBUTION_BATCH_SIZE = 5000

Progress = Callable[[int], None]


@attrs.frozen
class ReindexReport:
    bundles: int
    contributions: int
    aggregates: int
    deleted: int
    problems: tuple[BundleProblem, ...]
    timings: Timings = attrs.field(factory=Timings, eq=False)

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


def reindex(runtime: Runtime,
            catalog: str,
            sources: Sequence[str] | None = None,
            on_bundle: Progress | None = None,
            on_entities: Progress | None = None,
            on_total: Callable[[str, int], None] | None = None) -> ReindexReport:
    """
    Reindex the catalog from `sources` (default: every source of the catalog).
    The callbacks let a CLI drive progress bars without this module knowing.
    """
    catalog_obj = runtime.catalog(catalog)
    sources = list(sources or catalog_obj.sources)
    indexer = Indexer(runtime)
    indexer.create_indices(catalog, delete=True)
    work: list[tuple[str, BundleFQID]] = []
    problems: list[BundleProblem] = []
    for source in sources:
        fqids, source_problems = list_source(runtime, catalog, source)
        work.extend((source, fqid) for fqid in fqids)
        problems.extend(source_problems)
    if on_total:
        on_total('bundles', len(work))
    tally = Tally()
    buffer = []
    contributions = failed = 0
    for source, fqid in work:
        try:
            buffer.extend(indexer.transform(catalog, source, fqid, deleted=False))
        except AzulError as e:
            # One unreadable bundle must not abort a reindex: report it by name
            problems.append(BundleProblem(f'{source} {fqid.uuid}.{fqid.version}', str(e)))
            failed += 1
            log.warning('Skipping bundle %s.%s: %s', fqid.uuid, fqid.version, e)
        if len(buffer) >= CONTRIBUTION_BATCH_SIZE:
            contributions += _flush(indexer, catalog, buffer, tally)
        if on_bundle:
            on_bundle(1)
    contributions += _flush(indexer, catalog, buffer, tally)
    if on_total:
        on_total('entities', len(tally))
    aggregates = deleted = 0
    for entity_type, entity_ids in tally.by_type().items():
        outcome = indexer.aggregate(catalog, entity_type, entity_ids)
        aggregates += outcome.written
        deleted += outcome.deleted
        if on_entities:
            on_entities(len(entity_ids))
    return ReindexReport(bundles=len(work) - failed,
                         contributions=contributions,
                         aggregates=aggregates,
                         deleted=deleted,
                         problems=tuple(problems),
                         timings=indexer.timings)


def _flush(indexer: Indexer, catalog: str, buffer: list, tally: Tally) -> int:
    if not buffer:
        return 0
    n = len(buffer)
    tally.merge(indexer.write_contributions(catalog, buffer))
    buffer.clear()
    return n
