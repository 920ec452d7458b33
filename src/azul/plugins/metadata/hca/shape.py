"""
Response shaping: an HCA aggregate document (see `contents.md`) as a hit of
/index/{entity_type}, with the original Azul's camelCase names and layout.

Every hit has `protocols`, `entryId`, `sources`, `projects`, `samples`,
`specimens`, `cellLines`, `donorOrganisms`, `organoids`, `cellSuspensions` and
`dates`; files and bundles hits add `bundles` and `files`, the others add
`fileTypeSummaries`. Values are passed through as the aggregate holds them: a
scalar where the inner entity was kept whole, a sorted list where it was
folded. The hit's own entity (the file, sample, project or bundle) says
whether the caller may download its data (`accessible`). `files[].azul_url`
is an extra of ours (the newer original's name of `url`, which the current
Data Browser reads).
"""
from collections.abc import Mapping, Sequence
from typing import Any

from azul.auth.reify import is_accessible
from azul.plugins.metadata.base import HitContext
from azul.plugins.metadata.hca.matrices import stratification_tree

JSON = dict[str, Any]

# Entity types whose hits carry individual files (and bundles)
_complete_types = frozenset({'files', 'bundles'})


def shape_hit(entity_type: str, document: Mapping[str, Any], context: HitContext) -> JSON:
    contents = document['contents']
    hit: JSON = {
        'protocols': _protocols(contents),
        'entryId': document['entity_id'],
        'sources': [{'sourceId': s, 'sourceSpec': s} for s in document['sources']],
        'projects': _projects(contents, entity_type, context),
        'samples': _samples(contents),
        'specimens': [_specimen(s) for s in _inner(contents, 'specimens')],
        'cellLines': [_cell_line(c) for c in _inner(contents, 'cell_lines')],
        'donorOrganisms': [_donor(d) for d in _inner(contents, 'donors')],
        'organoids': [_organoid(o) for o in _inner(contents, 'organoids')],
        'cellSuspensions': [_cell_suspension(c) for c in _inner(contents, 'cell_suspensions')],
        'dates': [_dates(d) for d in _inner(contents, 'dates')],
    }
    if entity_type in _complete_types:
        hit['bundles'] = [{'bundleUuid': b['uuid'], 'bundleVersion': b['version']}
                          for b in document['bundles']]
        hit['files'] = [_file(f, context) for f in _inner(contents, 'files')]
    else:
        hit['fileTypeSummaries'] = [_file_type_summary(f) for f in _inner(contents, 'files')]
    # The hit's own entity says whether the caller may download its data
    accessible = is_accessible(document['sources'], context.readable)
    for entity in hit.get(entity_type, ()):
        entity['accessible'] = accessible
    return hit


def _inner(contents: Mapping[str, Any], inner_type: str) -> list[Mapping[str, Any]]:
    return contents.get(inner_type) or []


def _protocols(contents: Mapping[str, Any]) -> list[JSON]:
    return [
        *({'workflow': p.get('workflow')} for p in _inner(contents, 'analysis_protocols')),
        *({'assayType': p.get('assay_type')} for p in _inner(contents, 'imaging_protocols')),
        *({'libraryConstructionApproach': p.get('library_construction_approach'),
           'nucleicAcidSource': p.get('nucleic_acid_source')}
          for p in _inner(contents, 'library_preparation_protocols')),
        *({'instrumentManufacturerModel': p.get('instrument_manufacturer_model'),
           'pairedEnd': p.get('paired_end')}
          for p in _inner(contents, 'sequencing_protocols')),
    ]


def _dates(dates: Mapping[str, Any]) -> JSON:
    return {
        'aggregateLastModifiedDate': dates.get('aggregate_last_modified_date'),
        'aggregateSubmissionDate': dates.get('aggregate_submission_date'),
        'aggregateUpdateDate': dates.get('aggregate_update_date'),
        'lastModifiedDate': dates.get('last_modified_date'),
        'submissionDate': dates.get('submission_date'),
        'updateDate': dates.get('update_date'),
    }


def _camel(name: str) -> str:
    head, *rest = name.split('_')
    return head + ''.join(part[:1].upper() + part[1:] for part in rest)


def _camel_keys(items: Any) -> list[JSON]:
    return [{_camel(k): v for k, v in item.items()} for item in items or []]


def _sorted_set(values: Any) -> list[Any]:
    values = values if isinstance(values, list) else [values]
    return sorted(set(values), key=lambda v: (v is None, '' if v is None else v))


