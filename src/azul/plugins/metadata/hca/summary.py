"""
/index/summary for HCA: which backend aggregations it takes, per entity type,
and how their results become the original response.

Each figure is computed over the index whose documents it counts, as in the
original: file counts and sizes over `files`, specimens, species, donors and
organs over `samples`, projects, labs and project cell counts over
`projects`, cells per organ over `cell_suspensions`. The same filters apply
to every index because the field registry is shared by all entity types.

`fileCount` counts file documents and `fileTypeSummaries` groups the same
documents by their one format (a null format is a group of its own), so
`fileCount` always equals the sum of the summaries' counts.
"""
from collections.abc import Mapping, Sequence
from typing import Any

from azul.core.filters import Filters
from azul.core.search import (
    Cardinality,
    Count,
    Sum,
    SummaryRequest,
    SummaryResult,
    TermBucket,
    Terms,
)
from azul.plugins.metadata.hca.fields import registry

JSON = dict[str, Any]


def summary_requests(filters: Filters) -> dict[str, SummaryRequest]:
    f = registry.__getitem__
    return {
        'files': SummaryRequest('files', filters, (
            Count('fileCount'),
            Sum('totalFileSize', f('fileSize')),
            Terms('fileTypeSummaries', f('fileFormat'),
                  sums=(f('fileSize'), f('matrixCellCount'))),
        )),
        'samples': SummaryRequest('samples', filters, (
            Terms('organTypes', f('effectiveOrgan')),
            Cardinality('specimenCount', f('specimenDocumentId')),
            # The original counts the `~null` it indexes for a donor without a
            # species, and for a project without a laboratory (labCount)
            Cardinality('speciesCount', f('genusSpecies'), count_null=True),
            Cardinality('donorCount', f('donorDocumentId')),
        )),
        'projects': SummaryRequest('projects', filters, (
            Count('projectCount'),
            Cardinality('labCount', f('laboratory'), count_null=True),
            # Projects by their cell suspensions' cell count, summing project
            # estimates, and vice versa: which projects have which kind of count
            Terms('byCellSuspensionCells', f('cellCount'),
                  sums=(f('projectEstimatedCellCount'),)),
            Terms('byProjectEstimate', f('projectEstimatedCellCount'),
                  sums=(f('cellCount'),)),
        )),
        # A cell suspension's effective organs (those of its nearest samples)
        # are its own organs, and its cell count is its own estimate (0 unless
        # it is a leaf), so each cell is counted once per organ
        'cell_suspensions': SummaryRequest('cell_suspensions', filters, (
            Terms('cellCountSummaries', f('effectiveOrgan'), sums=(f('cellCount'),)),
        )),
    }


def shape_summary(results: Mapping[str, SummaryResult]) -> JSON:
    files = results.get('files', {})
    samples = results.get('samples', {})
    projects = results.get('projects', {})
    cell_suspensions = results.get('cell_suspensions', {})
    return {
        'projectCount': projects.get('projectCount', 0),
        'specimenCount': samples.get('specimenCount', 0),
        'speciesCount': samples.get('speciesCount', 0),
        'fileCount': files.get('fileCount', 0),
        'totalFileSize': files.get('totalFileSize', 0.0),
        'donorCount': samples.get('donorCount', 0),
        'labCount': projects.get('labCount', 0),
        'organTypes': [b.term for b in samples.get('organTypes', ()) if b.term is not None],
        'fileTypeSummaries': [
            {
                'format': b.term,
                'count': b.count,
                'totalSize': b.sums.get('fileSize', 0.0),
                'matrixCellCount': b.sums.get('matrixCellCount', 0.0),
            }
            for b in files.get('fileTypeSummaries', ())
        ],
        'cellCountSummaries': [
            {
                'organType': [b.term],
                'countOfDocsWithOrganType': b.count,
                'totalCellCountByOrgan': b.sums.get('cellCount', 0.0),
            }
            for b in cell_suspensions.get('cellCountSummaries', ())
        ],
        'projects': _project_cell_counts(projects.get('byCellSuspensionCells', ()),
                                         projects.get('byProjectEstimate', ())),
    }


def _project_cell_counts(by_cs_cells: Sequence[TermBucket],
                         by_estimate: Sequence[TermBucket]) -> list[JSON]:
    """
    The original's three entries, for projects with only an estimate, only
    cell suspension counts, and both: project estimates summed over projects
    without (first) or with (third) cell suspension cells, and cell suspension
    cells summed over projects without (second) or with (third) an estimate.
    A count of 0 is no count, as in the original.
    """
    estimates = _split(by_cs_cells, 'projectEstimatedCellCount')
    cells = _split(by_estimate, 'cellCount')
    return [
        {
            'projects': {'estimatedCellCount': estimates[project] if cs else None},
            'cellSuspensions': {'totalCells': cells[cs] if project else None},
        }
        for project, cs in ((False, True), (True, False), (True, True))
    ]


def _split(buckets: Sequence[TermBucket], summed: str) -> dict[bool, float]:
    """Sum of `summed` over documents without (False) and with (True) the bucketed count."""
    totals = {False: 0.0, True: 0.0}
    for bucket in buckets:
        totals[bucket.term not in (None, 0)] += bucket.sums.get(summed, 0.0)
    return totals
