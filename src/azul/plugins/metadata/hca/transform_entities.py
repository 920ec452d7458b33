"""
Inner entities: the dict each related entity contributes to a document, with
the original Azul's field names and value rules (see `contents.md`).

Every field is read tolerantly, because schema versions 5 to 19 name and nest
the same facts differently; a missing value is null, never an error. Sets of
ontology labels (diseases, organ parts, species ...) are sorted lists
without empty labels, as the original's metadata API makes them.
"""
from collections.abc import Iterable, Mapping
from typing import Any

from azul.core.documents import normalize_version
from azul.errors import AzulError
from azul.plugins.metadata.hca.model import Entity, HCABundle
from azul.plugins.metadata.hca.submitters import Submitter

JSON = dict[str, Any]


def label(value: Any) -> str | None:
    """An ontology term's label (`ontology_label`, else `text`, else `ontology`)."""
    if isinstance(value, dict):
        for key in ('ontology_label', 'text', 'ontology'):
            if value.get(key) is not None:
                return value[key]
        return None
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    else:
        return None


def labels(value: Any) -> list[str]:
    """The distinct non-empty labels of a list of terms (or of one term), sorted."""
    items = value if isinstance(value, list) else [] if value is None else [value]
    return sorted({v for v in map(label, items) if v})


def lookup(content: Mapping[str, Any], *keys: str) -> Any:
    """The value of the first key present, as the metadata API's `lookup`."""
    for key in keys:
        if key in content:
            return content[key]
    return None


def none_last(value: Any) -> tuple[bool, Any]:
    return value is None, '' if value is None else value


def _core(entity: Entity) -> Mapping[str, Any]:
    return entity.content.get('biomaterial_core') or {}


def entity(e: Entity) -> JSON:
    return {'document_id': e.document_id}


def biomaterial(e: Entity) -> JSON:
    return {**entity(e), 'biomaterial_id': _core(e).get('biomaterial_id')}


def specimen(e: Entity) -> JSON:
    c = e.content
    storage = c.get('preservation_storage') or {}
    organ_parts = lookup(c, 'organ_parts', 'organ_part')
    return {
        **biomaterial(e),
        'has_input_biomaterial': _core(e).get('has_input_biomaterial'),
        '_source': 'specimen_from_organism',
        'disease': labels(lookup(c, 'diseases', 'disease')),
        'organ': label(c.get('organ')),
        'organ_part': labels(organ_parts),
        'storage_method': label(storage.get('storage_method')),
        'preservation_method': label(storage.get('preservation_method')),
        '_type': 'specimen',
    }


def cell_line(e: Entity) -> JSON:
    c = e.content
    return {
        **biomaterial(e),
        'cell_line_type': label(lookup(c, 'type', 'cell_line_type')),
        'model_organ': label(c.get('model_organ')),
    }


def organoid(e: Entity) -> JSON:
    c = e.content
    return {
        **biomaterial(e),
        'model_organ': label(lookup(c, 'model_organ', 'model_for_organ')),
        'model_organ_part': label(c.get('model_organ_part')),
    }


def _organ_of(sample: Entity) -> tuple[str | None, list[str | None]]:
    """A sample's organ and organ parts, as a cell suspension inherits them."""
    if sample.schema_name == 'specimen_from_organism':
        s = specimen(sample)
        return s['organ'], s['organ_part']
    elif sample.schema_name == 'cell_line':
        return cell_line(sample)['model_organ'], [None]
    else:
        o = organoid(sample)
        return o['model_organ'], [o['model_organ_part']]


def sample(e: Entity) -> JSON:
    """The polymorphic `samples` view of a specimen, cell line or organoid."""
    kind = sample_kind(e)
    if kind == 'specimens':
        s = specimen(e)
        organ, parts, model_organ, model_part = s['organ'], s['organ_part'], None, None
        effective = organ
    else:
        o = cell_line(e) if kind == 'cell_lines' else organoid(e)
        organ, parts = None, []
        model_organ, model_part = o['model_organ'], o.get('model_organ_part')
        effective = model_organ
    return {
        **biomaterial(e),
        'entity_type': kind,
        'organ': organ,
        'organ_part': parts,
        'model_organ': model_organ,
        'model_organ_part': model_part,
        'effective_organ': effective,
    }


_sample_kinds = {
    'specimen_from_organism': 'specimens',
    'cell_line': 'cell_lines',
    'organoid': 'organoids',
}


def sample_kind(e: Entity) -> str:
    return _sample_kinds[e.schema_name]


def sample_of_kind(e: Entity) -> JSON:
    """The kind-specific view of a sample (`sample_specimens` etc.)."""
    kind = sample_kind(e)
    return specimen(e) if kind == 'specimens' else cell_line(e) if kind == 'cell_lines' \
        else organoid(e)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def cell_suspension(e: Entity, samples: Iterable[Entity], is_leaf: bool) -> JSON:
    c = e.content
    cells = _int(lookup(c, 'estimated_cell_count', 'total_estimated_cells'))
    organs: set[str | None] = set()
    organ_parts: set[str | None] = set()
    for s in samples:
        organ, parts = _organ_of(s)
        organs.add(organ)
        organ_parts.update(parts)
    return {
        **biomaterial(e),
        'total_estimated_cells': cells if is_leaf else 0,
        'total_estimated_cells_redundant': 0 if is_leaf else cells,
        'selected_cell_type': labels(lookup(c, 'selected_cell_types', 'selected_cell_type')),
        'organ': sorted(organs, key=none_last),
        'organ_part': sorted(organ_parts, key=none_last),
    }


