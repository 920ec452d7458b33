"""
The `terra.pfb` manifest of an AnVIL catalog (the AnVIL Data Explorer's
"Export to Terra"), on both backends: the three AnVIL fixture bundles indexed
as `test_anvil_service` does, the manifest written into memory, read back
with fastavro and compared to golden files written by hand from the
original's rules (`golden/pfb_anvil/README.md`); the golden values are also
held against the original's compact manifest of the same files
(`test_anvil_service._ORIGINAL_COMPACT`).
"""
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import fastavro
import pytest
import test_anvil_service as anvil_service

from azul.manifests.generate import manifest_context, write_manifest

CATALOG, HOST = anvil_service.CATALOG, anvil_service.HOST
# The fixtures of `test_anvil_service`: the catalog of the AnVIL fixture
# bundles on each backend, and the app serving it
runtime, client = anvil_service.runtime, anvil_service.client

GOLDEN = Path(__file__).resolve().parent / 'golden' / 'pfb_anvil'

# The golden schema's abbreviations
TYPES = {'S': ['null', 'string'], 'L': ['null', 'long'], 'B': ['null', 'boolean']}


def golden(name: str) -> Any:
    with open(GOLDEN / name) as f:
        value = json.load(f)
    del value['_comment']
    return value


def expected_entities() -> list[dict]:
    return golden('entities.json')['entities']


def read_pfb(runtime, filters: Mapping[str, Any] | None = None) -> tuple[dict, list[dict]]:
    context = manifest_context(runtime, CATALOG, filters, f'http://{HOST}')
    output = io.BytesIO()
    assert write_manifest(context, 'terra.pfb', output) is None
    output.seek(0)
    # An Avro object container file
    assert fastavro.is_avro(output)
    output.seek(0)
    reader = fastavro.reader(output)
    records = list(reader)
    return reader.writer_schema, records


def schema_type(abbreviation: str) -> Any:
    if abbreviation.startswith('['):
        return {'type': 'array', 'items': TYPES[abbreviation[1:-1]]}
    return TYPES[abbreviation]


def test_schema(runtime):
    schema, records = read_pfb(runtime)
    assert schema['name'] == 'Entity'
    object_field, = (f for f in schema['fields'] if f['name'] == 'object')
    records_ = object_field['type']
    # PFB: the Metadata record first, then one record per entity type
    assert records_[0]['name'] == 'Metadata'
    expected = golden('schema_fields.json')
    actual = {}
    for record in records_[1:]:
        for field in record['fields']:
            assert field['namespace'] == record['name'], field
        actual[record['name']] = [[f['name'], f['type']] for f in record['fields']]
    # Order matters, of the records and of their fields
    assert list(actual) == list(expected)
    for name, fields in expected.items():
        assert actual[name] == [[n, schema_type(t)] for n, t in fields], name


def test_entities(runtime):
    _, records = read_pfb(runtime)
    # PFB: the Metadata entity first
    assert records[0]['name'] == 'Metadata'
    assert records == expected_entities()


def test_relations_precede(runtime):
    # Terra reads a PFB in one pass: an entity comes before any relation to it
    _, records = read_pfb(runtime)
    ids = [r['id'] for r in records]
    assert len(ids) == len(set(ids))
    seen: set[str] = set()
    for record in records:
        for relation in record['relations']:
            assert relation['dst_id'] in seen, relation
        seen.add(record['id'])


def test_filtered(runtime):
    # The supplementary file alone: the dataset, then the file
    _, records = read_pfb(runtime, {'files.is_supplementary': {'is': [True]}})
    entities = expected_entities()
    by_id = {e['id']: e for e in entities}
    assert records == [entities[0],
                       by_id['datasets.e96638fe-baeb-5cff-82fc-4f5dcf62fdee.1'],
                       by_id['files.a7050bc9-0bb8-5dc7-b501-534b8d944242.1']]


def test_empty(runtime):
    schema, records = read_pfb(runtime, {'files.file_id': {'is': ['nothing']}})
    assert [r['name'] for r in records] == ['Metadata']
    assert schema['name'] == 'Entity'


def _cell(value: Any) -> str:
    # How the original's compact manifest spells a value
    values = value if isinstance(value, list) else [value]
    return ' || '.join(str(v) for v in values if v is not None)


def test_golden_agrees_with_original_compact():
    """
    The golden entities against the original's compact manifest of the same
    files (as `test_anvil_service` transcribes it, with our fixture's and
    service's differences applied): every field of a file and of the inner
    entities related to it that is a column there has the same value.
    """
    entities = expected_entities()
    by_id = {e['id']: e for e in entities}
    rows = {row['files.document_id']: row for row in anvil_service._expected_compact()}
    files = [e for e in entities if e['name'] == 'files']
    assert len(files) == len(rows)
    checked = 0
    for file in files:
        row = rows[file['object']['document_id']]
        related = [file, *(by_id[r['dst_id']] for r in file['relations'])]
        names = {e['name'] for e in related}
        for entity in related:
            for field, value in entity['object'].items():
                column = f"{entity['name']}.{field}"
                if column in row:
                    assert _cell(value) == row[column], (column, value)
                    checked += 1
        # Entity types a file is not related to are empty columns there
        for column, value in row.items():
            entity_type = column.partition('.')[0]
            if entity_type in ('activities', 'biosamples', 'diagnoses', 'donors'):
                if entity_type not in names:
                    assert value == '', column
    assert checked > 60


def test_offered(client):
    # The route accepts the format for an AnVIL catalog (it answered 400)
    response = client.http.put(f'/fetch/manifest/files?catalog={CATALOG}&format=terra.pfb',
                               headers={'Host': HOST})
    assert response.status_code == 200, response.body[:1000]
    assert json.loads(response.body)['Status'] in (301, 302)


@pytest.mark.parametrize('name', ['entities.json', 'schema_fields.json'])
def test_golden_is_json(name):
    assert golden(name)
