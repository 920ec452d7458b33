"""
The indexer side of the AnVIL plugin: transformers and aggregators.

Transformers (`transform_bundle`): one AnVIL bundle in, one contribution per
entity it touches out, following the original Azul's AnVIL transformers.

A bundle (`azul.plugins.repository.base.Bundle`) holds the TDR rows in
`metadata`, keyed `anvil_{table}/{datarepo_row_id}`, and the edges between
them in `links['links']`, each `{inputs, activity, outputs}`. Three kinds:

* primary: rooted in a biosample, with its dataset, donors, diagnoses,
  activities and files;
* supplementary: one dataset and one file the dataset links to;
* DUOS: a stub of the dataset carrying only what DUOS knows of it
  (`description`, sometimes `duos_id`), without the dataset's own columns
  (`dataset_id`, ...). A full dataset row may carry `description` and
  `duos_id` as well (the original's current bundles do): it is no stub, and
  the dataset's contribution to the datasets index keeps them, as the
  original's `_detailed_dataset_types` (`response` shows them null when
  missing). The DUOS id reaches the datasets index only, from a stub or a
  full row alike.

Outer entities: every activity (whatever its table), biosample, donor and
file; the one dataset; the bundle itself. Diagnoses are inner entities only,
as in the original, which indexes them into no index of their own.

An entity's list fields are sorted (nulls last), as the original sorts them;
an empty or missing list is `[null]`.

Each contribution holds the outer entity and what the links connect it to
(ancestors and descendants, transitively) of the other entity types;
datasets and bundles see every entity of the bundle. The dataset is always
the bundle's one dataset.

The DUOS stub goes into the inner entity type `duos`, not `datasets`: the
aggregation of `azul.core` keeps one copy of each inner entity, where the
original merges the stub into the dataset's row; `response` does that merge.

Aggregators (`aggregators`): how the inner entities of all live contributions
of one AnVIL entity fold into its aggregate, as the original's aggregators.

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
import base64
import binascii
from collections.abc import Iterable, Mapping
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
from azul.core.documents import BundleFQID, Contribution
from azul.plugins.repository.base import Bundle

JSON = dict[str, Any]

ENTITY_TYPES = ('activities', 'biosamples', 'bundles', 'datasets', 'donors', 'files')

# The TDR tables of activities, all indexed as `activities`, as the original
ACTIVITY_TABLES = frozenset({'activity', 'alignmentactivity', 'assayactivity',
                             'sequencingactivity', 'variantcallingactivity'})

# Fields of each inner entity type, in the original's order; a list marks a
# field whose value is a list (an empty one is indexed as [null])
_common = {'document_id': None, 'source_datarepo_row_ids': []}
FIELDS: Mapping[str, Mapping[str, Any]] = {
    'activities': {**_common, 'activity_id': None, 'activity_table': None,
                   'activity_type': None, 'assay_type': [], 'data_modality': [],
                   'reference_assembly': []},
    'biosamples': {**_common, 'biosample_id': None, 'anatomical_site': None,
                   'apriori_cell_type': [], 'biosample_type': None, 'disease': None,
                   'donor_age_at_collection_unit': None, 'donor_age_at_collection': None},
    'datasets': {**_common, 'dataset_id': None, 'consent_group': [],
                 'data_use_permission': [], 'owner': [], 'principal_investigator': [],
                 'registered_identifier': [], 'title': None, 'data_modality': []},
    'diagnoses': {**_common, 'diagnosis_id': None, 'disease': [], 'diagnosis_age_unit': None,
                  'diagnosis_age': None, 'onset_age_unit': None, 'onset_age': None,
                  'phenotype': [], 'phenopacket': []},
    'donors': {**_common, 'donor_id': None, 'organism_type': None, 'phenotypic_sex': None,
               'reported_ethnicity': [], 'genetic_ancestry': []},
    'files': {**_common, 'file_id': None, 'data_modality': [], 'file_format': None,
              'file_size': None, 'file_md5sum': None, 'reference_assembly': [],
              'file_name': None, 'is_supplementary': None, 'version': None, 'drs_uri': None,
              # What the service's downloads and DRS objects read of a file (the
              # descriptor), as the original's older "not in schema" fields;
              # hits do not show them
              'uuid': None, 'name': None, 'size': None, 'sha256': None, 'crc32': None},
}

# Ranges of TDR's `{name}_lower_bound`/`{name}_upper_bound` columns
_RANGES = {'biosamples': ('donor_age_at_collection',),
           'diagnoses': ('diagnosis_age', 'onset_age')}

_INNER_TYPE = {'biosample': 'biosamples', 'dataset': 'datasets', 'diagnosis': 'diagnoses',
               'donor': 'donors', 'file': 'files'}


def inner_type(table: str) -> str | None:
    """The inner entity type of a table's rows (`sequencingactivity` → `activities`)."""
    return 'activities' if table in ACTIVITY_TABLES else _INNER_TYPE.get(table)


