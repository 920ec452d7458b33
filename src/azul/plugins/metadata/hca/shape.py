"""
Response shaping: an HCA aggregate document (see `contents.md`) as a hit of
/index/{entity_type}, with the original Azul's camelCase names.

Every hit has `protocols`, `entryId`, `sources`, `projects`, `samples`,
`specimens`, `cellLines`, `donorOrganisms`, `organoids`, `cellSuspensions` and
`dates`; files and bundles hits add `bundles` and `files`, samples and projects
hits add `fileTypeSummaries` (the files of those aggregates are grouped by
format). Values are passed through as the aggregate holds them: a scalar where
the inner entity was kept whole, a sorted list where it was folded.
"""
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from azul.plugins.metadata.base import HitContext
from azul.plugins.metadata.hca.fields import registry

JSON = dict[str, Any]

# Entity types whose aggregates carry individual files (and bundles)
_complete_types = frozenset({'files', 'bundles'})


def shape_hit(entity_type: str, document: Mapping[str, Any], context: HitContext) -> JSON:
    contents = document['contents']
    hit: JSON = {
        'protocols': _protocols(contents),
        'entryId': document['entity_id'],
        'sources': [{'sourceId': s, 'sourceSpec': s} for s in document['sources']],
        'projects': _projects(contents, entity_type),
        'samples': [_sample(s) for s in _inner(contents, 'samples')],
        'specimens': [_specimen(s) for s in _inner(contents, 'specimens')],
        'cellLines': [_cell_line(c) for c in _inner(contents, 'cell_lines')],
        'donorOrganisms': [_donor(d) for d in _inner(contents, 'donors')],
        'organoids': [_organoid(o) for o in _inner(contents, 'organoids')],
        'cellSuspensions': [_cell_suspension(c) for c in _inner(contents, 'cell_suspensions')],
        'dates': _dates(contents),
    }
    if entity_type in _complete_types:
        hit['bundles'] = [{'bundleUuid': b['uuid'], 'bundleVersion': b['version']}
                          for b in document['bundles']]
        hit['files'] = [_file(f, context) for f in _inner(contents, 'files')]
    else:
        hit['fileTypeSummaries'] = [_file_type_summary(f) for f in _inner(contents, 'files')]
    # The hit's own entity says whether the caller may download its data
    accessible = _accessible(document['sources'])
    for entity in hit.get(entity_type, ()):
        entity['accessible'] = accessible
    return hit


def _accessible(sources: Sequence[str]) -> bool:
    field = registry['accessible']
    return bool(sources) and all(field.normalize(s) for s in sources)


def _inner(contents: Mapping[str, Any], inner_type: str) -> list[Mapping[str, Any]]:
    return contents.get(inner_type) or []


def _pick(entity: Mapping[str, Any], names: Iterable[tuple[str, str]]) -> JSON:
    return {api: entity.get(key) for api, key in names}


# Protocol fields by protocol kind, in the order of the original response.
# Since all protocols share one inner entity type, a kind is present if any
# of its fields is: absent keys are never accumulated (see contents.md).
_protocol_kinds: tuple[tuple[tuple[str, str], ...], ...] = (
    (('workflow', 'workflow'),),
    (('assayType', 'assay_type'),),
    (('libraryConstructionApproach', 'library_construction_approach'),
     ('nucleicAcidSource', 'nucleic_acid_source')),
    (('instrumentManufacturerModel', 'instrument_manufacturer_model'),
     ('pairedEnd', 'paired_end')),
)


def _protocols(contents: Mapping[str, Any]) -> list[JSON]:
    protocols = _inner(contents, 'protocols')
    return [
        _pick(protocol, kind)
        for kind in _protocol_kinds
        for protocol in protocols
        if any(key in protocol for _, key in kind)
    ]


def _dates(contents: Mapping[str, Any]) -> list[JSON]:
    aggregate = next(iter(_inner(contents, 'aggregate_dates')), {})
    return [
        {
            'aggregateLastModifiedDate': aggregate.get('aggregate_last_modified_date'),
            'aggregateSubmissionDate': aggregate.get('aggregate_submission_date'),
            'aggregateUpdateDate': aggregate.get('aggregate_update_date'),
            'lastModifiedDate': dates.get('last_modified_date'),
            'submissionDate': dates.get('submission_date'),
            'updateDate': dates.get('update_date'),
        }
        for dates in _inner(contents, 'dates')
    ]


_camel_re = re.compile(r'_([a-z0-9])')


def _camel(name: str) -> str:
    return _camel_re.sub(lambda m: m.group(1).upper(), name)


def _camel_keys(items: Any) -> list[JSON]:
    return [{_camel(k): v for k, v in item.items()} for item in items or []]


