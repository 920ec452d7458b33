"""
The AnVIL field registry: the original Azul AnVIL plugin's field names (its
`_field_mapping`: `{inner entity type}.{field}` for the metadata, snake-case
special fields for sources and bundles), where their values live in an
aggregate document, their types and which of them are facets; and the
columns of the compact manifest, which the original derives from the same
field mapping (`manifest_config`).

Decisions where the reference left room:

* The sources fields are the original's AnVIL names only, `source_id` and
  `source_spec` (HCA's `sourceId` and `sourceSpec` are unknown fields here,
  a 400 as in the original); access control reads `source_id`
  (`AnvilPlugin.source_id_field`). Both read the source string, a canned or
  TDR source having no id apart from its spec.
* The age ranges may lack a bound (TDR columns are nullable). The original's
  OpenSearch range fields treat a null bound as unbounded, and a range
  without any bound as the range of all numbers, which is a value: here a
  missing lower bound is the most negative finite double and a missing upper
  one the largest (the core range type and both backends take finite bounds
  only, JSON having no infinity).
* `datasets.duos_id` reads `contents.duos`, where the indexer puts the DUOS
  id of a dataset's contribution to the datasets index, whether a DUOS
  bundle's stub or a full dataset row carries it: as in the original, only
  the datasets index knows a dataset by it. `datasets.description` is no
  field, as in the original's field mapping.
"""
import sys
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from azul.core.fields import AccessibleField, Field, FieldRegistry, FieldType, Value
from azul.core.search import Order

keyword = FieldType.keyword
long = FieldType.long
boolean = FieldType.boolean
range_ = FieldType.range


@attrs.frozen
class OpenRangeField(Field):
    """A range field whose documents may leave a bound null (see above)."""

    def normalize(self, value: Any) -> Value:
        if isinstance(value, dict):
            lo, hi = value.get('gte'), value.get('lte')
            value = {'gte': -sys.float_info.max if lo is None else lo,
                     'lte': sys.float_info.max if hi is None else hi}
        return super().normalize(value)


_c = 'contents.'

# The metadata fields of the original's `_field_mapping`, by inner entity type, in
# its order (which is that of the compact manifest's columns)
METADATA_FIELDS: dict[str, tuple[str, ...]] = {
    'datasets': ('document_id', 'source_datarepo_row_ids', 'dataset_id', 'consent_group',
                 'data_use_permission', 'owner', 'principal_investigator',
                 'registered_identifier', 'title', 'data_modality'),
    'donors': ('document_id', 'source_datarepo_row_ids', 'donor_id', 'organism_type',
               'phenotypic_sex', 'reported_ethnicity', 'genetic_ancestry'),
    'diagnoses': ('document_id', 'source_datarepo_row_ids', 'diagnosis_id', 'disease',
                  'diagnosis_age_unit', 'diagnosis_age', 'onset_age_unit', 'onset_age',
                  'phenotype', 'phenopacket'),
    'biosamples': ('document_id', 'source_datarepo_row_ids', 'biosample_id',
                   'anatomical_site', 'apriori_cell_type', 'biosample_type', 'disease',
                   'donor_age_at_collection_unit', 'donor_age_at_collection'),
    'activities': ('document_id', 'source_datarepo_row_ids', 'activity_id', 'activity_table',
                   'activity_type', 'assay_type', 'data_modality', 'reference_assembly'),
    'files': ('document_id', 'source_datarepo_row_ids', 'file_id', 'data_modality',
              'file_format', 'file_size', 'file_md5sum', 'reference_assembly', 'file_name',
              'is_supplementary', 'drs_uri'),
}

_types = {
    'files.file_size': long,
    'files.is_supplementary': boolean,
    'biosamples.donor_age_at_collection': range_,
    'diagnoses.diagnosis_age': range_,
    'diagnoses.onset_age': range_,
}

