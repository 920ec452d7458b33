"""
The `terra.pfb` manifest of an HCA catalog: every matching file, and the
inner entities of its aggregate (samples, donors, projects, protocols, ...),
as PFB entities that Terra imports into a workspace, each file related to the
inner entities of its aggregate.

The schema comes from the field type table below, not from the transformer:
our transformer has no field types of its own, and the table is what the
original's `FileTransformer.field_types()` yields, field for field and in the
same order (checked against the original's canned PFB schema), so that the
schema is the same even where our documents lack a field (e.g.
`biomaterial_name`), which then gets its default.
"""
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, BinaryIO

from azul.manifests import avro_pfb
from azul.manifests.avro_pfb import (
    JSON,
    FieldTypes,
    Many,
    Ranges,
    Records,
    Scalar,
    Uuid,
    ValueAndUnit,
)
from azul.manifests.formats.base import ManifestContext, ManifestFormat

STR, LONG, BOOL = 'string', 'long', 'boolean'


def _many(*names: str, avro: str = STR) -> dict[str, Many]:
    return {name: Many(avro) for name in names}


def _file_fields(make: type[Scalar] | type[Many]) -> FieldTypes:
    # The fields of a file: scalars in the file's own aggregate, lists in the
    # files of matrices and contributed analyses
    return {
        'document_id': make(STR), 'content-type': make(STR), 'indexed': make(BOOL),
        'name': make(STR), 'crc32c': make(STR), 'sha256': make(STR), 'size': make(LONG),
        'uuid': Uuid(), 'drs_uri': make(STR), 'version': make(STR),
        'file_type': make(STR), 'file_format': make(STR),
        'content_description': Many(STR),
        'is_intermediate': make(BOOL), 'file_source': make(STR), '_type': make(STR),
        'read_index': make(STR), 'lane_index': make(LONG), 'matrix_cell_count': make(LONG),
    }


_BIOMATERIAL = ('document_id', 'biomaterial_id', 'biomaterial_name')
_SPECIMEN = _many(*_BIOMATERIAL, 'has_input_biomaterial', '_source', 'disease', 'organ',
                  'organ_part', 'storage_method', 'preservation_method', '_type')
_CELL_LINE = _many(*_BIOMATERIAL, 'cell_line_type', 'model_organ')
_ORGANOID = _many(*_BIOMATERIAL, 'model_organ', 'model_organ_part')
_ANALYSIS = {'document_id': Many(STR), 'file': Records(_file_fields(Many))}

# Entity type → its fields, in the original's order. `None` stands for
# `total_estimated_cells`, a number the original keeps beside the inner
# entities: it gets a node in the Metadata entity but no record.
HCA_FILE_FIELD_TYPES: Mapping[str, FieldTypes | None] = {
    'samples': _many(*_BIOMATERIAL, 'entity_type', 'organ', 'organ_part', 'model_organ',
                     'model_organ_part', 'effective_organ'),
    'sample_cell_lines': _CELL_LINE,
    'sample_organoids': _ORGANOID,
    'sample_specimens': _SPECIMEN,
    'sequencing_inputs': _many(*_BIOMATERIAL, 'sequencing_input_type'),
    'specimens': _SPECIMEN,
    'cell_suspensions': {
        **_many(*_BIOMATERIAL),
        # Sums, not lists: aggregation adds them up
        'total_estimated_cells': Scalar(LONG),
        'total_estimated_cells_redundant': Scalar(LONG),
        **_many('selected_cell_type', 'organ', 'organ_part'),
    },
    'cell_lines': _CELL_LINE,
    'donors': {
        **_many(*_BIOMATERIAL, 'biological_sex', 'genus_species', 'development_stage',
                'diseases'),
        'organism_age': ValueAndUnit(),
        'organism_age_range': Ranges(),
        'donor_count': Scalar(LONG),
    },
    'organoids': _ORGANOID,
    'files': _file_fields(Scalar),
    'analysis_protocols': _many('document_id', 'protocol_name', 'workflow'),
    'imaging_protocols': _many('document_id', 'protocol_name'),
    'library_preparation_protocols': _many('document_id', 'library_construction_approach',
                                           'nucleic_acid_source', 'protocol_name'),
    'sequencing_protocols': {
        **_many('document_id', 'instrument_manufacturer_model'),
        'paired_end': Many(BOOL),
        'protocol_name': Many(STR),
    },
    'sequencing_processes': _many('document_id'),
    'total_estimated_cells': None,
    'matrices': _ANALYSIS,
    'contributed_analyses': _ANALYSIS,
    'projects': {
        **_many('document_id', 'project_title', 'project_description', 'project_short_name',
                'laboratory', 'institutions', 'contact_names'),
        'contributors': Records({
            **_many('contact_name'), 'corresponding_contributor': Many(BOOL),
            **_many('email', 'institution', 'laboratory', 'project_role'),
        }),
        'publication_titles': Many(STR),
        'publications': Records({
            **_many('publication_title', 'publication_url'),
            'official_hca_publication': Many(BOOL), 'doi': Many(STR),
        }),
        **_many('supplementary_links', '_type'),
        # The original stores these as nested objects, one value per field
        'accessions': Records({'namespace': Scalar(STR), 'accession': Scalar(STR)}),
        'is_tissue_atlas_project': Many(BOOL),
        'tissue_atlas': Records({'atlas': Scalar(STR), 'version': Scalar(STR)}),
        'bionetwork_name': Many(STR),
        'estimated_cell_count': Scalar(LONG),
        **_many('data_use_restriction', 'duos_id'),
    },
    'dates': _many('document_id', 'aggregate_last_modified_date', 'aggregate_submission_date',
                   'aggregate_update_date', 'submission_date', 'update_date',
                   'last_modified_date'),
}

