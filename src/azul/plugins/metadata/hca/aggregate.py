"""
Aggregators: how the inner entities of all live contributions of one entity
are folded into its aggregate, field by field, as the original Azul folds
them (see `contents.md`).

By default a field becomes the sorted list of its distinct values, nulls last
(a missing value shows as `[null]`), capped at `MAX_VALUES` distinct values
like the original's set accumulators; a list value contributes its elements.
`core.aggregation.aggregate` has already reconciled the copies of one inner
entity from several bundles, so sums count each file or cell suspension once.
"""
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import attrs
import orjson

from azul.core.aggregation import InnerAggregator
from azul.plugins.metadata.hca.transform import OWN_INNER_TYPES

JSON = dict[str, Any]

# The original's default cap on the distinct values of one field
MAX_VALUES = 100


class _Acc:
    def add(self, value: Any) -> None: ...

    def get(self) -> Any: ...


def _none_last(value: Any) -> tuple:
    return (1, '') if value is None else (0, value)


def _frozen(value: Any) -> Hashable:
    if isinstance(value, dict | list):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return value


class _Set(_Acc):
    """Distinct values, sorted nulls last; lists add their elements."""

    def __init__(self, max_size: int | None = MAX_VALUES,
                 key: Callable[[Any], Any] = _none_last, whole: bool = False):
        self.values: dict[Hashable, Any] = {}
        self.max_size, self.key, self.whole = max_size, key, whole

    def add(self, value: Any) -> None:
        if self.max_size is not None and len(self.values) >= self.max_size:
            return
        items = value if isinstance(value, list) and not self.whole else [value]
        for item in items:
            self.values.setdefault(_frozen(item), item)

    def get(self) -> list[Any]:
        try:
            return sorted(self.values.values(), key=self.key)
        except TypeError:
            # Values of mixed types: order them by their JSON text
            return sorted(self.values.values(), key=lambda v: (v is None, orjson.dumps(v)))


class _Min(_Acc):
    def __init__(self):
        self.value = None

    def add(self, value: Any) -> None:
        if value is not None and (self.value is None or value < self.value):
            self.value = value

    def get(self) -> Any:
        return self.value


class _Max(_Min):
    def add(self, value: Any) -> None:
        if value is not None and (self.value is None or value > self.value):
            self.value = value


class _DistinctSum(_Acc):
    """Sums `(key, value)` pairs, counting each key once."""

    def __init__(self):
        self.keys: set[Hashable] = set()
        self.value = None

    def add(self, pair: Any) -> None:
        key, value = pair
        key = _frozen(key)
        if key not in self.keys:
            self.keys.add(key)
            if value is not None:
                self.value = value if self.value is None else self.value + value

    def get(self) -> Any:
        return self.value


class _Single(_Acc):
    """The one value of a group (its key)."""

    def __init__(self):
        self.value = None

    def add(self, value: Any) -> None:
        if self.value is None:
            self.value = value

    def get(self) -> Any:
        return self.value


class _Count(_Set):
    def get(self) -> int:
        return len(self.values)


class _Frequent(_Acc):
    """The most frequent values, from dicts of value to count."""

    def __init__(self, max_size: int = MAX_VALUES):
        self.counter: Counter = Counter()
        self.max_size = max_size

    def add(self, value: Any) -> None:
        if isinstance(value, dict):
            self.counter.update(value)
        elif isinstance(value, list):
            self.counter.update(value)
        else:
            self.counter[value] += 1

    def get(self) -> list[Any]:
        return [item for item, _ in self.counter.most_common(self.max_size)]


class _FirstByKey(_Acc):
    """Whole dicts, the first per key, in the order seen."""

    def __init__(self, key: str):
        self.key = key
        self.values: dict[Any, Any] = {}

    def add(self, value: Any) -> None:
        for item in value if isinstance(value, list) else [value]:
            self.values.setdefault(item.get(self.key), item)

    def get(self) -> list[Any]:
        return list(self.values.values())


Factory = Callable[[], _Acc] | None


def _set() -> _Acc:
    return _Set()


def _fold(entities: Sequence[Mapping[str, Any]], factory: Callable[[str], Factory]) -> JSON:
    accumulators: dict[str, _Acc | None] = {}
    for entity in entities:
        for field, value in entity.items():
            if field not in accumulators:
                make = factory(field)
                accumulators[field] = None if make is None else make()
            acc = accumulators[field]
            if acc is not None:
                acc.add(value)
    return {field: acc.get() for field, acc in accumulators.items() if acc is not None}


