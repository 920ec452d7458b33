"""
The HCA field registry: every API field name of the original Azul HCA service,
where its values live in an aggregate document (see `contents.md`), its type,
and whether it is a facet.

Decisions where the reference API left room:

* `organismAge`, `accessions` and `tissueAtlas` are `object` fields: the
  reference filters them by objects (`{"value", "unit"}`, `{"namespace",
  "accession"}`, `{"atlas", "version"}`) and the original facet terms of
  `organismAge` are those objects.
* `assayType` is a `keyword` field. The reference types its `is` values as
  bare objects because the original stored a frequency dict per imaging
  protocol, but what users filter by is the assay type, a string, and that is
  what the documents hold (`contents.protocols.assay_type`).
* `bundleVersion` and `fileVersion` are keywords, not dates: they are matched
  exactly as spelled in the index.
* `sourceId` and `sourceSpec` both read the source spec string: a canned
  source has no id apart from its spec.
* `accessible` depends on the caller (see `azul.auth.reify`): the service
  folds a filter on it into one on `sourceId`, counts its facet from the
  entities per source, and marks hits by the caller's readable sources. It
  is a facet in place of `sourceId`, as the original synthesizes it: the
  Data Browser's export page enables its cards by its terms. What the index
  holds for it (true for every entity) is never read.
* Internal fields (`INTERNAL_FIELDS`) are not part of the reference API; they
  exist only so that `/index/summary` can count distinct specimens and donors
  as the original did. They are neither facets nor sortable, but the service
  accepts them in filters like any registered field.
"""


from azul.core.fields import AccessibleField, Field, FieldRegistry, FieldType, ObjectShape
from azul.core.search import Order

keyword = FieldType.keyword
long = FieldType.long
boolean = FieldType.boolean
date = FieldType.date
object_ = FieldType.object
range_ = FieldType.range


def _f(name: str, type_: FieldType, path: str, facet: bool = False) -> Field:
    return Field(name=name, type=type_, path=path, facet=facet)


_c = 'contents.'