def _projects(contents: Mapping[str, Any], entity_type: str) -> list[JSON]:
    result = []
    for project in _inner(contents, 'projects'):
        laboratory = project.get('laboratory')
        shaped = {
            'projectId': project.get('document_id'),
            'projectTitle': project.get('project_title'),
            'projectShortname': project.get('project_short_name'),
            'laboratory': _sorted_set([None] if laboratory is None else laboratory),
            'estimatedCellCount': project.get('estimated_cell_count'),
        }
        if entity_type == 'projects':
            shaped.update({
                'isTissueAtlasProject': project.get('is_tissue_atlas_project'),
                'tissueAtlas': project.get('tissue_atlas', []),
                'bionetworkName': project.get('bionetwork_name', []),
                'dataUseRestriction': project.get('data_use_restriction'),
                'projectDescription': project.get('project_description'),
                'contributors': _camel_keys(project.get('contributors')),
                'publications': _camel_keys(project.get('publications')),
                'supplementaryLinks': project.get('supplementary_links', [None]),
                # Matrices are stratified in the original from per-file
                # metadata that projects aggregates do not keep
                'matrices': {},
                'contributedAnalyses': {},
                'accessions': project.get('accessions', [None]),
                'duosId': project.get('duos_id'),
            })
        result.append(shaped)
    return result


def _sorted_set(values: Any) -> list[Any]:
    values = values if isinstance(values, list) else [values]
    return sorted(set(values), key=lambda v: (v is None, v if v is not None else ''))


def _file(file: Mapping[str, Any], context: HitContext) -> JSON:
    shaped = _pick(file, (
        ('contentDescription', 'content_description'),
        ('format', 'file_format'),
        ('isIntermediate', 'is_intermediate'),
        ('name', 'name'),
        ('sha256', 'sha256'),
        ('size', 'size'),
        ('fileSource', 'file_source'),
        ('uuid', 'uuid'),
        ('version', 'version'),
        ('matrixCellCount', 'matrix_cell_count'),
        ('drs_uri', 'drs_uri'),
    ))
    uuid, version = _scalar(shaped['uuid']), _scalar(shaped['version'])
    url = None if uuid is None else context.file_url(uuid, version)
    shaped['url'] = url
    shaped['azul_url'] = url
    return shaped


def _scalar(value: Any) -> Any:
    # A file of a files aggregate is kept whole, but be lenient with a folded one
    if isinstance(value, list):
        return value[0] if len(value) == 1 else None
    return value


def _one_or_list(value: Any) -> Any:
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _file_type_summary(group: Mapping[str, Any]) -> JSON:
    file_source = group.get('file_source')
    content_description = group.get('content_description')
    return {
        'format': _one_or_list(group.get('file_format')),
        'count': group.get('count') or 0,
        'totalSize': group.get('size') or 0,
        'matrixCellCount': group.get('matrix_cell_count') or 0,
        'fileSource': _as_list(file_source),
        'isIntermediate': _one_or_list(group.get('is_intermediate')),
        'contentDescription': _as_list(content_description),
    }


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _specimen(specimen: Mapping[str, Any]) -> JSON:
    return {
        **_pick(specimen, (
            ('id', 'biomaterial_id'),
            ('organ', 'organ'),
            ('organPart', 'organ_part'),
            ('disease', 'disease'),
            ('preservationMethod', 'preservation_method'),
        )),
        # The schema name, as the original's `_source`
        'source': _like(specimen.get('biomaterial_id'), 'specimen_from_organism'),
    }


def _like(reference: Any, value: Any) -> Any:
    return [value] if isinstance(reference, list) else value


def _cell_suspension(cell_suspension: Mapping[str, Any]) -> JSON:
    return _pick(cell_suspension, (
        ('organ', 'organ'),
        ('organPart', 'organ_part'),
        ('selectedCellType', 'selected_cell_type'),
        ('totalCells', 'total_estimated_cells'),
    ))


def _cell_line(cell_line: Mapping[str, Any]) -> JSON:
    return _pick(cell_line, (
        ('id', 'biomaterial_id'),
        ('cellLineType', 'cell_line_type'),
        ('modelOrgan', 'model_organ'),
    ))


def _donor(donor: Mapping[str, Any]) -> JSON:
    return _pick(donor, (
        ('id', 'biomaterial_id'),
        ('donorCount', 'donor_count'),
        ('developmentStage', 'development_stage'),
        ('genusSpecies', 'genus_species'),
        ('organismAge', 'organism_age'),
        ('organismAgeRange', 'organism_age_range'),
        ('biologicalSex', 'biological_sex'),
        ('disease', 'diseases'),
    ))


def _organoid(organoid: Mapping[str, Any]) -> JSON:
    return _pick(organoid, (
        ('id', 'biomaterial_id'),
        ('modelOrgan', 'model_organ'),
        ('modelOrganPart', 'model_organ_part'),
    ))


def _sample(sample: Mapping[str, Any]) -> JSON:
    # The original listed a sample per kind (specimen, cell line, organoid)
    # with that kind's fields; here all kinds share one inner entity type, so
    # a sample carries the union of their fields.
    return _pick(sample, (
        ('sampleEntityType', 'sample_entity_type'),
        ('effectiveOrgan', 'effective_organ'),
        ('id', 'biomaterial_id'),
        ('organ', 'organ'),
        ('organPart', 'organ_part'),
        ('modelOrgan', 'model_organ'),
        ('modelOrganPart', 'model_organ_part'),
        ('disease', 'disease'),
    ))
