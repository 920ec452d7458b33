"""
The `terra.pfb` manifest of an AnVIL catalog (the AnVIL Data Explorer's
"Export to Terra"): every matching file, and the inner entities of its
aggregate (activities, biosamples, datasets, diagnoses, donors), as PFB
entities related to the file, with the same building blocks and the same
rules as the HCA format of `formats.pfb`.

The schema comes from the table below: the original's AnVIL
`FileTransformer.field_types()` (`BaseTransformer.field_types` of its
`plugins/metadata/anvil/indexer/transform.py`), entity type for entity type
and field for field, in its order, typed by the original's rules for PFB
schemas (`service/avro_pfb.py`, `_entity_schema_recursive`):

- a non-list field of the `files` record is a nullable scalar; every other
  primitive field (a list in the original's field types, or any field of an
  inner entity type, which aggregation turns into a list) is an array of
  nullable scalars;
- `null_str` is `string`, `null_int` is `long`, `null_bool` is `boolean`;
- pass-through fields are left out: the age ranges (`pass_thru_json`:
  `biosamples.donor_age_at_collection`, `diagnoses.diagnosis_age` and
  `onset_age`) and the aggregator's `files.count` (`pass_thru_int`).

Fields our documents have but the original's field types lack (a file's
`uuid`, `name`, `size`, `sha256`, `crc32`, which the service's downloads read)
are left out, as are inner entity types the table lacks.

This module also holds the class the registry names for `terra.pfb`: it
writes the HCA manifest for every catalog but AnVIL's, whose plugin offers
the format too (`AnvilPlugin.manifest_formats`, as the original's).
"""
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, BinaryIO

from azul.manifests import avro_pfb
from azul.manifests.avro_pfb import JSON, FieldTypes, Many, Scalar
from azul.manifests.formats import pfb
from azul.manifests.formats.base import ManifestContext

STR, LONG, BOOL = 'string', 'long', 'boolean'


def _many(*names: str) -> dict[str, Many]:
    return {name: Many(STR) for name in names}


_ENTITY = ('document_id', 'source_datarepo_row_ids')

# Entity type → its fields, in the original's order
ANVIL_FILE_FIELD_TYPES: Mapping[str, FieldTypes] = {
    'activities': _many(*_ENTITY, 'activity_id', 'activity_table', 'activity_type',
                        'assay_type', 'data_modality', 'reference_assembly'),
    'biosamples': _many(*_ENTITY, 'biosample_id', 'anatomical_site', 'apriori_cell_type',
                        'biosample_type', 'disease', 'donor_age_at_collection_unit'),
    'datasets': _many(*_ENTITY, 'dataset_id', 'consent_group', 'data_use_permission',
                      'owner', 'principal_investigator', 'registered_identifier', 'title',
                      'data_modality'),
    'diagnoses': _many(*_ENTITY, 'diagnosis_id', 'disease', 'diagnosis_age_unit',
                       'onset_age_unit', 'phenotype', 'phenopacket'),
    'donors': _many(*_ENTITY, 'donor_id', 'organism_type', 'phenotypic_sex',
                    'reported_ethnicity', 'genetic_ancestry'),
    'files': {
        'document_id': Scalar(STR),
        'source_datarepo_row_ids': Many(STR),
        'file_id': Scalar(STR),
        'data_modality': Many(STR),
        'file_format': Scalar(STR),
        'file_size': Scalar(LONG),
        'file_md5sum': Scalar(STR),
        'reference_assembly': Many(STR),
        'file_name': Scalar(STR),
        'is_supplementary': Scalar(BOOL),
        'version': Scalar(STR),
        'drs_uri': Scalar(STR),
    },
}

# The inner entity types of a file aggregate, in the order the original
# writes them (that of its aggregate documents, where they are alphabetical)
INNER_ENTITY_TYPES = tuple(t for t in ANVIL_FILE_FIELD_TYPES if t != 'files')


def anvil_pfb_schema() -> JSON:
    return avro_pfb.pfb_schema(avro_pfb.entity_schema(name, fields)
                               for name, fields in ANVIL_FILE_FIELD_TYPES.items())


def anvil_metadata_entity() -> JSON:
    # As for HCA: every node but the files links to the files
    return avro_pfb.metadata_entity({
        name: [] if name == 'files' else [avro_pfb.link('files')]
        for name in ANVIL_FILE_FIELD_TYPES
    })


def _entity(name: str, obj: Mapping[str, Any],
            relations: Iterable[tuple[str, str]] = ()) -> JSON:
    ids = obj['document_id']
    # A list in an inner entity, which aggregation folds into one; a string
    # in the file itself
    ids = [ids] if isinstance(ids, str) else ids
    fields = ANVIL_FILE_FIELD_TYPES[name]
    return avro_pfb.entity(name, avro_pfb.entity_id(name, ids),
                           avro_pfb.conform(fields, obj), relations)


def anvil_pfb_entities(documents: Iterator[Mapping[str, Any]]) -> Iterator[JSON]:
    """The entities in the order of the HCA format (see `pfb.stream_entities`)."""
    return pfb.stream_entities(documents, anvil_metadata_entity(), INNER_ENTITY_TYPES,
                               _entity, lambda file, relations: [_entity('files', file,
                                                                         relations)])


class TerraPFBFormat(pfb.TerraPFBFormat):
    """`terra.pfb`, the HCA manifest or, for an AnVIL catalog, AnVIL's."""

    def write(self, context: ManifestContext, output: BinaryIO) -> str | None:
        if context.plugin.name != 'anvil':
            return super().write(context, output)
        documents = context.scan(self.entity_type)
        avro_pfb.write_entities(output, anvil_pfb_schema(), anvil_pfb_entities(documents))
        # The original names the file after nothing in it
        return None
