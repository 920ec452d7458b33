"""
Aggregators: how the inner entities of all live contributions of one entity
are folded into its aggregate, field by field, as the original Azul folds
them (see `contents.md`).

By default a field becomes the sorted list of its distinct values, nulls last
(a missing value shows as `[null]`), capped at `core.aggregation.MAX_VALUES`
distinct values like the original's set accumulators; a list value
contributes its elements.
`core.aggregation.aggregate` has already reconciled the copies of one inner
entity from several bundles, so sums count each file or cell suspension once.
"""
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import attrs

from azul.core.aggregation import (
    CountAccumulator,
    DistinctSumAccumulator,
    FirstByKeyAccumulator,
    FrequencyAccumulator,
    GroupingAggregator,
    InnerAggregator,
    KeepWhole,
    MaxAccumulator,
    MinAccumulator,
    SetAccumulator,
    SimpleAggregator,
    SingleValueAccumulator,
    none_last,
)
from azul.plugins.metadata.hca.transform import OWN_INNER_TYPES

JSON = dict[str, Any]


@attrs.frozen
class CellCountAggregator(InnerAggregator):
    """
    The one `cell_counts` dict: the cells of the cell suspensions (0 when
    there are none, as the original's `cell_count`) and the effective count,
    which prefers the project's estimate in a projects aggregate.
    """
    prefer_project: bool

    def aggregate(self, entities: Sequence[Mapping[str, Any]]) -> list[JSON]:
        total, estimate = 0, MaxAccumulator()
        for entity in entities:
            total += entity.get('total_estimated_cells') or 0
            estimate.add(entity.get('estimated_cell_count'))
        estimated = estimate.get()
        effective = estimated if self.prefer_project and estimated is not None else total
        return [{'total_estimated_cells': total,
                 'estimated_cell_count': estimated,
                 'effective_cell_count': effective}]


def _fqid(file: Mapping[str, Any]) -> tuple:
    return file.get('uuid'), file.get('version')


def _file_summary(file: Mapping[str, Any]) -> JSON:
    fqid = _fqid(file)
    return {
        'size': (fqid, file.get('size')),
        'file_format': file.get('file_format'),
        'file_source': file.get('file_source'),
        'is_intermediate': file.get('is_intermediate'),
        'count': (fqid, 1),
        'content_description': file.get('content_description'),
        'matrix_cell_count': (fqid, file.get('matrix_cell_count')),
    }


_files = GroupingAggregator(
    transform=_file_summary,
    group=lambda f: (frozenset(f['content_description'] or ()), f['file_format'],
                     f['is_intermediate']),
    fields={'content_description': SingleValueAccumulator,
            'file_format': SingleValueAccumulator,
            'is_intermediate': SingleValueAccumulator,
            'file_source': SetAccumulator,
            'size': DistinctSumAccumulator,
            'count': DistinctSumAccumulator,
            'matrix_cell_count': DistinctSumAccumulator},
    default=None)


def _with_cell_keys(cs: Mapping[str, Any]) -> JSON:
    return {**cs,
            'total_estimated_cells': (cs.get('document_id'), cs.get('total_estimated_cells')),
            'total_estimated_cells_redundant': (cs.get('document_id'),
                                                cs.get('total_estimated_cells_redundant'))}


_cell_suspensions = GroupingAggregator(
    transform=_with_cell_keys,
    group=lambda cs: frozenset(cs.get('organ') or ()),
    fields={'total_estimated_cells': DistinctSumAccumulator,
            'total_estimated_cells_redundant': DistinctSumAccumulator})


def _age_key(age: Any) -> tuple:
    if age is None:
        return (1, '', '')
    return (0, *(none_last(age.get(k)) for k in ('value', 'unit')))


def _range_key(age_range: Any) -> tuple:
    return age_range.get('gte'), age_range.get('lte')


def _accession_key(accession: Any) -> tuple:
    return none_last(accession.get('accession'))


def _atlas_key(atlas: Any) -> tuple:
    return none_last(atlas.get('atlas')), none_last(atlas.get('version'))


_donors = SimpleAggregator(
    transform=lambda d: {**d, 'donor_count': d.get('biomaterial_id')},
    fields={'organism_age_range': partial(SetAccumulator, key=_range_key),
            'organism_age': partial(SetAccumulator, key=_age_key),
            'donor_count': CountAccumulator})

_projects = SimpleAggregator(fields={
    'project_description': None, 'contact_names': None, 'contributors': None,
    'publications': None,
    'estimated_cell_count': MaxAccumulator,
    'accessions': partial(SetAccumulator, max_size=None, key=_accession_key),
    'tissue_atlas': partial(SetAccumulator, max_size=None, key=_atlas_key),
})

_protocols = SimpleAggregator(fields={'assay_type': FrequencyAccumulator},
                              default=partial(SetAccumulator, max_size=None))

_matrices = SimpleAggregator(fields={'document_id': None, 'file': FirstByKeyAccumulator},
                             default=partial(SetAccumulator, max_size=None))

_dates = SimpleAggregator(fields={
    'submission_date': MinAccumulator, 'aggregate_submission_date': MinAccumulator,
    'update_date': MaxAccumulator, 'aggregate_update_date': MaxAccumulator,
    'last_modified_date': MaxAccumulator, 'aggregate_last_modified_date': MaxAccumulator,
})

_default = SimpleAggregator()


def aggregators(entity_type: str) -> Mapping[str, InnerAggregator]:
    """The aggregator of each inner entity type in aggregates of `entity_type`."""
    result: dict[str, InnerAggregator] = {
        'files': _files,
        'cell_suspensions': _cell_suspensions,
        'donors': _donors,
        'projects': _projects,
        'analysis_protocols': _protocols,
        'imaging_protocols': _protocols,
        'library_preparation_protocols': _protocols,
        'sequencing_protocols': _protocols,
        'matrices': _matrices,
        'contributed_analyses': _matrices,
        'dates': _dates,
        'cell_counts': CellCountAggregator(prefer_project=entity_type == 'projects'),
    }
    for kind in ('samples', 'sample_specimens', 'sample_cell_lines', 'sample_organoids',
                 'specimens', 'cell_lines', 'organoids', 'sequencing_inputs',
                 'sequencing_processes'):
        result[kind] = _default
    for own in OWN_INNER_TYPES.get(entity_type, ()):
        result[own] = KeepWhole()
    if entity_type == 'bundles':
        # A bundle's hit lists its files, as in the original
        result['files'] = KeepWhole()
    return result
