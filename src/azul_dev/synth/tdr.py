"""
Synthetic HCA bundles as the tables of a TDR snapshot, in the shape of the
fixtures' `*.tables.tdr.json` (`{"tables": {name: {"rows": [...]}}}`, README
§5): one `links` row per bundle version (its links document and project),
one row per metadata entity in the table of its type (the newest version of
an entity that several bundles share), and for data files their DRS URI
(`file_id`) and TDR file descriptor. For the TDR benchmarks and a demo of
the `tdr_hca` plugin without a snapshot at hand.
"""
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

JSON = dict[str, Any]


def _descriptor(entry: Mapping[str, Any]) -> JSON:
    """The TDR file descriptor of a manifest entry: what TDR keeps of a file."""
    content_type = entry['content-type'].split(';')[0].strip()
    descriptor = {
        'file_id': entry['uuid'],
        'file_name': entry['name'],
        'file_version': entry['version'],
        'content_type': content_type,
        'size': entry['size'],
        'crc32c': entry['crc32c'],
        'sha256': entry['sha256'],
    }
    for key in ('sha1', 's3_etag'):
        if entry.get(key) is not None:
            descriptor[key] = entry[key]
    return descriptor


def _version(document: Mapping[str, Any], fallback: str) -> str:
    provenance = document.get('provenance') or {}
    return provenance.get('update_date') or provenance.get('submission_date') or fallback


def tables_from_bundles(bundles: Iterable[tuple[str, str, Mapping[str, Any]]]) -> JSON:
    """The snapshot tables of bundles given as (uuid, version, canned bundle JSON)."""
    links = []
    entities: dict[tuple[str, str], JSON] = {}
    for uuid, version, bundle in bundles:
        metadata, manifest = bundle['metadata'], bundle['manifest']
        project = next(key.split('/', 1)[1] for key in metadata if key.startswith('project/'))
        links.append({'links_id': uuid, 'version': version,
                      'content': bundle['links'], 'project_id': project})
        for key, document in metadata.items():
            table, entity_id = key.split('/', 1)
            row: JSON = {f'{table}_id': entity_id,
                         'version': _version(document, version),
                         'content': document}
            if table.endswith('_file'):
                entry = manifest[key]
                row['file_id'] = entry.get('drs_uri')
                row['descriptor'] = _descriptor(entry)
            previous = entities.get((table, entity_id))
            if previous is None or previous['version'] <= row['version']:
                entities[(table, entity_id)] = row
    tables: dict[str, JSON] = {'links': {'rows': links}}
    for (table, _), row in sorted(entities.items()):
        tables.setdefault(table, {'rows': []})['rows'].append(row)
    return {'tables': tables}


def read_bundles(directory: Path) -> Iterable[tuple[str, str, Mapping[str, Any]]]:
    """The bundles `azul synth` wrote to `directory` (`<uuid>.<version>.json`)."""
    for path in sorted(directory.glob('*Z.json')):
        uuid, _, rest = path.name.partition('.')
        yield uuid, rest.removesuffix('.json'), json.loads(path.read_text())


def write_tables(directory: Path, out: Path) -> int:
    """Write the tables of the bundles in `directory` to `out`; the number of bundles."""
    tables = tables_from_bundles(read_bundles(directory))
    out.write_text(json.dumps(tables))
    return len(tables['tables']['links']['rows'])


# The additions of the canned AnVIL form to a table row (fixtures README §6.2)
_ANVIL_ADDED = frozenset({'version', 'drs_uri', 'sha256', 'crc32'})

# Every table of the AnVIL model's snapshot exists, an unused one holding a
# placeholder row that only defines its columns (no `datarepo_row_id`), as a
# real snapshot's do (fixtures README §6.1): the builder queries them all
_ANVIL_COLUMNS = {
    'anvil_activity': ('activity_id', 'activity_type', 'generated_file_id',
                       'used_biosample_id', 'used_file_id'),
    'anvil_alignmentactivity': ('alignmentactivity_id', 'activity_type', 'data_modality',
                                'generated_file_id', 'reference_assembly', 'used_file_id'),
    'anvil_assayactivity': ('assayactivity_id', 'activity_type', 'antibody_id', 'assay_type',
                            'data_modality', 'generated_file_id', 'used_biosample_id'),
    'anvil_variantcallingactivity': ('variantcallingactivity_id', 'activity_type',
                                     'data_modality', 'generated_file_id',
                                     'reference_assembly', 'used_file_id'),
}
# Columns of the placeholders that hold lists
_ANVIL_LISTS = frozenset({'generated_file_id', 'used_biosample_id', 'used_file_id',
                          'data_modality', 'reference_assembly', 'antibody_id'})


def _placeholder(columns: Iterable[str]) -> JSON:
    row: JSON = {c: [] if c in _ANVIL_LISTS else '' for c in columns}
    row['source_datarepo_row_ids'] = []
    return row


def anvil_tables_from_bundles(documents: Iterable[Mapping[str, Any]]) -> dict[str, JSON]:
    """
    Per dataset (its entity key), the snapshot tables of canned AnVIL bundles
    (`azul synth --atlas anvil`): each entity's row, without what the canned
    form adds to it. A TDR AnVIL snapshot holds one dataset; DUOS bundles
    hold what comes from DUOS, not from tables, and are left out.
    """
    tables: dict[str, dict[str, dict[str, JSON]]] = {}
    for document in documents:
        entities = document['entities']
        [dataset] = [key for key in entities if key.startswith('anvil_dataset/')]
        if not document['links'] and len(entities) == 1:
            continue  # a DUOS bundle
        snapshot = tables.setdefault(dataset, {})
        for key, entity in entities.items():
            table, _, row_id = key.partition('/')
            row = {k: v for k, v in entity.items() if k not in _ANVIL_ADDED}
            snapshot.setdefault(table, {})[row_id] = row
    result = {}
    for dataset, snapshot in tables.items():
        rows = {table: list(table_rows.values()) for table, table_rows in snapshot.items()}
        for table, columns in _ANVIL_COLUMNS.items():
            rows.setdefault(table, [_placeholder(columns)])
        result[dataset] = {'tables': {table: {'rows': rows[table]} for table in sorted(rows)}}
    return result