# Seconds per unit: a year of 365 days, a month a twelfth of that
_age_factors = {
    'year': 365 * 24 * 3600, 'month': 365 * 24 * 3600 / 12, 'week': 7 * 24 * 3600,
    'day': 24 * 3600, 'hour': 3600, 'minute': 60, 'second': 1,
}
_max_age = 10000 * _age_factors['year']


def age_range(age: str, unit: str) -> JSON | None:
    """
    `38` or `55-60` (either end may be empty) in `year`s etc. as a range of
    seconds, stored as `{gte, lte}` (a range in both backends) and shown as
    `[gte, lte]`.
    """
    unit = unit.lower().strip()
    factor = _age_factors.get(unit, _age_factors.get(unit[:-1]) if unit.endswith('s') else None)
    parts = [p.strip() for p in age.split('-')]
    if factor is None or len(parts) not in (1, 2):
        return None
    try:
        lo = factor * int(parts[0]) if parts[0] else 0
        hi = factor * int(parts[-1]) if parts[-1] else _max_age
    except ValueError:
        return None
    return {'gte': float(lo), 'lte': float(hi)}


def donor(e: Entity) -> JSON:
    c = e.content
    age = c.get('organism_age')
    age = None if age is None else str(age)
    unit = label(c.get('organism_age_unit'))
    result = {
        **biomaterial(e),
        'biological_sex': label(lookup(c, 'sex', 'biological_sex')),
        'genus_species': labels(c.get('genus_species')),
        'development_stage': label(c.get('development_stage')),
        'diseases': labels(lookup(c, 'diseases', 'disease')),
        'organism_age': None if age is None else {'value': age, 'unit': unit},
    }
    if age and unit:
        age_in_seconds = age_range(age, unit)
        if age_in_seconds is not None:
            result['organism_age_range'] = age_in_seconds
    return result


def is_matrix(e: Entity) -> bool:
    descriptions = labels((e.content.get('file_core') or {}).get('content_description'))
    return any('matrix' in d.lower() for d in descriptions)


def is_intermediate(e: Entity, bundle: HCABundle, producers: Iterable[str],
                    consumers: Iterable[str]) -> bool | None:
    """
    Null if not a matrix. An analysis file matrix is intermediate if an
    analysis process consumes it, or if DCP/2 Analysis made it without
    saying so (the DCP/2 design left the submitter of intermediates unset).
    """
    if not is_matrix(e):
        return None
    elif e.schema_name == 'analysis_file':
        consumed = any(getattr(bundle.entities.get(c), 'schema_name', None) == 'analysis_process'
                       for c in consumers)
        submitter = (e.content.get('provenance') or {}).get('submitter_id')
        dcp2 = submitter is None and Submitter.for_file(e, bundle, producers) is Submitter.dcp2
        return consumed or dcp2
    else:
        return False


def _version(value: Any) -> str | None:
    try:
        return normalize_version(value)
    except AzulError:
        return value if isinstance(value, str) else None


def file_base(e: Entity, bundle: HCABundle, producers: Iterable[str],
              consumers: Iterable[str], drs_uri: str | None) -> JSON:
    c = e.content
    core = c.get('file_core') or {}
    entry = bundle.manifest.get(e.document_id, {})
    submitter = Submitter.for_file(e, bundle, producers)
    result = {
        **entity(e),
        'content-type': entry.get('content-type'),
        'indexed': entry.get('indexed'),
        'name': (entry.get('name') or core.get('file_name') or '').replace('!', '/') or None,
        'crc32c': entry.get('crc32c'),
        'sha256': entry.get('sha256'),
        'size': entry.get('size'),
        'uuid': entry.get('uuid'),
        'drs_uri': drs_uri,
        'version': _version(entry.get('version')),
        'file_type': e.schema_name,
        'file_format': lookup(core, 'format', 'file_format'),
        'content_description': labels(core.get('content_description')),
        'is_intermediate': is_intermediate(e, bundle, producers, consumers),
        'file_source': None if submitter is None else submitter.title,
        '_type': 'file',
    }
    if e.schema_name == 'sequence_file':
        result['read_index'] = label(c.get('read_index'))
        result['lane_index'] = _int(c.get('lane_index'))
    if e.schema_name == 'analysis_file':
        result['matrix_cell_count'] = _int(c.get('matrix_cell_count'))
    return result


def analysis_protocol(e: Entity) -> JSON:
    return {**entity(e), 'workflow': (e.content.get('protocol_core') or {}).get('protocol_id')}


