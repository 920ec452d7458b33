"""
Aggregators: how the inner entities of all live contributions of one AnVIL
entity fold into its aggregate, as the original's AnVIL aggregators fold them.

* The outer entity's own inner entity (the file of a files aggregate, ...) is
  kept whole: hits show its fields as single values.
* Every other inner entity type folds into one dict whose fields are the
  sorted sets of their values (`SetAccumulator`, nulls last, 100 at most).
  Ids (`document_id`, `{type}_id`, `source_datarepo_row_ids`) are dropped
  except in files aggregates, where the manifests need them; a dataset's
  `document_id` is always kept, so that every index can be filtered by it.
* Files of other outer entities are grouped by format, each group summing the
  sizes and counting its files, each file once.
* Ranges (ages) are sets of `{gte, lte}` objects ordered by their bounds.
"""
from collections.abc import Mapping
from functools import partial
from typing import Any

from azul.core.aggregation import (
    DistinctSumAccumulator,
    GroupingAggregator,
    InnerAggregator,
    KeepWhole,
    SetAccumulator,
    SimpleAggregator,
    none_last,
)

JSON = dict[str, Any]

_OWN = {'activities': 'activities', 'biosamples': 'biosamples', 'datasets': 'datasets',
        'donors': 'donors', 'files': 'files'}


def _range_key(value: Any) -> tuple:
    # The original orders ranges by (lte, gte), nulls last
    if not isinstance(value, dict):
        return (none_last(None), none_last(None))
    return none_last(value.get('lte')), none_last(value.get('gte'))


_ranges = partial(SetAccumulator, key=_range_key)

# Fields dropped from the folded entities of any aggregate but a file's
_IDS = {
    'activities': ('activity_id', 'document_id', 'source_datarepo_row_ids'),
    'biosamples': ('biosample_id', 'document_id', 'source_datarepo_row_ids'),
    'datasets': ('source_datarepo_row_ids',),
    'diagnoses': ('diagnosis_id', 'document_id', 'source_datarepo_row_ids'),
    'donors': ('document_id', 'donor_id'),
}

_RANGE_FIELDS = {
    'biosamples': ('donor_age_at_collection',),
    'diagnoses': ('diagnosis_age', 'onset_age'),
}


def _folded(inner_type: str, outer_type: str) -> SimpleAggregator:
    fields: dict[str, Any] = {f: _ranges for f in _RANGE_FIELDS.get(inner_type, ())}
    if outer_type != 'files':
        fields.update({f: None for f in _IDS.get(inner_type, ())})
    return SimpleAggregator(fields=fields)


def _file_summary(file: Mapping[str, Any]) -> JSON:
    return {**file,
            'file_size': (file.get('document_id'), file.get('file_size')),
            'count': (file.get('document_id'), 1)}


def _count_sum(name: str = '') -> DistinctSumAccumulator:
    return DistinctSumAccumulator(name)


_files = GroupingAggregator(
    transform=_file_summary,
    group=lambda f: f.get('file_format'),
    fields={'file_size': _count_sum, 'count': _count_sum,
            # Our download descriptor of a file (see `transform.FIELDS`) is of
            # no use in a group of files: dropped, as the original has none
            **{f: None for f in ('uuid', 'name', 'size', 'sha256', 'crc32')}})


def aggregators(entity_type: str) -> Mapping[str, InnerAggregator]:
    """The aggregator of each inner entity type in aggregates of `entity_type`."""
    result: dict[str, InnerAggregator] = {
        inner: _folded(inner, entity_type)
        for inner in ('activities', 'biosamples', 'datasets', 'diagnoses', 'donors')
    }
    result['files'] = _files
    # The DUOS stub of a dataset is merged into the dataset by `shape`
    result['duos'] = KeepWhole()
    own = _OWN.get(entity_type)
    if own is not None:
        result[own] = KeepWhole()
    return result