# The order in which a file's inner entities are written (before the file
# that refers to them): the original's, as its canned manifest shows (it
# follows the key order of its aggregate documents, where the kinds of
# samples precede `samples`); ours are keyed alphabetically. `dates` are
# left out: the original's file aggregates have none (its canned manifest
# relates no file to dates), ours hold the file's own dates, as strings where
# the schema wants lists.
INNER_ENTITY_ORDER: tuple[str, ...] = (
    'sample_cell_lines', 'sample_organoids', 'sample_specimens', 'samples',
    *(t for t, f in HCA_FILE_FIELD_TYPES.items()
      if f is not None
      and t not in ('files', 'samples', 'dates')
      and not t.startswith('sample_')),
)


def hca_pfb_schema() -> JSON:
    return avro_pfb.pfb_schema(avro_pfb.entity_schema(name, fields)
                               for name, fields in HCA_FILE_FIELD_TYPES.items()
                               if fields is not None)


def hca_metadata_entity() -> JSON:
    # Every node but the files links to the files: the only relations there are
    return avro_pfb.metadata_entity({
        name: [] if name == 'files' else [avro_pfb.link('files')]
        for name in HCA_FILE_FIELD_TYPES
    })


def _inner_entity(name: str, obj: Mapping[str, Any]) -> JSON:
    fields = HCA_FILE_FIELD_TYPES[name]
    assert fields is not None
    ids = obj['document_id']
    return avro_pfb.entity(name, avro_pfb.entity_id(name, ids), avro_pfb.conform(fields, obj))


def _file_entities(file: Mapping[str, Any], relations: list[tuple[str, str]]) -> Iterator[JSON]:
    # A zarr store is a file with related files: each becomes a file entity
    # of its own, related to the same inner entities
    fields = HCA_FILE_FIELD_TYPES['files']
    assert fields is not None
    for f in (file, *(file.get('related_files') or ())):
        id_ = avro_pfb.entity_id('files', [f['document_id']])
        yield avro_pfb.entity('files', id_, avro_pfb.conform(fields, f), relations)


def stream_entities(documents: Iterator[Mapping[str, Any]],
                    metadata: JSON,
                    inner_names: Iterable[str],
                    inner_entity: Callable[[str, Mapping[str, Any]], JSON],
                    file_entities: Callable[[Mapping[str, Any], list[tuple[str, str]]],
                                            Iterable[JSON]]
                    ) -> Iterator[JSON]:
    """
    The Metadata entity, then per file aggregate the inner entities not seen
    before (Terra reads a PFB in one pass and wants an entity before any
    relation to it), then the file's entities, related to all of them. The
    original collects every document first; this streams, holding only the
    ids of the inner entities written so far (an inner entity's first
    occurrence wins, as in the original). Both atlases' `terra.pfb`.
    """
    yield metadata
    written: set[str] = set()
    for document in documents:
        contents = document['contents']
        relations = []
        for name in inner_names:
            # Inner entities without a document id cannot be told apart
            inner = [e for e in contents.get(name) or () if e.get('document_id')]
            # The order of an aggregate's inner entities depends on the order
            # its contributions were read in; sorting makes the output stable
            for obj in sorted(inner, key=lambda e: e['document_id']):
                entity = inner_entity(name, obj)
                relations.append((name, entity['id']))
                if entity['id'] not in written:
                    written.add(entity['id'])
                    yield entity
        file, = contents['files']
        yield from file_entities(file, relations)


def hca_pfb_entities(documents: Iterator[Mapping[str, Any]]) -> Iterator[JSON]:
    return stream_entities(documents, hca_metadata_entity(), INNER_ENTITY_ORDER,
                           _inner_entity, _file_entities)


class TerraPFBFormat(ManifestFormat):
    name = 'terra.pfb'
    extension = 'avro'
    content_type = 'application/octet-stream'

    def write(self, context: ManifestContext, output: BinaryIO) -> str | None:
        documents = context.scan(self.entity_type)
        avro_pfb.write_entities(output, hca_pfb_schema(), hca_pfb_entities(documents))
        # The original names the file after nothing in it
        return None