def imaging_protocol(e: Entity) -> JSON:
    probes = lookup(e.content, 'probe', 'target') or []
    counts: dict[str, int] = {}
    for probe in probes:
        if isinstance(probe, dict):
            assay = label(probe.get('assay_type'))
            counts[assay] = counts.get(assay, 0) + 1
    return {**entity(e), 'assay_type': counts}


def library_preparation_protocol(e: Entity) -> JSON:
    c = e.content
    return {
        **entity(e),
        'library_construction_approach': label(lookup(c, 'library_construction_method',
                                                      'library_construction_approach')),
        'nucleic_acid_source': label(c.get('nucleic_acid_source')),
    }


def sequencing_protocol(e: Entity) -> JSON:
    c = e.content
    paired = lookup(c, 'paired_end', 'paired_ends')
    return {
        **entity(e),
        'instrument_manufacturer_model': label(c.get('instrument_manufacturer_model')),
        'paired_end': paired if isinstance(paired, bool) else None,
    }


def sequencing_input(e: Entity) -> JSON:
    return {**biomaterial(e), 'sequencing_input_type': e.schema_name}


def project(e: Entity) -> JSON:
    c = e.content
    core = c.get('project_core') or {}
    contributors = [p for p in c.get('contributors') or () if isinstance(p, dict)]
    publications = [p for p in c.get('publications') or () if isinstance(p, dict)]
    bionetworks = [b for b in c.get('hca_bionetworks') or () if isinstance(b, dict) and b]
    accessions: dict[tuple[str, Any], JSON] = {}
    # Every `<namespace>_accessions` list, as the metadata API reads them
    for key, values in c.items():
        namespace, _, suffix = key.rpartition('_')
        if suffix == 'accessions' and namespace and isinstance(values, list):
            for value in values:
                accessions[(namespace, value)] = {'namespace': namespace, 'accession': value}

    def distinct(values: Iterable[Any]) -> list[Any]:
        return list(dict.fromkeys(v for v in values if v))

    def role(p: Mapping[str, Any]) -> Any:
        value = p.get('project_role')
        return label(value) if isinstance(value, dict) else value

    return {
        **entity(e),
        'project_title': core.get('project_title'),
        'project_description': core.get('project_description'),
        'project_short_name': lookup(core, 'project_short_name', 'project_shortname'),
        'laboratory': distinct(p.get('laboratory') for p in contributors),
        'institutions': distinct(p.get('institution') for p in contributors),
        'contact_names': distinct(lookup(p, 'name', 'contact_name') for p in contributors),
        'contributors': [{
            'contact_name': lookup(p, 'name', 'contact_name'),
            'corresponding_contributor': p.get('corresponding_contributor'),
            'email': p.get('email'),
            'institution': p.get('institution'),
            'laboratory': p.get('laboratory'),
            'project_role': role(p),
        } for p in contributors],
        'publication_titles': distinct(lookup(p, 'title', 'publication_title')
                                       for p in publications),
        'publications': [{
            'publication_title': lookup(p, 'title', 'publication_title'),
            'publication_url': lookup(p, 'url', 'publication_url'),
            'official_hca_publication': p.get('official_hca_publication'),
            'doi': p.get('doi'),
        } for p in publications],
        'supplementary_links': sorted({v for v in c.get('supplementary_links') or () if v}),
        '_type': 'project',
        'accessions': list(accessions.values()),
        'is_tissue_atlas_project': any(bool(b.get('atlas_project')) for b in bionetworks),
        'tissue_atlas': [{'atlas': b.get('hca_tissue_atlas'),
                          'version': b.get('hca_tissue_atlas_version')} for b in bionetworks],
        'bionetwork_name': sorted(b.get('name') for b in bionetworks if b.get('name')),
        'estimated_cell_count': _int(c.get('estimated_cell_count')),
        'data_use_restriction': label(c.get('data_use_restriction')),
        'duos_id': c.get('duos_id'),
    }


def dates(e_id: str, submission: str | None, update: str | None,
          aggregate: Iterable[Entity] = ()) -> JSON:
    known = [d for d in (submission, update) if d is not None]
    submissions = [x.submission_date for x in aggregate]
    updates = [x.update_date for x in aggregate if x.update_date]
    every = [d for d in submissions + updates if d]
    return {
        'document_id': e_id,
        'submission_date': submission,
        'update_date': update,
        'last_modified_date': max(known, default=None),
        'aggregate_submission_date': min((d for d in submissions if d), default=None),
        'aggregate_update_date': max(updates, default=None),
        'aggregate_last_modified_date': max(every, default=None),
    }


# Lists of objects stay empty when empty; the others read `[null]`
_object_lists = frozenset({'accessions', 'tissue_atlas', 'contributors', 'publications',
                           'related_files'})


def nullify(entity: JSON) -> JSON:
    """
    An empty list of values as `[null]`: the original stores a missing value
    as a null term, so its hits show `[null]` where a list is empty (the
    `contentDescription` of most files, a sample's `organPart` ...).
    """
    return {k: [None] if v == [] and k not in _object_lists else v for k, v in entity.items()}
