"""
Aggregators: how the inner entities of all live contributions of one entity
are folded into its aggregate (the accumulators per field are listed in
`contents.md`).

`core.aggregation.aggregate` has already picked, per inner entity
`document_id`, the dict from the newest bundle version, so sums here count
each file, cell suspension or donor once, however many bundles mention it.
"""
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from azul.core.aggregation import (
    DistinctCountAccumulator,
    GroupingAggregator,
    InnerAggregator,
    MaxAccumulator,
    MinAccumulator,
    SimpleAggregator,
    SumAccumulator,
)

JSON = dict[str, Any]

# The inner entity type that is the outer entity itself, kept whole
_own_inner_type = {
    'files': 'files',
    'samples': 'samples',
    'cell_suspensions': 'cell_suspensions',
    'projects': 'projects',
}


@attrs.frozen
class KeepWhole(InnerAggregator):
    """The entities as contributed, e.g. the file itself in a files aggregate."""

    def aggregate(self, entities: Sequence[Mapping[str, Any]]) -> list[JSON]:
        return [dict(entity) for entity in entities]


@attrs.frozen
class Mapped(InnerAggregator):
    """Reshape each entity before folding it with another aggregator."""
    transform: Callable[[Mapping[str, Any]], Mapping[str, Any]]
    inner: InnerAggregator

    def aggregate(self, entities: Sequence[Mapping[str, Any]]) -> list[JSON]:
        return self.inner.aggregate([self.transform(e) for e in entities])


@attrs.frozen
class CellCountAggregator(InnerAggregator):
    """
    The one `cell_counts` dict: the sum of the leaf cell suspensions' cell
    counts, the project's estimate, and the effective count, which prefers the
    project's estimate in a projects aggregate.
    """
    prefer_project: bool

    def aggregate(self, entities: Sequence[Mapping[str, Any]]) -> list[JSON]:
        total = SumAccumulator('total_estimated_cells')
        estimate = MaxAccumulator('estimated_cell_count')
        for entity in entities:
            total.accumulate(entity.get('total_estimated_cells'))
            estimate.accumulate(entity.get('estimated_cell_count'))
        estimated = estimate.get()
        effective = estimated if self.prefer_project and estimated is not None else total.get()
        return [{
            'total_estimated_cells': total.get(),
            'estimated_cell_count': estimated,
            'effective_cell_count': effective,
        }]


def _file_summary(file: Mapping[str, Any]) -> JSON:
    return {
        'file_format': file.get('file_format'),
        'file_type': file.get('file_type'),
        'content_description': file.get('content_description'),
        'is_intermediate': file.get('is_intermediate'),
        'file_source': file.get('file_source'),
        'count': 1,
        'size': file.get('size'),
        'matrix_cell_count': file.get('matrix_cell_count'),
    }


def _with_donor_count(donor: Mapping[str, Any]) -> JSON:
    return {**donor, 'donor_count': donor.get('document_id')}


_file_summaries = Mapped(_file_summary, GroupingAggregator(
    group_by='file_format',
    accumulators={'count': SumAccumulator, 'size': SumAccumulator,
                  'matrix_cell_count': SumAccumulator}))

_cell_suspensions_by_organ = GroupingAggregator(
    group_by='organ',
    accumulators={'total_estimated_cells': SumAccumulator,
                  'total_estimated_cells_redundant': SumAccumulator})

_donors = Mapped(_with_donor_count,
                 SimpleAggregator(accumulators={'donor_count': DistinctCountAccumulator}))

_projects = SimpleAggregator(accumulators={'estimated_cell_count': MaxAccumulator},
                             skip=frozenset({'contributors', 'publications',
                                             'project_description'}))

_dates = SimpleAggregator(accumulators={'submission_date': MinAccumulator,
                                        'update_date': MaxAccumulator,
                                        'last_modified_date': MaxAccumulator})

_aggregate_dates = SimpleAggregator(
    accumulators={'aggregate_submission_date': MinAccumulator,
                  'aggregate_update_date': MaxAccumulator,
                  'aggregate_last_modified_date': MaxAccumulator},
    skip=frozenset({'document_id'}))


def aggregators(entity_type: str) -> Mapping[str, InnerAggregator]:
    """The aggregator of each inner entity type in aggregates of `entity_type`."""
    simple = SimpleAggregator()
    result: dict[str, InnerAggregator] = {
        'files': _file_summaries,
        'samples': simple,
        'specimens': simple,
        'cell_suspensions': _cell_suspensions_by_organ,
        'cell_lines': simple,
        'organoids': simple,
        'donors': _donors,
        'protocols': simple,
        'sequencing_processes': simple,
        'sequencing_inputs': simple,
        'projects': _projects,
        'dates': _dates,
        'aggregate_dates': _aggregate_dates,
        'cell_counts': CellCountAggregator(prefer_project=entity_type == 'projects'),
    }
    own = _own_inner_type.get(entity_type)
    if own is not None:
        result[own] = KeepWhole()
    if entity_type == 'bundles':
        # A bundle's hit lists its files, as in the original
        result['files'] = KeepWhole()
    return result
