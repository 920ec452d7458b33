"""
Building blocks shared by the project and bundle builders: random ids,
timestamps, ontology objects, metadata documents and manifest entries in the
shape of the current-schema (DCP/2) fixture bundles.
"""
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

from azul_dev.synth.data import checksums, data_bytes, data_size
from azul_dev.synth.vocabulary import Term

JSON = dict[str, Any]

SCHEMA_BASE = 'https://schema.humancellatlas.org'

LINKS_VERSION = '3.0.0'
LINKS_HEADER: JSON = {
    'schema_type': 'links',
    'schema_version': LINKS_VERSION,
    'describedBy': f'{SCHEMA_BASE}/system/{LINKS_VERSION}/links',
}

#: The schema path and version of each entity type, as seen in recent fixtures
_SCHEMAS = {
    'project': ('project', '17.0.0'),
    'donor_organism': ('biomaterial', '15.5.0'),
    'specimen_from_organism': ('biomaterial', '10.4.0'),
    'cell_suspension': ('biomaterial', '13.3.0'),
    'sequence_file': ('file', '9.2.0'),
    'analysis_file': ('file', '6.2.0'),
    'supplementary_file': ('file', '2.2.0'),
    'process': ('process', '9.2.0'),
    'analysis_process': ('process/analysis', '12.0.0'),
    'collection_protocol': ('protocol/biomaterial_collection', '9.2.0'),
    'dissociation_protocol': ('protocol/biomaterial_collection', '6.2.0'),
    'enrichment_protocol': ('protocol/biomaterial_collection', '3.1.0'),
    'library_preparation_protocol': ('protocol/sequencing', '6.2.0'),
    'sequencing_protocol': ('protocol/sequencing', '10.1.0'),
    'analysis_protocol': ('protocol/analysis', '9.1.0'),
}

# Precomputed once: (describedBy, schema_type, major, minor) per entity type
_HEADERS = {
    entity_type: (
        f'{SCHEMA_BASE}/type/{path}/{version}/{entity_type}',
        path.split('/')[0],
        int(version.split('.')[0]),
        int(version.split('.')[1]),
    )
    for entity_type, (path, version) in _SCHEMAS.items()
}

#: Types whose real documents lack the schema version in their provenance
_UNVERSIONED = frozenset({'analysis_process', 'supplementary_file'})


def uuid4(rng: Random) -> str:
    """
    Same result as `str(uuid.UUID(int=rng.getrandbits(128), version=4))`, at
    a fraction of the cost, which matters at a million ids per run.
    """
    n = rng.getrandbits(128)
    n = (n & ~(0xF000 << 64) & ~(0xC000 << 48)) | (0x4000 << 64) | (0x8000 << 48)
    h = f'{n:032x}'
    return f'{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}'


def hex_digits(rng: Random, n: int) -> str:
    return f'{rng.getrandbits(4 * n):0{n}x}'


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp(micros: int) -> str:
    """
    Format microseconds since the epoch the way DCP/2 bundle versions are
    written: `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    """
    return (_EPOCH + timedelta(microseconds=micros)).strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def micros(year: int, month: int = 1, day: int = 1) -> int:
    return (datetime(year, month, day, tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)


DAY_MICROS = 86_400_000_000


def onto(term: Term, text: str | None = None) -> JSON:
    label, curie = term
    return {'text': label if text is None else text, 'ontology': curie, 'ontology_label': label}


def document(entity_type: str,
             entity_id: str,
             date: str,
             body: JSON,
             update_date: str | None = None) -> JSON:
    described_by, schema_type, major, minor = _HEADERS[entity_type]
    doc = {'describedBy': described_by, 'schema_type': schema_type}
    doc.update(body)
    provenance = {
        'document_id': entity_id,
        'submission_date': date,
        'update_date': date if update_date is None else update_date,
    }
    if entity_type not in _UNVERSIONED:
        provenance['schema_major_version'] = major
        provenance['schema_minor_version'] = minor
    doc['provenance'] = provenance
    return doc


def manifest_entry(rng: Random,
                   name: str,
                   size: int,
                   content_type: str,
                   version: str,
                   drs_prefix: str) -> JSON:
    """
    The manifest entry of a data file a real one of `size` bytes stands for:
    its size and checksums are those of its synthetic bytes (`azul_dev.synth.data`).
    """
    file_uuid = uuid4(rng)
    size = data_size(size)
    return {
        'name': name,
        'uuid': file_uuid,
        'version': version,
        'content-type': f'{content_type}; dcp-type=data',
        'size': size,
        'indexed': False,
        'drs_uri': f'{drs_prefix}{file_uuid}',
        **checksums(data_bytes(file_uuid, version, size)),
    }


def process_link(process_type: str,
                 process_id: str,
                 inputs: list[tuple[str, str]],
                 outputs: list[tuple[str, str]],
                 protocols: list[tuple[str, str]]) -> JSON:
    """
    A typed `process_link` of links schema 3.x. Each of inputs, outputs and
    protocols is a list of (entity type, entity id).
    """
    return {
        'link_type': 'process_link',
        'process_id': process_id,
        'process_type': process_type,
        'inputs': [{'input_type': t, 'input_id': i} for t, i in inputs],
        'outputs': [{'output_type': t, 'output_id': i} for t, i in outputs],
        'protocols': [{'protocol_type': t, 'protocol_id': i} for t, i in protocols],
    }