def transform_bundle(bundle: Bundle, deleted: bool) -> list[Contribution]:
    return _Transformer(bundle).contributions(deleted)


def _ref(key: str) -> tuple[str, str]:
    table, _, row_id = key.partition('/')
    return table.removeprefix('anvil_'), row_id


def _md5_hex(value: Any) -> Any:
    # TDR holds the base64 digest; the original's hits show it in hex. Only
    # the base64 of 16 bytes (24 characters ending in `==`) is decoded: a
    # digest already in hex (32 characters) is valid base64 as well
    if not isinstance(value, str) or len(value) != 24 or not value.endswith('=='):
        return value
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return value
    return digest.hex() if len(digest) == 16 else value


def _is_duos_stub(row: Mapping[str, Any]) -> bool:
    # A DUOS bundle's dataset row carries what DUOS knows only; a full
    # dataset row may carry `description` and `duos_id` too, as the
    # original's current bundles do
    return 'description' in row and 'dataset_id' not in row


def _as_float(value: Any) -> float | None:
    return None if value is None else float(value)


class _Transformer:

    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        self.fqid = BundleFQID(bundle.fqid.uuid, bundle.fqid.version)
        self.rows: dict[tuple[str, str], Mapping[str, Any]] = {
            _ref(key): row for key, row in bundle.metadata.items()
        }
        self.links = [
            (
                [_ref(r) for r in link.get('inputs') or ()],
                None if link.get('activity') is None else _ref(link['activity']),
                [_ref(r) for r in link.get('outputs') or ()],
            )
            for link in (bundle.links or {}).get('links') or ()
        ]
        datasets = [ref for ref in self.rows if ref[0] == 'dataset']
        if len(datasets) != 1:
            raise ValueError(f'Bundle {bundle.fqid} has {len(datasets)} datasets, expected one')
        self.dataset = datasets[0]

    def contributions(self, deleted: bool) -> list[Contribution]:
        result = []

        def add(entity_type: str, entity_id: str, refs: Iterable[tuple[str, str]]) -> None:
            result.append(Contribution(entity_type=entity_type,
                                       entity_id=entity_id,
                                       bundle=self.fqid,
                                       source=self.bundle.source,
                                       deleted=deleted,
                                       contents={} if deleted else self._contents(
                                           refs, detailed=entity_type == 'datasets')))

        everything = list(self.rows)
        for ref in sorted(self.rows, key=lambda r: r[1]):
            kind = inner_type(ref[0])
            if kind in ('activities', 'biosamples', 'donors', 'files'):
                # Of its own type, an entity's contribution holds the entity
                # only, not the biosamples it was derived from, say: its
                # inner entity is the hit's pivotal one
                linked = [r for r in self._linked(ref) if inner_type(r[0]) != kind]
                add(kind, ref[1], [ref, *linked])
        add('datasets', self.dataset[1], everything)
        add('bundles', self.fqid.uuid, everything)
        return result

    def _contents(self, refs: Iterable[tuple[str, str]], detailed: bool = False) -> JSON:
        by_type: dict[str, list[JSON]] = {t: [] for t in FIELDS if t != 'datasets'}
        duos = []
        for ref in sorted(set(refs), key=lambda r: r[1]):
            kind = inner_type(ref[0])
            if kind in by_type:
                by_type[kind].append(self._entity(kind, ref))
        row = self.rows[self.dataset]
        # The datasets index alone holds the DUOS id of a dataset, as the
        # original's `_detailed_dataset_types`: the bundles index neither
        # finds a dataset by it nor shows it in the datasets it folds
        duos_id = {'duos_id': row['duos_id']} if detailed and 'duos_id' in row else {}
        if _is_duos_stub(row):
            duos.append({'document_id': self.dataset[1],
                         'description': row['description'], **duos_id})
            datasets = []
        else:
            dataset = self._entity('datasets', self.dataset)
            if detailed:
                dataset.update({k: row[k] for k in ('description', 'duos_id') if k in row})
                if duos_id:
                    # Where the `datasets.duos_id` field finds it (a field has
                    # one path); the dataset's own description goes along, so
                    # that whichever of this and a DUOS bundle's stub the
                    # aggregate keeps, the hit shows both
                    duos.append({'document_id': self.dataset[1],
                                 **({'description': row['description']}
                                    if 'description' in row else {}),
                                 **duos_id})
            datasets = [dataset]
        contents = {**by_type, 'datasets': datasets}
        if duos:
            contents['duos'] = duos
        return {t: contents[t] for t in sorted(contents)}

    def _entity(self, kind: str, ref: tuple[str, str]) -> JSON:
        table, row_id = ref
        row = self.rows[ref]
        special: JSON = {'document_id': row_id}
        if kind == 'activities':
            special['activity_table'] = f'anvil_{table}'
            special['activity_id'] = row.get(f'{table}_id')
        elif kind == 'files':
            special['file_md5sum'] = _md5_hex(row.get('file_md5sum'))
            special.update(uuid=row_id, name=row.get('file_name'), size=row.get('file_size'),
                           # An empty digest (TDR's for an unknown one) is none
                           sha256=row.get('sha256') or None, crc32=row.get('crc32') or None)
        for name in _RANGES.get(kind, ()):
            special[name] = {'gte': _as_float(row.get(f'{name}_lower_bound')),
                             'lte': _as_float(row.get(f'{name}_upper_bound'))}
        entity = {}
        for field, empty in FIELDS[kind].items():
            # Activities of different tables have different columns: a missing
            # column is null, as the original pads them
            value = special[field] if field in special else row.get(field, empty)
            if isinstance(empty, list):
                # Sorted, as the original sorts every list of an entity
                # (`json_sorted`), nulls last
                value = [None] if value in ([], None) else sorted(value, key=none_last)
            entity[field] = value
        return entity

    def _linked(self, origin: tuple[str, str]) -> set[tuple[str, str]]:
        """The ancestors and the descendants of `origin` along the links."""
        return (self._search(origin, upwards=True, found=set())
                | self._search(origin, upwards=False, found=set()))

    def _search(self, ref: tuple[str, str], upwards: bool,
                found: set[tuple[str, str]]) -> set[tuple[str, str]]:
        if inner_type(ref[0]) == 'activities':
            # An activity is reached through its one link only
            follow = [link for link in self.links if link[1] == ref]
        else:
            follow = [link for link in self.links if ref in link[2 if upwards else 0]]
        for inputs, activity, outputs in follow:
            for relative in [activity, *(inputs if upwards else outputs)]:
                if relative is not None and relative != ref and relative not in found:
                    found.add(relative)
                    self._search(relative, upwards, found)
        return found


# Aggregation

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
            # Our download descriptor of a file (see `FIELDS`) is of
            # no use in a group of files: dropped, as the original has none
            **{f: None for f in ('uuid', 'name', 'size', 'sha256', 'crc32')}})


def aggregators(entity_type: str) -> Mapping[str, InnerAggregator]:
    """The aggregator of each inner entity type in aggregates of `entity_type`."""
    result: dict[str, InnerAggregator] = {
        inner: _folded(inner, entity_type)
        for inner in ('activities', 'biosamples', 'datasets', 'diagnoses', 'donors')
    }
    result['files'] = _files
    # The DUOS stub of a dataset is merged into the dataset by `response`
    result['duos'] = KeepWhole()
    own = _OWN.get(entity_type)
    if own is not None:
        result[own] = KeepWhole()
    return result
