"""
The `terra.bdbag` manifest of the fixture catalog, on both backends: a ZIP of
a valid BDBag whose `data/participants.tsv` is compared to golden files
transcribed from the original's tests or assembled by hand from the bundle
JSON (see `golden/manifests/terra.bdbag/README.md`).
"""
import csv
import io
import json
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest
from bdbag import bdbag_api

from azul.manifests.formats import ManifestContext, format_class
from azul.manifests.generate import manifest_context, write_manifest
from conftest import CATALOG, FIXTURES

GOLDEN = Path(__file__).resolve().parent / 'golden' / 'manifests' / 'terra.bdbag'
SERVICE = 'http://azul.test'

B587D74B4 = '587d74b4-1075-4bbf-b96a-4d1ede0481b2'
AAA96233 = 'aaa96233-bf27-44c7-82df-b4dc15ad4d9d'
CFAB8304 = 'cfab8304-dc9f-439e-af29-f8eb75b0729d'
F0731AB4 = 'f0731ab4-6b80-4eed-97c9-4984de81a47c'
B4426ADC5 = '4426adc5-b3c5-5aab-ab86-51d8ce44dfbe'

# Golden file → the filters of the manifest it pins
CASES: Mapping[str, Mapping[str, Any]] = {
    # The original's test_terra_bdbag_manifest: its filter, restricted to the
    # two bundles that test indexes
    'bam_fastq': {'bundleUuid': {'is': [B587D74B4, AAA96233]},
                  'fileFormat': {'is': ['bam', 'fastq.gz', 'fastq']}},
    # A TDR bundle: one file (the others are stitched), colons in its version
    'tdr_bundle': {'bundleUuid': {'is': [B4426ADC5]}},
}


def bag(indexed, filters: Mapping[str, Any]) -> zipfile.ZipFile:
    context = manifest_context(indexed.runtime, CATALOG, filters, SERVICE)
    output = io.BytesIO()
    assert write_manifest(context, 'terra.bdbag', output) is None
    output.seek(0)
    return zipfile.ZipFile(output)


def read_tsv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=''), dialect='excel-tab')
    rows = list(reader)
    return list(reader.fieldnames or ()), rows


def participants(archive: zipfile.ZipFile) -> str:
    return archive.read('manifest/data/participants.tsv').decode()


def golden(name: str) -> str:
    with open(GOLDEN / f'{name}.participants.tsv', encoding='utf-8', newline='') as f:
        text = f.read()
    return text.replace('${FIXTURES}', str(FIXTURES))


def test_format_class():
    cls = format_class('terra.bdbag')
    assert (cls.extension, cls.content_type, cls.named) == ('zip', 'application/octet-stream',
                                                           False)


def test_bag_is_valid(indexed, tmp_path):
    archive = bag(indexed, CASES['bam_fastq'])
    names = archive.namelist()
    # One folder at the top, as in the original's ZIP
    assert {name.split('/')[0] for name in names} == {'manifest'}
    payload = sorted(n for n in names if n.startswith('manifest/data/') and not n.endswith('/'))
    assert payload == ['manifest/data/participants.tsv']
    for name in ('bagit.txt', 'bag-info.txt', 'manifest-sha256.txt', 'manifest-md5.txt'):
        assert f'manifest/{name}' in names
    archive.extractall(tmp_path)
    bdbag_api.validate_bag(str(tmp_path / 'manifest'), fast=False)
    info = (tmp_path / 'manifest' / 'bag-info.txt').read_text()
    assert 'Payload-Oxum: ' in info


@pytest.mark.parametrize('name', CASES)
def test_participants_tsv(indexed, name):
    expected = golden(name)
    actual = participants(bag(indexed, CASES[name]))
    expected_columns, expected_rows = read_tsv(expected)
    actual_columns, actual_rows = read_tsv(actual)
    assert actual_columns == expected_columns
    assert actual_rows == expected_rows
    # Byte for byte too: tab-separated, CRLF line ends, minimal quoting
    assert actual == expected


@pytest.mark.parametrize('case', json.loads((GOLDEN / 'redundant_bundles.json').read_text())
                         ['cases'], ids=lambda case: case['name'])
def test_redundant_bundles_left_out(indexed, case):
    # The original's test_bdbag_manifest_for_redundant_entries: primary bundle
    # cfab8304 has a subset of (or, for FASTQs only, the same) files as the
    # analysis bundle f0731ab4 derived from it
    _, rows = read_tsv(participants(bag(indexed, case['filters'])))
    assert [row['bundle_uuid'] for row in rows] == case['bundle_uuids']


class _Backend:
    """Just enough of a backend to scan a list of documents."""

    def __init__(self, documents):
        self.documents = documents

    def scan(self, catalog, entity_type, filters, include=None
             ) -> Iterator[Mapping[str, Any]]:
        return iter(self.documents)


def _document(file_uuid: str, bundles: list[tuple[str, str]]) -> Mapping[str, Any]:
    return {'entity_id': file_uuid,
            'contents': {'files': [{'uuid': file_uuid, 'version': '2020-01-01T00:00:00.000000Z',
                                    'name': f'{file_uuid}.bam', 'file_format': 'bam',
                                    'drs_uri': None}]},
            'bundles': [{'uuid': u, 'version': v} for u, v in bundles],
            'sources': ['s']}


def test_redundancy_rules(indexed):
    # After the original's test_bdbag_manifest_remove_redundant_entries: of
    # two bundles with the same files the older goes, a bundle whose files
    # are all in another goes, a bundle with more files than another stays
    v1, v2 = '2020-01-01T00:00:00.000000Z', '2020-01-02T00:00:00.000000Z'
    equal_old, equal_new = ('e0000000-0000-0000-0000-000000000000', v1), \
        ('e1000000-0000-0000-0000-000000000000', v2)
    subset, superset = ('a0000000-0000-0000-0000-000000000000', v2), \
        ('a1000000-0000-0000-0000-000000000000', v1)
    alone = ('c0000000-0000-0000-0000-000000000000', v1)
    documents = [
        _document('f1', [equal_old, equal_new]),
        _document('f2', [equal_old, equal_new]),
        _document('f3', [subset, superset]),
        _document('f4', [superset]),
        _document('f5', [alone]),
    ]
    context = manifest_context(indexed.runtime, CATALOG, {}, SERVICE)
    context = attrs.evolve(context, backend=_Backend(documents))
    assert isinstance(context, ManifestContext)
    output = io.BytesIO()
    write_manifest(context, 'terra.bdbag', output)
    _, rows = read_tsv(participants(zipfile.ZipFile(output)))
    assert [row['entity:participant_id'] for row in rows] == [
        'a1000000-0000-0000-0000-000000000000.2020-01-01T000000.000000Z',
        'c0000000-0000-0000-0000-000000000000.2020-01-01T000000.000000Z',
        'e1000000-0000-0000-0000-000000000000.2020-01-02T000000.000000Z',
    ]
    # The superset bundle has two BAMs, so every bundle gets two numbered blocks
    assert rows[1]['__bam_0__file_uuid'] == 'f5' and rows[1]['__bam_1__file_uuid'] == ''
