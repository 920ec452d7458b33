"""
The columns of the AnVIL catalogs' `compact` manifest, as the original's
AnVIL plugin derives them from its field mapping: per path to a list of inner
entities of a `files` aggregate, field → column, the column named as the
field's API name (`datasets.title`), sources and bundles as their names in a
hit (`sources.source_id`, `bundles.bundle_uuid`). The order is the original's
and is the order of the columns.

Left out, as the original leaves them out: `activities.activity_table`, the
file's `version` (both carried by the file's URL), `datasets.duos_id` (the
DUOS stub never reaches a file). Added as there: `files.azul_url`, the
service's download URL (`file_url`, synthesized by the manifest).

Not (yet) here:

* the age ranges (`biosamples.donor_age_at_collection`,
  `diagnoses.diagnosis_age`, `diagnoses.onset_age`), which the original
  writes as the Python text of the range (`{'gte': None, 'lte': None}`): the
  manifest's cell writer (`azul.manifests.formats.compact.tsv_value`) has no
  text for a range yet and would fail on one;
* `files.azul_mirror_uri`: this deployment mirrors no files.
"""
from collections.abc import Mapping
from types import MappingProxyType

from azul.plugins.metadata.anvil.fields import METADATA_FIELDS

ManifestConfig = Mapping[tuple[str, ...], Mapping[str, str]]

_OMITTED = frozenset({
    'activities.activity_table',
    'biosamples.donor_age_at_collection',
    'diagnoses.diagnosis_age',
    'diagnoses.onset_age',
})


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
