"""
Inner entities: the dict each related entity contributes to a document,
built from one metadata entity (and, for files, its manifest entry). The
shapes are specified in `contents.md`.

Every field is read tolerantly, because schema versions 5 to 19 name and nest
the same facts differently; a missing value is null, never an error.
"""
import re
from collections.abc import Mapping
from typing import Any

from azul.core.documents import normalize_version
from azul.errors import AzulError
from azul.plugins.metadata.hca.model import Entity, HCABundle

JSON = dict[str, Any]


def label(value: Any) -> str | None:
    """An ontology term's label; plain strings pass through."""
    if isinstance(value, dict):
        return value.get('ontology_label') or value.get('text')
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    else:
        return None


def labels(value: Any) -> list[str | None]:
    """Sorted labels of a list of terms (or of one term), nulls last."""
    items = value if isinstance(value, list) else [] if value is None else [value]
    found = {label(v) for v in items}
    return sorted(found, key=lambda v: (v is None, v or ''))


def first(content: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = content.get(key)
        if value is not None:
            return value
    return None


def _biomaterial(entity: Entity) -> JSON:
    core = entity.content.get('biomaterial_core') or {}
    return {'document_id': entity.document_id, 'biomaterial_id': core.get('biomaterial_id')}


def specimen(entity: Entity) -> JSON:
    c = entity.content
    storage = c.get('preservation_storage') or {}
    return {
        **_biomaterial(entity),
        'has_input_biomaterial': (c.get('biomaterial_core') or {}).get('has_input_biomaterial'),
        'disease': labels(first(c, 'diseases', 'disease')),
        'organ': label(c.get('organ')),
        'organ_part': labels(first(c, 'organ_parts', 'organ_part')),
        'preservation_method': label(storage.get('preservation_method')),
        'storage_method': label(storage.get('storage_method')),
    }


def cell_line(entity: Entity) -> JSON:
    c = entity.content
    return {
        **_biomaterial(entity),
        'cell_line_type': label(c.get('cell_line_type')),
        'model_organ': label(c.get('model_organ')),
    }


def organoid(entity: Entity) -> JSON:
    c = entity.content
    return {
        **_biomaterial(entity),
        'model_organ': label(first(c, 'model_organ', 'model_for_organ')),
        'model_organ_part': label(first(c, 'model_organ_part', 'model_for_organ_part')),
    }


def sample(entity: Entity) -> JSON:
    """The polymorphic `samples` view of a specimen, cell line or organoid."""
    if entity.schema_name == 'specimen_from_organism':
        s = specimen(entity)
        organ, organ_part, model_organ, model_organ_part = s['organ'], s['organ_part'], None, None
        kind, disease, effective = 'specimens', s['disease'], s['organ']
    else:
        o = cell_line(entity) if entity.schema_name == 'cell_line' else organoid(entity)
        organ, organ_part = None, []
        model_organ, model_organ_part = o['model_organ'], o.get('model_organ_part')
        kind = 'cell_lines' if entity.schema_name == 'cell_line' else 'organoids'
        disease = labels(first(entity.content, 'diseases', 'disease'))
        effective = model_organ
    return {
        **_biomaterial(entity),
        'sample_entity_type': kind,
        'organ': organ,
        'organ_part': organ_part,
        'model_organ': model_organ,
        'model_organ_part': model_organ_part,
        'effective_organ': effective,
        'disease': disease,
    }


def sample_organs(sample_entity: Entity) -> tuple[str | None, list[str | None]]:
    s = sample(sample_entity)
    if s['sample_entity_type'] == 'specimens':
        return s['organ'], s['organ_part']
    return s['model_organ'], [s['model_organ_part']]


# Seconds per unit, with a year of 365 days and a month of a twelfth of that
_age_units = {
    'second': 1, 'minute': 60, 'hour': 3600, 'day': 86400, 'week': 7 * 86400,
    'month': 365 * 86400 / 12, 'year': 365 * 86400,
}
_age_re = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?))?\s*$')


def age_range(age: str | None, unit: str | None) -> JSON | None:
    """An age such as `55-60` or `38` in `year`s as a range in seconds, or None."""
    if age is None or unit is None:
        return None
    factor = _age_units.get(unit.lower().rstrip('s'))
    match = _age_re.match(age)
    if factor is None or match is None:
        return None
    lo, hi = match.groups()
    lo = float(lo)
    hi = lo if hi is None else float(hi)
    return {'gte': lo * factor, 'lte': hi * factor} if lo <= hi else None