# API name, type, document path, facet. Facets are those of the original
# plugin's `facets` (including the inherited `sourceId`).
_fields: tuple[Field, ...] = (
    _f('entryId', keyword, 'entity_id'),
    # The original's filter schema refuses null for it (a pass-through string)
    Field(name='sourceId', type=keyword, path='sources', nullable=False),
    _f('sourceSpec', keyword, 'sources'),
    _f('bundleUuid', keyword, 'bundles.uuid'),
    _f('bundleVersion', keyword, 'bundles.version'),
    # Cell counts across inner entity types (see `cell_counts` in contents.md)
    # 0 rather than null without any count: the original's HCAAggregate sums them
    Field(name='cellCount', type=long, path=_c + 'cell_counts.total_estimated_cells', default=0),
    Field(name='effectiveCellCount', type=long, path=_c + 'cell_counts.effective_cell_count',
          default=0),
    # Dates
    _f('submissionDate', date, _c + 'dates.submission_date'),
    _f('updateDate', date, _c + 'dates.update_date'),
    _f('lastModifiedDate', date, _c + 'dates.last_modified_date'),
    _f('aggregateSubmissionDate', date, _c + 'dates.aggregate_submission_date'),
    _f('aggregateUpdateDate', date, _c + 'dates.aggregate_update_date'),
    _f('aggregateLastModifiedDate', date, _c + 'dates.aggregate_last_modified_date'),
    # Files
    _f('fileFormat', keyword, _c + 'files.file_format', facet=True),
    _f('fileName', keyword, _c + 'files.name'),
    _f('fileSize', long, _c + 'files.size'),
    _f('fileSource', keyword, _c + 'files.file_source', facet=True),
    _f('fileId', keyword, _c + 'files.uuid'),
    _f('fileVersion', keyword, _c + 'files.version'),
    _f('contentDescription', keyword, _c + 'files.content_description', facet=True),
    _f('matrixCellCount', long, _c + 'files.matrix_cell_count'),
    _f('isIntermediate', boolean, _c + 'files.is_intermediate', facet=True),
    # Projects
    _f('contactName', keyword, _c + 'projects.contact_names', facet=True),
    _f('projectId', keyword, _c + 'projects.document_id'),
    _f('institution', keyword, _c + 'projects.institutions', facet=True),
    _f('laboratory', keyword, _c + 'projects.laboratory', facet=True),
    _f('projectDescription', keyword, _c + 'projects.project_description', facet=True),
    _f('project', keyword, _c + 'projects.project_short_name', facet=True),
    _f('projectTitle', keyword, _c + 'projects.project_title', facet=True),
    _f('publicationTitle', keyword, _c + 'projects.publication_titles', facet=True),
    # A `nested` field in the original: a filter value matches any accession having
    # its entries (only a namespace, say), and there is one value per filter
    Field(name='accessions', type=object_, path=_c + 'projects.accessions',
          shape=ObjectShape(('namespace', 'accession'), nullable=('namespace', 'accession'),
                            partial=True)),
    _f('projectEstimatedCellCount', long, _c + 'projects.estimated_cell_count'),
    _f('isTissueAtlasProject', boolean, _c + 'projects.is_tissue_atlas_project', facet=True),
    _f('tissueAtlas', keyword, _c + 'projects.tissue_atlas.atlas', facet=True),
    _f('bionetworkName', keyword, _c + 'projects.bionetwork_name', facet=True),
    _f('dataUseRestriction', keyword, _c + 'projects.data_use_restriction', facet=True),
    # Protocols
    _f('instrumentManufacturerModel', keyword,
       _c + 'sequencing_protocols.instrument_manufacturer_model', facet=True),
    _f('pairedEnd', boolean, _c + 'sequencing_protocols.paired_end', facet=True),
    _f('libraryConstructionApproach', keyword,
       _c + 'library_preparation_protocols.library_construction_approach', facet=True),
    _f('nucleicAcidSource', keyword, _c + 'library_preparation_protocols.nucleic_acid_source',
       facet=True),
    _f('workflow', keyword, _c + 'analysis_protocols.workflow', facet=True),
    _f('assayType', keyword, _c + 'imaging_protocols.assay_type', facet=True),
    # Donors
    _f('biologicalSex', keyword, _c + 'donors.biological_sex', facet=True),
    _f('genusSpecies', keyword, _c + 'donors.genus_species', facet=True),
    _f('donorDisease', keyword, _c + 'donors.diseases', facet=True),
    _f('developmentStage', keyword, _c + 'donors.development_stage', facet=True),
    Field(name='organismAge', type=object_, path=_c + 'donors.organism_age', facet=True,
          shape=ObjectShape(('value', 'unit'), required=('value', 'unit'))),
    _f('organismAgeRange', range_, _c + 'donors.organism_age_range'),
    _f('donorCount', long, _c + 'donors.donor_count'),
    # Samples: specimens, cell lines and organoids alike
    _f('sampleId', keyword, _c + 'samples.biomaterial_id'),
    _f('sampleEntityType', keyword, _c + 'samples.entity_type', facet=True),
    _f('organ', keyword, _c + 'samples.organ', facet=True),
    _f('organPart', keyword, _c + 'samples.organ_part', facet=True),
    _f('modelOrgan', keyword, _c + 'samples.model_organ', facet=True),
    _f('modelOrganPart', keyword, _c + 'samples.model_organ_part', facet=True),
    _f('effectiveOrgan', keyword, _c + 'samples.effective_organ', facet=True),
    _f('sampleDisease', keyword, _c + 'sample_specimens.disease', facet=True),
    # Specimens
    _f('specimenDisease', keyword, _c + 'specimens.disease', facet=True),
    _f('specimenOrgan', keyword, _c + 'specimens.organ', facet=True),
    _f('specimenOrganPart', keyword, _c + 'specimens.organ_part', facet=True),
    _f('preservationMethod', keyword, _c + 'specimens.preservation_method', facet=True),
    # Cell suspensions and cell lines
    _f('selectedCellType', keyword, _c + 'cell_suspensions.selected_cell_type', facet=True),
    _f('cellLineType', keyword, _c + 'cell_lines.cell_line_type', facet=True),
    # Synthetic: not sortable in the reference
    AccessibleField(name='accessible', type=boolean, path='sources', facet=True, nullable=False,
                    sortable=False),
)

# Not in the reference API: distinct counts of /index/summary
INTERNAL_FIELDS: tuple[Field, ...] = (
    Field(name='specimenDocumentId', type=keyword, path=_c + 'specimens.document_id',
          sortable=False),
    Field(name='donorDocumentId', type=keyword, path=_c + 'donors.document_id',
          sortable=False),
)

registry = FieldRegistry(_fields + INTERNAL_FIELDS)

# The sort of /index/{entity_type} when the request names none, as in the original
default_sorts: dict[str, tuple[str, Order]] = {
    'files': ('fileName', 'asc'),
    'samples': ('sampleId', 'asc'),
    'projects': ('projectTitle', 'asc'),
    'bundles': ('bundleVersion', 'desc'),
}

# The original `project` facet's terms list the ids of the projects of each short name
facet_companions: dict[str, str] = {'project': 'projectId'}