@attrs.frozen
class Simple(InnerAggregator):
    """All entities into one dict; `fields` overrides the default set per field."""
    fields: Mapping[str, Factory] = attrs.field(factory=dict)
    default: Factory = _set
    transform: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None

    def _factory(self, field: str) -> Factory:
        return self.fields[field] if field in self.fields else self.default

    def _prepared(self, entities: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        return list(entities) if self.transform is None else [self.transform(e) for e in entities]

    def aggregate(self, entities: Sequence[Mapping[str, Any]]) -> list[JSON]:
        if not entities:
            return []
        return [_fold(self._prepared(entities), self._factory)]


@attrs.frozen
class Grouping(Simple):
    """One dict per group, groups in the order first seen."""
    group: Callable[[Mapping[str, Any]], Hashable] = lambda e: None

    def aggregate(self, entities: Sequence[Mapping[str, Any]]) -> list[JSON]:
        groups: dict[Hashable, list[Mapping[str, Any]]] = {}
        for entity in self._prepared(entities):
            groups.setdefault(self.group(entity), []).append(entity)
        return [_fold(group, self._factory) for group in groups.values()]


@attrs.frozen
class KeepWhole(InnerAggregator):
    """The entities as contributed, e.g. the file itself in a files aggregate."""

    def aggregate(self, entities: Sequence[Mapping[str, Any]]) -> list[JSON]:
        return [dict(entity) for entity in entities]


@attrs.frozen
class CellCountAggregator(InnerAggregator):
    """
    The one `cell_counts` dict: the cells of the cell suspensions (0 when
    there are none, as the original's `cell_count`) and the effective count,
    which prefers the project's estimate in a projects aggregate.
    """
    prefer_project: bool

    def aggregate(self, entities: Sequence[Mapping[str, Any]]) -> list[JSON]:
        total, estimate = 0, _Max()
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


_files = Grouping(
    transform=_file_summary,
    group=lambda f: (frozenset(f['content_description'] or ()), f['file_format'],
                     f['is_intermediate']),
    fields={'content_description': _Single, 'file_format': _Single,
            'is_intermediate': _Single, 'file_source': _set,
            'size': _DistinctSum, 'count': _DistinctSum, 'matrix_cell_count': _DistinctSum},
    default=None)


def _with_cell_keys(cs: Mapping[str, Any]) -> JSON:
    return {**cs,
            'total_estimated_cells': (cs.get('document_id'), cs.get('total_estimated_cells')),
            'total_estimated_cells_redundant': (cs.get('document_id'),
                                                cs.get('total_estimated_cells_redundant'))}


_cell_suspensions = Grouping(
    transform=_with_cell_keys,
    group=lambda cs: frozenset(cs.get('organ') or ()),
    fields={'total_estimated_cells': _DistinctSum,
            'total_estimated_cells_redundant': _DistinctSum})


def _age_key(age: Any) -> tuple:
    if age is None:
        return (1, '', '')
    return (0, *(_none_last(age.get(k)) for k in ('value', 'unit')))


_donors = Simple(
    transform=lambda d: {**d, 'donor_count': d.get('biomaterial_id')},
    fields={'organism_age_range': lambda: _Set(key=lambda r: (r.get('gte'), r.get('lte'))),
            'organism_age': lambda: _Set(key=_age_key),
            'donor_count': _Count})

_projects = Simple(fields={
    'project_description': None, 'contact_names': None, 'contributors': None,
    'publications': None,
    'estimated_cell_count': _Max,
    'accessions': lambda: _Set(max_size=None, key=lambda a: _none_last(a.get('accession'))),
    'tissue_atlas': lambda: _Set(max_size=None,
                                 key=lambda t: (_none_last(t.get('atlas')),
                                                _none_last(t.get('version')))),
})

_protocols = Simple(fields={'assay_type': _Frequent}, default=lambda: _Set(max_size=None))

_matrices = Simple(fields={'document_id': None, 'file': lambda: _FirstByKey('uuid')},
                   default=lambda: _Set(max_size=None))

_dates = Simple(fields={
    'submission_date': _Min, 'aggregate_submission_date': _Min,
    'update_date': _Max, 'aggregate_update_date': _Max,
    'last_modified_date': _Max, 'aggregate_last_modified_date': _Max,
})

_default = Simple()


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