def donor(entity: Entity) -> JSON:
    c = entity.content
    age = c.get('organism_age')
    age = None if age is None else str(age)
    unit = label(c.get('organism_age_unit'))
    return {
        **_biomaterial(entity),
        'biological_sex': label(first(c, 'sex', 'biological_sex')),
        'genus_species': labels(c.get('genus_species')),
        'development_stage': label(c.get('development_stage')),
        'diseases': labels(first(c, 'diseases', 'disease')),
        'organism_age': None if age is None else {'value': age, 'unit': unit},
        'organism_age_range': age_range(age, unit),
    }


def cell_suspension(entity: Entity, bundle: HCABundle) -> JSON:
    c = entity.content
    cells = first(c, 'estimated_cell_count', 'total_estimated_cells')
    cells = cells if isinstance(cells, int) and not isinstance(cells, bool) else None
    leaf = bundle.is_leaf_cell_suspension(entity.document_id)
    organs: set[str | None] = set()
    organ_parts: set[str | None] = set()
    for sample_id in bundle.nearest_samples(entity.document_id):
        organ, parts = sample_organs(bundle.entities[sample_id])
        organs.add(organ)
        organ_parts.update(parts)
    return {
        **_biomaterial(entity),
        'total_estimated_cells': cells if leaf else 0,
        'total_estimated_cells_redundant': None if leaf else cells,
        'selected_cell_type': labels(first(c, 'selected_cell_types', 'selected_cell_type')),
        'organ': sorted(organs, key=_none_last),
        'organ_part': sorted(organ_parts, key=_none_last),
    }


def _none_last(value: str | None) -> tuple[bool, str]:
    return value is None, value or ''


_matrix_formats = frozenset({'loom', 'h5ad', 'h5', 'mtx', 'mtx.gz', 'rds', 'zarr', 'csv.gz',
                             'tsv.gz', 'csv', 'tsv', 'h5ad.gz', 'loom.gz'})
# Known submitters of files without `file_source`: provenance.submitter_id -> name
_submitters = {
    'e67aaabe-93ea-564a-aa66-31bc0857b707': 'DCP/2 Analysis',
    'c9efbb15-c50c-5796-8d15-35e9e1219dc5': 'DCP/1 Matrix Service',
    '656db407-02f1-547c-9840-6908c4f09ce8': 'LungMAP',
    'b7525d8e-8c7a-5fec-911a-323e5c3a79f7': 'Zenodo',
}


def _version(value: Any) -> str | None:
    try:
        return normalize_version(value)
    except AzulError:
        return value if isinstance(value, str) else None


def file(entity: Entity, bundle: HCABundle) -> JSON:
    c = entity.content
    core = c.get('file_core') or {}
    entry = bundle.manifest.get(entity.document_id, {})
    file_format = first(core, 'format', 'file_format')
    descriptions = labels(core.get('content_description'))
    is_matrix = (file_format in _matrix_formats
                 or any(d is not None and 'matrix' in d.lower() for d in descriptions))
    if not is_matrix:
        is_intermediate = None
    elif entity.schema_name == 'analysis_file':
        # A matrix that an analysis process consumes is an intermediate result
        is_intermediate = any(
            bundle.process_types.get(pid) == 'analysis_process'
            or getattr(bundle.get(pid), 'schema_name', None) == 'analysis_process'
            for pid in bundle.consumers.get(entity.document_id, ())
        )
    else:
        is_intermediate = False
    submitter = (c.get('provenance') or {}).get('submitter_id')
    content_type = entry.get('content-type')
    cell_count = c.get('matrix_cell_count') if entity.schema_name == 'analysis_file' else None
    return {
        'document_id': entity.document_id,
        'uuid': entry.get('uuid'),
        'version': _version(entry.get('version')),
        'name': entry.get('name', core.get('file_name')),
        'file_type': entity.schema_name,
        'file_format': file_format,
        'content_description': descriptions,
        'size': entry.get('size'),
        'sha256': entry.get('sha256'),
        'crc32c': entry.get('crc32c'),
        'content_type': content_type.split(';')[0].strip() if content_type else None,
        'drs_uri': entry.get('drs_uri'),
        'is_intermediate': is_intermediate,
        'file_source': c.get('file_source') or _submitters.get(submitter),
        'matrix_cell_count': cell_count,
        'read_index': label(c.get('read_index')),
        'lane_index': c.get('lane_index'),
    }


