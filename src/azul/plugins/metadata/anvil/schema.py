"""
The tables of the AnVIL data model (the "Findability Subset", version 5, the
model of the snapshots the original Azul indexes), as the verbatim PFB
manifest types them: the original derives an AnVIL catalog's PFB schema from
this model rather than from the rows at hand, so that a table has the same
record in every manifest, whichever of its rows and columns a manifest
holds, and every table of the model is declared even if no row of it is in
the manifest.

A table is its primary key (a required string) and its other columns, each
of a TDR data type, a list for an array column. Every table also has TDR's
`datarepo_row_id`, the replica's entity id.
"""
from collections.abc import Mapping
from typing import Any

JSON = dict[str, Any]

S, F, N, B, R = 'string', 'float', 'integer', 'boolean', 'fileref'

_IDS = {'source_datarepo_row_ids': [S]}

TABLES: Mapping[str, tuple[str, Mapping[str, Any]]] = {
    'anvil_activity': ('activity_id', {
        'activity_type': S, 'used_file_id': [S], 'generated_file_id': [S],
        'used_biosample_id': [S], **_IDS}),
    'anvil_alignmentactivity': ('alignmentactivity_id', {
        'activity_type': S, 'data_modality': [S], 'generated_file_id': [S],
        'used_file_id': [S], 'reference_assembly': [S], **_IDS}),
    'anvil_antibody': ('antibody_id', {'target': S, **_IDS}),
    'anvil_assayactivity': ('assayactivity_id', {
        'activity_type': S, 'antibody_id': [S], 'assay_type': S, 'data_modality': [S],
        'generated_file_id': [S], 'used_biosample_id': [S], **_IDS}),
    'anvil_biosample': ('biosample_id', {
        'anatomical_site': S, 'apriori_cell_type': [S], 'biosample_type': S, 'disease': S,
        'donor_age_at_collection_unit': S, 'donor_age_at_collection_lower_bound': F,
        'donor_age_at_collection_upper_bound': F, 'donor_id': [S],
        'part_of_dataset_id': [S], **_IDS}),
    'anvil_dataset': ('dataset_id', {
        'consent_group': [S], 'data_use_permission': [S], 'owner': [S],
        'principal_investigator': [S], 'registered_identifier': [S], 'title': S,
        'data_modality': [S], **_IDS}),
    'anvil_diagnosis': ('diagnosis_id', {
        'donor_id': S, 'disease': [S], 'diagnosis_age_unit': S,
        'diagnosis_age_lower_bound': F, 'diagnosis_age_upper_bound': F,
        'onset_age_unit': S, 'onset_age_lower_bound': F, 'onset_age_upper_bound': F,
        'phenotype': [S], 'phenopacket': [S], **_IDS}),
    'anvil_donor': ('donor_id', {
        'organism_type': S, 'part_of_dataset_id': S, 'phenotypic_sex': S,
        'reported_ethnicity': [S], 'genetic_ancestry': [S], **_IDS}),
    'anvil_file': ('file_id', {
        'data_modality': [S], 'file_format': S, 'file_size': N, 'file_md5sum': S,
        'reference_assembly': [S], 'file_name': S, 'file_ref': R, 'is_supplementary': B,
        **_IDS}),
    'anvil_project': ('project_id', {
        'funded_by': [S], 'generated_dataset_id': [S], 'principal_investigator': [S],
        'title': S, 'registered_identifier': [S], **_IDS}),
    'anvil_sequencingactivity': ('sequencingactivity_id', {
        'activity_type': S, 'assay_type': [S], 'data_modality': [S],
        'generated_file_id': [S], 'used_biosample_id': [S], **_IDS}),
    'anvil_variantcallingactivity': ('variantcallingactivity_id', {
        'activity_type': S, 'used_file_id': [S], 'generated_file_id': [S],
        'reference_assembly': [S], 'data_modality': [S], **_IDS}),
}

# TDR's types as Avro's
_AVRO = {S: 'string', F: 'double', N: 'long', B: 'boolean', R: 'string'}

# Columns the bundles add to a table's rows, which the original declares:
# a file's DRS URI, and what DUOS says of a dataset (the DUOS id since the
# original's dataset rows carry it)
_EXTRA = {'anvil_file': {'drs_uri': S}, 'anvil_dataset': {'description': S, 'duos_id': S}}

# A DUOS bundle's dataset row holds the description only, and is a row of the
# same table: every field of a dataset may be missing, even its keys
_ALL_OPTIONAL = frozenset({'anvil_dataset'})


def _type(datatype: Any, required: bool, table: str) -> Any:
    if isinstance(datatype, list):
        # The elements of an array column may be null, the array not
        type_: Any = {'type': 'array', 'items': ['null', _AVRO[datatype[0]]]}
    else:
        type_ = _AVRO[datatype] if required else ['null', _AVRO[datatype]]
    if table in _ALL_OPTIONAL and (required or isinstance(datatype, list)):
        type_ = ['null', type_]
    return type_


def pfb_records() -> dict[str, JSON]:
    """The Avro record of each table, by table name in name order, fields by name."""
    records = {}
    for table in sorted(TABLES):
        primary_key, columns = TABLES[table]
        types = {'datarepo_row_id': (S, True), primary_key: (S, True),
                 **{name: (t, False) for name, t in {**columns, **_EXTRA.get(table, {})}.items()}}
        records[table] = {
            'name': table,
            'type': 'record',
            'fields': [{'name': name, 'namespace': table, 'type': _type(t, required, table)}
                       for name, (t, required) in sorted(types.items())],
        }
    return records