# The original's facets, after its inherited `accessible`
FACETS = (
    'activities.activity_type', 'activities.assay_type', 'activities.data_modality',
    'biosamples.anatomical_site', 'biosamples.biosample_type', 'biosamples.disease',
    'diagnoses.disease', 'diagnoses.phenotype', 'diagnoses.phenopacket',
    'datasets.consent_group', 'datasets.data_use_permission',
    'datasets.registered_identifier', 'datasets.title',
    'donors.organism_type', 'donors.phenotypic_sex', 'donors.reported_ethnicity',
    'files.data_modality', 'files.file_format', 'files.reference_assembly',
    'files.is_supplementary',
)


def _metadata_field(name: str) -> Field:
    type_ = _types.get(name, keyword)
    cls = OpenRangeField if type_ is range_ else Field
    return cls(name=name, type=type_, path=_c + name, facet=name in FACETS)


_fields: tuple[Field, ...] = (
    Field(name='entryId', type=keyword, path='entity_id'),
    # The original's filter schema refuses null for the source id
    Field(name='source_id', type=keyword, path='sources', nullable=False),
    Field(name='source_spec', type=keyword, path='sources'),
    Field(name='bundle_uuid', type=keyword, path='bundles.uuid'),
    Field(name='bundle_version', type=keyword, path='bundles.version'),
    *(_metadata_field(f'{inner}.{f}') for inner, names in METADATA_FIELDS.items() for f in names),
    # The DUOS stub's fields (see `transform`)
    Field(name='datasets.duos_id', type=keyword, path=_c + 'duos.duos_id'),
    # The version the service's file downloads look files up by, beside
    # `files.document_id` (the plugin's `file_id_field`), as the original
    Field(name='fileVersion', type=keyword, path=_c + 'files.version'),
    AccessibleField(name='accessible', type=boolean, path='sources', facet=True,
                    nullable=False, sortable=False),
)

registry = FieldRegistry(_fields)

# The sort of /index/{entity_type} when the request names none, as the original
default_sorts: dict[str, tuple[str, Order]] = {
    'activities': ('activities.activity_id', 'asc'),
    'biosamples': ('biosamples.biosample_id', 'asc'),
    'bundles': ('bundle_uuid', 'asc'),
    'datasets': ('datasets.dataset_id', 'asc'),
    'donors': ('donors.donor_id', 'asc'),
    'files': ('files.file_id', 'asc'),
}


# The compact manifest (`manifest_config`)
#
# The columns of the AnVIL catalogs' `compact` manifest, as the original's
# AnVIL plugin derives them from its field mapping: per path to a list of inner
# entities of a `files` aggregate, field → column, the column named as the
# field's API name (`datasets.title`), sources and bundles as their names in a
# hit (`sources.source_id`, `bundles.bundle_uuid`). The order is the original's
# and is the order of the columns.
#
# Left out, as the original leaves them out: `activities.activity_table`, the
# file's `version` (both carried by the file's URL), `datasets.duos_id` (the
# DUOS stub never reaches a file). Added as there: `files.azul_url`, the
# service's download URL (`file_url`, synthesized by the manifest).
#
# Age ranges are cells like the others, each range as the original's TSV
# writer spells a pass-through value (`{'gte': None, 'lte': None}`, see
# `azul.manifests.formats.compact.tsv_value`).
#
# Not here: `files.azul_mirror_uri`, as this deployment mirrors no files.

ManifestConfig = Mapping[tuple[str, ...], Mapping[str, str]]

_OMITTED = frozenset({'activities.activity_table'})


def _config() -> ManifestConfig:
    config: dict[tuple[str, ...], dict[str, str]] = {
        ('bundles',): {'uuid': 'bundles.bundle_uuid', 'version': 'bundles.bundle_version'},
        ('sources',): {'id': 'sources.source_id', 'spec': 'sources.source_spec'},
    }
    for inner_type, names in METADATA_FIELDS.items():
        config[('contents', inner_type)] = {
            name: f'{inner_type}.{name}' for name in names
            if f'{inner_type}.{name}' not in _OMITTED
        }
    config[('contents', 'files')]['file_url'] = 'files.azul_url'
    # Read-only all the way down: the mapping is shared by every manifest
    return MappingProxyType({path: MappingProxyType(columns)
                             for path, columns in config.items()})


manifest_config: ManifestConfig = _config()
