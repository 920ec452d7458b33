"""
The text rules of the `compact` and `curl` manifests, with hand-written
expectations: values as TSV, joined cells, related-file rows, curl quoting,
path sanitizing, command lines, and both formats over a stub context.
"""
import io
from collections.abc import Iterator, Mapping
from types import SimpleNamespace
from typing import Any

import attrs
import pytest

from azul.manifests.formats.compact import CompactFormat, cells, join_values, rows, tsv_value
from azul.manifests.formats.curl import (
    RETRIES,
    CurlFormat,
    InvalidPath,
    entry,
    newest_bundle,
    option,
    sanitize_path,
)

# Values and cells

@pytest.mark.parametrize('value, text', [
    (None, ''),
    (True, 'True'),
    (False, 'False'),
    (0, '0'),
    (9001, '9001'),
    (1.5, '1.5'),
    ('a b', 'a b'),
    ({'value': '6-12', 'unit': 'week'}, '6-12 week'),
    ({'value': '20', 'unit': None}, '20'),
    # An AnVIL age range, as the original's TSV writer spells the dict
    ({'gte': None, 'lte': None}, "{'gte': None, 'lte': None}"),
    ({'gte': 20, 'lte': 30.5}, "{'gte': 20.0, 'lte': 30.5}"),
])
def test_tsv_value(value, text):
    assert tsv_value(value) == text


def test_tsv_value_refuses_other_structures():
    with pytest.raises(TypeError):
        tsv_value({'gte': 1, 'lt': 2})
    with pytest.raises(TypeError):
        tsv_value(['a'])


def test_join_values():
    assert join_values([]) == ''
    assert join_values(['b', 'a', 'b']) == 'a || b'
    # The empty value of a null sorts first, as in the original
    assert join_values(['x', '']) == ' || x'
    # At most the first 100 sorted values
    values = [f'{i:03}' for i in range(150, 0, -1)]
    assert join_values(values) == ' || '.join(f'{i:03}' for i in range(1, 101))


def test_cells():
    entities = [{'a': ['y', None, 'x'], 'b': None, 'c': True},
                {'a': ['x'], 'b': 'z'}]
    columns = {'a': 'col_a', 'b': 'col_b', 'c': 'col_c', 'd': 'col_d'}
    assert cells(entities, columns) == {
        # Nulls in a list drop out
        'col_a': 'x || y',
        # A null scalar is an empty value
        'col_b': ' || z',
        'col_c': 'True',
        # No entity has the field
        'col_d': '',
    }
    assert cells([], {'a': 'col_a'}) == {'col_a': ''}


def test_cells_refuse_the_joiner():
    with pytest.raises(ValueError):
        cells([{'a': 'x || y'}], {'a': 'col_a'})
    with pytest.raises(ValueError):
        cells([{'a': ['x||y']}], {'a': 'col_a'})


CONFIG = {
    ('sources',): {'id': 'source_id'},
    ('bundles',): {'uuid': 'bundle_uuid'},
    ('contents', 'files'): {'name': 'file_name', 'read_index': 'read_index',
                            'file_url': 'file_url'},
    ('contents', 'donors'): {'sex': 'sex'},
}


def fake_url(file: Mapping[str, Any]) -> str:
    return f'url:{file["name"]}'


def document(files: list[dict], short_names: tuple[str, ...] = ('P',)) -> dict:
    return {'sources': ['s:1'],
            'bundles': [{'uuid': 'b2', 'version': '1'}, {'uuid': 'b1', 'version': '2'}],
            'contents': {'files': files,
                         'donors': [{'sex': ['female', 'male']}],
                         'projects': [{'project_short_name': list(short_names)}]}}


def test_rows_of_related_files():
    file = {'name': 'z.zarr/.zattrs', 'read_index': 'read1',
            'related_files': [{'name': 'z.zarr/.zgroup'},
                              {'name': 'z.zarr/0.0', 'read_index': 'read2'},
                              {'name': 'z.zarr/1.0'}]}
    common = {'source_id': 's:1', 'bundle_uuid': 'b1 || b2', 'sex': 'female || male'}
    assert list(rows(document([file]), CONFIG, fake_url)) == [
        {**common, 'file_name': 'z.zarr/.zattrs', 'read_index': 'read1',
         'file_url': 'url:z.zarr/.zattrs'},
        # A field a related file lacks keeps the value of the file, or of the
        # related file before it, as in the original
        {**common, 'file_name': 'z.zarr/.zgroup', 'read_index': 'read1',
         'file_url': 'url:z.zarr/.zgroup'},
        {**common, 'file_name': 'z.zarr/0.0', 'read_index': 'read2',
         'file_url': 'url:z.zarr/0.0'},
        {**common, 'file_name': 'z.zarr/1.0', 'read_index': 'read2',
         'file_url': 'url:z.zarr/1.0'},
    ]


