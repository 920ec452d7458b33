"""
The `terra.pfb` manifest of the fixture catalog, on both backends: written
into memory, read back with fastavro and compared to golden files transcribed
from the original's canned PFB (`golden/manifests/terra.pfb/README.md`).
"""
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import fastavro
import pytest

from azul.manifests.generate import manifest_context, write_manifest
from conftest import CATALOG

GOLDEN = Path(__file__).resolve().parent / 'golden' / 'manifests' / 'terra.pfb'
# The DRS domain of the `indexed` fixture's config (AZUL_HOST:AZUL_PORT); the
# original's canned PFB has its test domain there
DRS_DOMAIN = '127.0.0.1:8000'


def golden(name: str) -> Any:
    with open(GOLDEN / name) as f:
        return json.load(f)


def read_pfb(indexed, filters: Mapping[str, Any]) -> tuple[dict, list[dict]]:
    context = manifest_context(indexed.runtime, CATALOG, filters, 'http://azul.test')
    output = io.BytesIO()
    assert write_manifest(context, 'terra.pfb', output) is None
    output.seek(0)
    reader = fastavro.reader(output)
    records = list(reader)
    return reader.writer_schema, records


def file_filter(uuid: str) -> dict:
    return {'fileId': {'is': [uuid]}}


def compact_schema(schema: Mapping[str, Any]) -> dict[str, list]:
    """Entity record → [name, type(, logicalType)] per field, as the golden spells it."""
    object_field, = (f for f in schema['fields'] if f['name'] == 'object')
    result = {}
    for record in object_field['type']:
        if record['name'] == 'Metadata':
            continue
        fields = []
        for field in record['fields']:
            assert field['namespace'] == record['name'], field
            logical = [field['logicalType']] if 'logicalType' in field else []
            fields.append([field['name'], field['type'], *logical])
        result[record['name']] = fields
    return result


def expected_entities() -> list[dict]:
    entities = golden('entities_file_2526ee96.json')
    by_id = {e['id']: e for e in entities}
    for deviation in golden('deviations.json')['deviations']:
        obj = by_id[deviation['id']]['object']
        # The golden must still hold the original's value: a deviation names it
        assert obj[deviation['field']] == deviation['original'], deviation
        obj[deviation['field']] = deviation['ours']
    text = json.dumps(entities).replace('{DRS_DOMAIN}', DRS_DOMAIN)
    return json.loads(text)


def test_schema(indexed):
    schema, _ = read_pfb(indexed, file_filter('2526ee96-c839-4d0e-869c-585fc9066cda'))
    expected = golden('schema_fields.json')
    del expected['_comment']
    actual = compact_schema(schema)
    # Order matters: the `object` union lists the records in the original's order
    assert list(actual) == list(expected)
    for name in expected:
        assert actual[name] == expected[name], name


def test_one_file(indexed):
    _, records = read_pfb(indexed, file_filter('2526ee96-c839-4d0e-869c-585fc9066cda'))
    assert records == expected_entities()


def test_zarr_store(indexed):
    # The related files of a zarr store are file entities of their own
    _, records = read_pfb(indexed, file_filter('c1c4a2bc-b5fb-4083-af64-f5dec70d7f9d'))
    one_file = expected_entities()
    # The Metadata and inner entities are those of the single-file manifest
    assert records[:len(one_file) - 1] == one_file[:-1]
    files = records[len(one_file) - 1:]
    expected = golden('zarr_c1c4a2bc.json')['files']
    assert len(files) == len(expected)
    for file, want in zip(files, expected, strict=True):
        assert file['name'] == 'files'
        obj = file['object']
        assert {k: obj[k] for k in ('document_id', 'uuid', 'version', 'name')} == {
            k: want[k] for k in ('document_id', 'uuid', 'version', 'name')}
        if 'id' in want:
            assert file['id'] == want['id']
        assert file['relations'] == one_file[-1]['relations']
        assert obj['drs_uri'] == (f'drs://{DRS_DOMAIN}/{want["uuid"]}?version='
                                  + want['version'].replace(':', '%3A'))


def test_inner_entities_once(indexed):
    # Files of one bundle share their inner entities: each is written once,
    # before the first file related to it
    _, records = read_pfb(indexed, {'bundleUuid': {'is': ['587d74b4-1075-4bbf-b96a-4d1ede0481b2']}})
    ids = [r['id'] for r in records]
    assert len(ids) == len(set(ids))
    seen: set[str] = set()
    for record in records:
        for relation in record['relations']:
            assert relation['dst_id'] in seen, relation
        seen.add(record['id'])
    # 20 files of which one is a zarr store with 12 parts, ten inner
    # entities, the Metadata entity
    assert [r['name'] for r in records].count('files') == 32
    assert len(records) == 1 + 10 + 32


@pytest.mark.parametrize('filters', [{'fileId': {'is': ['00000000-0000-0000-0000-000000000000']}}])
def test_empty(indexed, filters):
    schema, records = read_pfb(indexed, filters)
    # Even an empty manifest is a valid PFB: its Metadata entity alone
    assert [r['name'] for r in records] == ['Metadata']
    assert schema['name'] == 'Entity'
