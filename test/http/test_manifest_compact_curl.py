"""
The `compact` and `curl` manifests of the fixture catalog, on both backends,
against golden files assembled by hand from the original's tests and the
fixture bundles (see golden/manifests/compact/README.md).
"""
import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest

from azul.manifests.generate import manifest_context, write_manifest
from conftest import CATALOG, SOURCE

GOLDEN = Path(__file__).parent / 'golden' / 'manifests'

MELANOMA = {'fileId': {'is': ['5f9b45af-9a26-4b16-a785-7f2d1053dd7c',
                              'f2b6c6f0-8d25-4aae-b255-1974cc110cfe']}}
ZARR = {'bundleUuid': {'is': ['587d74b4-1075-4bbf-b96a-4d1ede0481b2']},
        'fileFormat': {'is': ['matrix']}}
MULTI_BUNDLE = {'fileId': {'is': ['a12a783c-6b91-4788-80b3-f25dae7838ce',
                                  '1e14d503-31b1-4db6-82ba-f8d83bd85b9b']}}

# name of the golden files, filters, the base name of the manifest's file name
CASES = [
    ('melanoma_two_files', MELANOMA, 'Mouse Melanoma'),
    ('zarr_587d74b4', ZARR, 'integration/Smart-seq2/2018-10-10T02:23:36Z'),
    # The BAM's project has two short names (two copies of one project)
    ('multi_bundle', MULTI_BUNDLE, None),
]


def manifest(indexed, format_name: str, filters: Any) -> tuple[bytes, str | None]:
    context = manifest_context(indexed.runtime, CATALOG, filters, 'http://azul.test')
    output = io.BytesIO()
    base_name = write_manifest(context, format_name, output)
    # The format hands the output back open
    assert not output.closed
    return output.getvalue(), base_name


def read_tsv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline=''), dialect='excel-tab'))


def golden_tsv(name: str) -> list[dict[str, str]]:
    text = (GOLDEN / 'compact' / f'{name}.tsv').read_text()
    return read_tsv(text.replace('$DSS_SOURCE', SOURCE))


def header(body: bytes) -> list[str]:
    return next(csv.reader(io.StringIO(body.decode(), newline=''), dialect='excel-tab'))


@pytest.mark.parametrize('name, filters, base_name', CASES)
def test_compact(indexed, name, filters, base_name):
    body, actual_base_name = manifest(indexed, 'compact', filters)
    assert actual_base_name == base_name
    # The excel-tab dialect ends every row in CRLF
    assert body.endswith(b'\r\n') and b'\n' not in body.replace(b'\r\n', b'')
    expected = golden_tsv(name)
    # The columns are the original's, in its order; a golden file may hold a
    # subset of them, in the same order
    assert header(body) == list(golden_tsv('melanoma_two_files')[0])
    columns = list(expected[0])
    actual = [{c: row[c] for c in columns} for row in read_tsv(body.decode())]
    assert actual == expected


@pytest.mark.parametrize('name, filters, base_name', CASES)
def test_curl(indexed, name, filters, base_name):
    body, actual_base_name = manifest(indexed, 'curl', filters)
    # A curl manifest is never named after its content
    assert actual_base_name is None
    assert body.decode() == (GOLDEN / 'curl' / f'{name}.curlrc').read_text()


def expected_files(indexed) -> list[tuple[str, str]]:
    """(file UUID, newest bundle UUID) of every file and related file, from the scan."""
    context = manifest_context(indexed.runtime, CATALOG, None, 'http://azul.test')
    files = []
    for document in context.scan('files'):
        (file,) = document['contents']['files']
        newest = max(document['bundles'], key=lambda b: (b['version'], b['uuid']))['uuid']
        for f in [file, *file['related_files']]:
            files.append((f['uuid'], newest))
    return files


def test_compact_unfiltered(indexed):
    body, base_name = manifest(indexed, 'compact', None)
    # Many projects
    assert base_name is None
    rows = read_tsv(body.decode())
    # One row per file and per related file, in scan order
    assert [r['file_uuid'] for r in rows] == [uuid for uuid, _ in expected_files(indexed)]
    assert header(body) == list(golden_tsv('melanoma_two_files')[0])
    # The 1279 files of the fixture catalog and the 275 + 12 + 15 + 15 members
    # of its four zarr stores
    assert len(rows) == 1279 + 275 + 12 + 15 + 15


def test_curl_unfiltered(indexed):
    body, _ = manifest(indexed, 'curl', None)
    text = body.decode()
    entries = text.split('\n\n')
    assert entries[8] == '--write-out "Downloading to: %{filename_effective}\\n\\n"'
    assert entries[-1] == ''
    files = expected_files(indexed)
    # Every fixture file has a DRS URI and a valid name: no comments
    assert len(entries[9:-1]) == len(files)
    for entry, (uuid, bundle_uuid) in zip(entries[9:-1], files, strict=True):
        url, output = entry.split('\n')
        assert re.fullmatch(rf'url="http://azul\.test/repository/files/{uuid}\?catalog=dcp&[^"]+"',
                            url), url
        assert output.startswith(f'output="{bundle_uuid}/'), output
    outputs = [entry.split('\n')[1] for entry in entries[9:-1]]
    # The bundle folders keep files of the same name apart
    assert len(set(outputs)) == len(outputs)