def protocol(entity: Entity) -> JSON:
    """A protocol, or a v5 library preparation / sequencing process, as a protocol."""
    c = entity.content
    name = entity.schema_name
    result: JSON = {'document_id': entity.document_id, 'protocol_type': name}
    if name in ('library_preparation_protocol', 'library_preparation_process'):
        result['library_construction_approach'] = label(
            first(c, 'library_construction_method', 'library_construction_approach'))
        result['nucleic_acid_source'] = label(c.get('nucleic_acid_source'))
    elif name in ('sequencing_protocol', 'sequencing_process'):
        result['instrument_manufacturer_model'] = label(c.get('instrument_manufacturer_model'))
        paired = first(c, 'paired_end', 'paired_ends')
        result['paired_end'] = paired if isinstance(paired, bool) else None
    elif name == 'analysis_protocol':
        result['workflow'] = (c.get('protocol_core') or {}).get('protocol_id')
    elif name == 'imaging_protocol':
        probes = first(c, 'probe', 'target') or []
        result['assay_type'] = labels([p.get('assay_type') for p in probes
                                       if isinstance(p, dict)])
    return result


_accession_namespaces = {
    'array_express_accessions': 'array_express', 'array_express_investigation': 'array_express',
    'biostudies_accessions': 'biostudies', 'dbgap_accessions': 'dbgap',
    'ega_accessions': 'ega', 'geo_series_accessions': 'geo_series', 'geo_series': 'geo_series',
    'insdc_project_accessions': 'insdc_project', 'insdc_project': 'insdc_project',
    'insdc_study_accessions': 'insdc_study', 'insdc_study': 'insdc_study',
}


def project(entity: Entity, *, with_description: bool) -> JSON:
    c = entity.content
    core = c.get('project_core') or {}
    contributors = [p for p in c.get('contributors') or () if isinstance(p, dict)]
    publications = [p for p in c.get('publications') or () if isinstance(p, dict)]
    bionetworks = [b for b in c.get('hca_bionetworks') or () if isinstance(b, dict)]
    accessions = {}
    for key, namespace in _accession_namespaces.items():
        values = c.get(key)
        for value in values if isinstance(values, list) else [values] if values else []:
            accessions[(namespace, value)] = {'namespace': namespace, 'accession': value}

    def distinct(values):
        return list(dict.fromkeys(v for v in values if v))

    result = {
        'document_id': entity.document_id,
        'project_title': core.get('project_title'),
        'project_short_name': first(core, 'project_short_name', 'project_shortname'),
        'laboratory': distinct(p.get('laboratory') for p in contributors),
        'institutions': distinct(p.get('institution') for p in contributors),
        'contact_names': distinct(first(p, 'contact_name', 'name') for p in contributors),
        'contributors': [{
            'contact_name': first(p, 'contact_name', 'name'),
            'corresponding_contributor': p.get('corresponding_contributor'),
            'email': p.get('email'),
            'institution': p.get('institution'),
            'laboratory': p.get('laboratory'),
            'project_role': label(p.get('project_role')),
        } for p in contributors],
        'publication_titles': distinct(first(p, 'publication_title', 'title')
                                       for p in publications),
        'publications': [{
            'publication_title': first(p, 'publication_title', 'title'),
            'publication_url': first(p, 'publication_url', 'url'),
            'official_hca_publication': p.get('official_hca_publication'),
            'doi': p.get('doi'),
        } for p in publications],
        'supplementary_links': sorted(v for v in c.get('supplementary_links') or () if v),
        'accessions': sorted(accessions.values(),
                             key=lambda a: (a['namespace'], str(a['accession']))),
        'is_tissue_atlas_project': any(bool(b.get('atlas_project')) for b in bionetworks),
        'tissue_atlas': [{'atlas': b.get('hca_tissue_atlas'),
                          'version': b.get('hca_tissue_atlas_version')} for b in bionetworks],
        'bionetwork_name': sorted(b['name'] for b in bionetworks if b.get('name')),
        'estimated_cell_count': c.get('estimated_cell_count'),
        'data_use_restriction': label(c.get('data_use_restriction')),
    }
    if with_description:
        result['project_description'] = core.get('project_description')
    return result


def sequencing_input(entity: Entity) -> JSON:
    return {**_biomaterial(entity), 'sequencing_input_type': entity.schema_name}


def dates(document_id: str, submission: str | None, update: str | None) -> JSON:
    known = [d for d in (submission, update) if d is not None]
    return {
        'document_id': document_id,
        'submission_date': submission,
        'update_date': update,
        'last_modified_date': max(known, default=None),
    }


def aggregate_dates(bundle_uuid: str, entities: list[Entity]) -> JSON:
    submissions = [e.submission_date for e in entities if e.submission_date]
    updates = [e.update_date for e in entities if e.update_date]
    return {
        'document_id': bundle_uuid,
        'aggregate_submission_date': min(submissions, default=None),
        'aggregate_update_date': max(updates, default=None),
        'aggregate_last_modified_date': max(submissions + updates, default=None),
    }