def _projects(contents: Mapping[str, Any], entity_type: str, context: HitContext) -> list[JSON]:
    result = []
    for project in _inner(contents, 'projects'):
        shaped = {
            'projectId': project.get('document_id'),
            'projectTitle': project.get('project_title'),
            'projectShortname': project.get('project_short_name'),
            'laboratory': _sorted_set(project.get('laboratory', [None])),
            'estimatedCellCount': project.get('estimated_cell_count'),
            'isTissueAtlasProject': project.get('is_tissue_atlas_project'),
            'tissueAtlas': project.get('tissue_atlas', []),
            'bionetworkName': project.get('bionetwork_name', [None]),
            'dataUseRestriction': project.get('data_use_restriction'),
        }
        if entity_type == 'projects':
            shaped.update({
                'projectDescription': project.get('project_description', []),
                'contributors': _camel_keys(project.get('contributors')),
                'publications': _camel_keys(project.get('publications')),
                'supplementaryLinks': project.get('supplementary_links', [None]),
                'matrices': _matrices(_inner(contents, 'matrices'), context),
                'contributedAnalyses': _matrices(_inner(contents, 'contributed_analyses'),
                                                 context),
                'accessions': project.get('accessions', [None]),
                'duosId': project.get('duos_id'),
            })
        result.append(shaped)
    return result


def _matrices(matrices: Sequence[Mapping[str, Any]], context: HitContext) -> JSON:
    files = []
    for matrix in matrices[:1]:
        for file in matrix.get('file') or ():
            files.append({**_file(file, context), 'strata': file.get('strata') or ''})
    return stratification_tree(files)


def _file(file: Mapping[str, Any], context: HitContext) -> JSON:
    shaped = {
        'contentDescription': file.get('content_description'),
        'format': file.get('file_format'),
        'isIntermediate': file.get('is_intermediate'),
        'name': file.get('name'),
        'sha256': file.get('sha256'),
        'size': file.get('size'),
        'fileSource': file.get('file_source'),
        'uuid': file.get('uuid'),
        'version': file.get('version'),
        'matrixCellCount': file.get('matrix_cell_count'),
        'drs_uri': file.get('drs_uri'),
    }
    uuid, version = shaped['uuid'], shaped['version']
    # A file without a DRS object cannot be downloaded through us
    if uuid is None or shaped['drs_uri'] is None:
        url = None
    else:
        url = context.file_url(uuid, version)
    shaped['url'] = url
    shaped['azul_url'] = url
    return shaped


def _file_type_summary(group: Mapping[str, Any]) -> JSON:
    return {
        'count': group.get('count'),
        'fileSource': group.get('file_source'),
        'totalSize': group.get('size'),
        'matrixCellCount': group.get('matrix_cell_count'),
        'format': group.get('file_format'),
        'isIntermediate': group.get('is_intermediate'),
        'contentDescription': group.get('content_description'),
    }


def _specimen(specimen: Mapping[str, Any]) -> JSON:
    return {
        'id': specimen.get('biomaterial_id'),
        'organ': specimen.get('organ'),
        'organPart': specimen.get('organ_part'),
        'disease': specimen.get('disease'),
        'preservationMethod': specimen.get('preservation_method'),
        'source': specimen.get('_source'),
    }


def _cell_suspension(cs: Mapping[str, Any]) -> JSON:
    return {
        'organ': cs.get('organ'),
        'organPart': cs.get('organ_part'),
        'selectedCellType': cs.get('selected_cell_type'),
        'totalCells': cs.get('total_estimated_cells'),
        'totalCellsRedundant': cs.get('total_estimated_cells_redundant'),
    }


def _cell_line(cell_line: Mapping[str, Any]) -> JSON:
    return {
        'id': cell_line.get('biomaterial_id'),
        'cellLineType': cell_line.get('cell_line_type'),
        'modelOrgan': cell_line.get('model_organ'),
    }


def _age_ranges(ranges: Any) -> Any:
    def pair(r: Any) -> Any:
        return [r.get('gte'), r.get('lte')] if isinstance(r, dict) else r
    return [pair(r) for r in ranges] if isinstance(ranges, list) else pair(ranges)


def _donor(donor: Mapping[str, Any]) -> JSON:
    return {
        'id': donor.get('biomaterial_id'),
        'donorCount': donor.get('donor_count'),
        'developmentStage': donor.get('development_stage'),
        'genusSpecies': donor.get('genus_species'),
        'organismAge': donor.get('organism_age'),
        'organismAgeRange': _age_ranges(donor.get('organism_age_range')),
        'biologicalSex': donor.get('biological_sex'),
        'disease': donor.get('diseases'),
    }


def _organoid(organoid: Mapping[str, Any]) -> JSON:
    return {
        'id': organoid.get('biomaterial_id'),
        'modelOrgan': organoid.get('model_organ'),
        'modelOrganPart': organoid.get('model_organ_part'),
    }


# Sample kinds in the original's order, with the shaping of each kind
_sample_kinds = (
    ('cellLines', 'sample_cell_lines', _cell_line, 'model_organ'),
    ('organoids', 'sample_organoids', _organoid, 'model_organ'),
    ('specimens', 'sample_specimens', _specimen, 'organ'),
)


def _samples(contents: Mapping[str, Any]) -> list[JSON]:
    result = []
    for kind, inner_type, shape, organ in _sample_kinds:
        for sample in _inner(contents, inner_type):
            aggregated = isinstance(sample.get('document_id'), list)
            result.append({
                'sampleEntityType': [kind] if aggregated else kind,
                'effectiveOrgan': sample.get(organ),
                **shape(sample),
            })
    return result