def test_rows_without_related_files_or_url():
    config = {('contents', 'files'): {'name': 'file_name'}}
    assert list(rows(document([{'name': 'a', 'related_files': []}]), config, fake_url)) == [
        {'file_name': 'a'}]
    # A files aggregate has exactly one file
    with pytest.raises(ValueError):
        list(rows(document([{'name': 'a'}, {'name': 'b'}]), config, fake_url))


# Curl text

def test_option():
    assert option('') == '""'
    assert option('abc') == '"abc"'
    assert option('"') == '"\\""'
    assert option('a\\b') == '"a\\\\b"'
    assert option(option('"')) == '"\\"\\\\\\"\\""'


@pytest.mark.parametrize('path', [
    'x', '.x', '.x. y', 'x/x', '.x/.y', 'x..y', 'foo/bar/file.fastq.gz', 'a b/c  d',
    # DOS device names are matched in upper case only, as in the original
    'foo/com6/file', 'foo/CON.txt',
])
def test_sanitize_path_passes(path):
    assert sanitize_path(path) == path


@pytest.mark.parametrize('path, sanitized', [
    ('<>:"|?*<>:"|?*', '______________'),
    ('b/what?.txt', 'b/what_.txt'),
    ('b/a:b', 'b/a_b'),
])
def test_sanitize_path_substitutes(path, sanitized):
    assert sanitize_path(path) == sanitized


@pytest.mark.parametrize('path', [
    # Control characters and backslash
    'foo/bar/\x1f/file', 'a\nb', 'a\\b', 'a\x00',
    # Empty, absolute, dotted or space-padded components
    '', '.', '..', ' ', ' x', 'x ', '/', 'x/', '/x', 'x//x', 'foo/bar/ / baz/file',
    'x/../y', 'x.', '..x',
    # Reserved on Windows
    'foo/bar/COM6/file', 'NUL', 'a/LPT1',
])
def test_sanitize_path_refuses(path):
    with pytest.raises(InvalidPath):
        sanitize_path(path)


def test_invalid_path_message():
    with pytest.raises(InvalidPath) as e:
        sanitize_path('foo/bar/\x1f/file')
    assert str(e.value) == ("Invalid file path 'foo/bar/\\x1f/file': "
                            'control character or backslash at position 8')


def test_newest_bundle():
    # The greatest version wins, whatever the UUID; of equal versions, the greatest UUID
    assert newest_bundle([{'uuid': 'b', 'version': '1'},
                          {'uuid': 'a', 'version': '2'}]) == {'uuid': 'a', 'version': '2'}
    assert newest_bundle([{'uuid': 'a', 'version': '1'},
                          {'uuid': 'c', 'version': '1'},
                          {'uuid': 'b', 'version': '1'}])['uuid'] == 'c'


def test_entry():
    file = {'uuid': 'u1', 'version': 'v1', 'name': 'dir/a"b.txt'}
    assert entry(file, 'b1', 'http://h/f?x=1', 'dcp') == (
        'url="http://h/f?x=1"\n'
        'output="b1/dir/a_b.txt"\n\n')
    assert entry(file, 'b1', None, 'dcp') == (
        "# File 'u1', version 'v1' is currently not available in catalog 'dcp'.\n\n")
    bad = {'uuid': 'u1', 'version': 'v1', 'name': 'evil\nurl="http://x"'}
    assert entry(bad, 'b1', 'http://h/f', 'dcp') == (
        "# File 'u1', version 'v1' is skipped: "
        'Invalid file path \'b1/evil\\nurl="http://x"\': '
        'control character or backslash at position 7.\n\n')


def test_curl_command_lines():
    # ceil(5 minutes * 1.5 / 30 seconds), from the original's WAF defaults
    assert RETRIES == 15
    url = 'http://azul.test/manifest/files/abc?catalog=dcp&format=curl'
    assert CurlFormat.command_lines(url, 'ignored.curlrc') == {
        'cmd.exe': 'curl.exe --location --fail '
                   '"http://azul.test/manifest/files/abc?catalog=dcp&format=curl" '
                   '| curl.exe --retry 15 --retry-delay 10 --config -',
        'bash': 'curl --location --fail '
                "'http://azul.test/manifest/files/abc?catalog=dcp&format=curl' "
                '| curl --retry 15 --retry-delay 10 --config -',
    }
    assert CurlFormat.command_lines('http://h/x', None)['bash'] == (
        'curl --location --fail http://h/x | curl --retry 15 --retry-delay 10 --config -')


