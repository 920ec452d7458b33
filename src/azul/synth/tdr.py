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