def test_format_attributes():
    assert (CompactFormat.name, CompactFormat.extension, CompactFormat.content_type,
            CompactFormat.named) == ('compact', 'tsv', 'text/tab-separated-values', True)
    assert (CurlFormat.name, CurlFormat.extension, CurlFormat.content_type,
            CurlFormat.named) == ('curl', 'curlrc', 'text/plain', False)


# Both formats over a stub of ManifestContext

@attrs.frozen
class StubContext:
    documents: list[dict]
    config: Mapping = attrs.field(factory=lambda: CONFIG)

    @property
    def catalog(self):
        return SimpleNamespace(name='dcp')

    @property
    def plugin(self):
        return SimpleNamespace(manifest_config=self.config)

    def scan(self, entity_type: str = 'files', include=None) -> Iterator[Mapping[str, Any]]:
        # Whole documents, as a backend may return more than `include` asks for
        assert entity_type == 'files'
        return iter(self.documents)

    def file_url(self, file: Mapping[str, Any], **args: Any) -> str | None:
        if file.get('drs_uri') is None:
            return None
        query = ''.join(f'&{k}={v}' for k, v in args.items())
        return f'http://s/{file["uuid"]}?v={file["version"]}{query}'


def write(format_cls, context) -> tuple[str, str | None]:
    output = io.BytesIO()
    base_name = format_cls().write(context, output)
    assert not output.closed
    return output.getvalue().decode(), base_name


def test_compact_write():
    file = {'name': 'a\tb', 'uuid': 'u1', 'version': 'v1', 'drs_uri': 'drs://x/u1'}
    text, base_name = write(CompactFormat, StubContext([document([file])]))
    assert text == ('source_id\tbundle_uuid\tfile_name\tread_index\tfile_url\tsex\r\n'
                    's:1\tb1 || b2\t"a\tb"\t\thttp://s/u1?v=v1\tfemale || male\r\n')
    assert base_name == 'P'


def test_compact_base_name():
    def base_name(*short_names: tuple[str, ...]) -> str | None:
        documents = [document([{'name': 'a'}], names) for names in short_names]
        return write(CompactFormat, StubContext(documents))[1]

    assert base_name(('P',), ('P',)) == 'P'
    assert base_name(('P',), ('Q',)) is None
    assert base_name(('P', 'Q')) is None
    # An empty manifest has a header only, and no name
    assert write(CompactFormat, StubContext([])) == (
        'source_id\tbundle_uuid\tfile_name\tread_index\tfile_url\tsex\r\n', None)


def test_curl_write():
    file = {'uuid': 'u1', 'version': 'v1', 'name': 'z.zarr/.zattrs', 'drs_uri': 'drs://x/u1',
            'related_files': [{'uuid': 'u2', 'version': 'v2', 'name': 'z.zarr/.zgroup',
                               'drs_uri': 'drs://x/u2'},
                              {'uuid': 'u3', 'version': 'v3', 'name': 'z.zarr/COM1',
                               'drs_uri': 'drs://x/u3'}]}
    missing = {'uuid': 'u4', 'version': 'v4', 'name': 'gone', 'drs_uri': None,
               'related_files': []}
    documents = [document([file]), document([missing])]
    text, base_name = write(CurlFormat, StubContext(documents))
    assert base_name is None
    assert text == (
        '--http1.1\n\n--create-dirs\n\n--compressed\n\n--location\n\n--globoff\n\n'
        '--fail\n\n--fail-early\n\n--continue-at -\n\n'
        '--write-out "Downloading to: %{filename_effective}\\n\\n"\n\n'
        # b1 has the greater version of the document's two bundles
        'url="http://s/u1?v=v1"\n'
        'output="b1/z.zarr/.zattrs"\n\n'
        'url="http://s/u2?v=v2&requestIndex=1&fileName=z.zarr/.zgroup&drsUri=drs://x/u2"\n'
        'output="b1/z.zarr/.zgroup"\n\n'
        "# File 'u3', version 'v3' is skipped: "
        "Invalid file path 'b1/z.zarr/COM1': reserved on Windows: COM1.\n\n"
        "# File 'u4', version 'v4' is currently not available in catalog 'dcp'.\n\n")
