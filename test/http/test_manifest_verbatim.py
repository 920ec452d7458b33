"""
The `verbatim.jsonl` and `verbatim.pfb` manifests on both backends, against
golden files transcribed from the fixture bundles themselves
(`golden/manifests/verbatim.jsonl/README.md`): the lines are the bundle's
metadata documents and links as they stand in the fixture JSON.
"""
import io
import json
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import fastavro
import pytest

# The protocol tests' local server over the session's catalog, and their client
from test_manifest_protocol import manifest_path, server, until_done  # noqa: F401

from azul.indexer.index import Indexer
from azul.manifests.generate import manifest_context, write_manifest
from azul.runtime import Runtime
from conftest import CATALOG, FIXTURES, catalog_spec, make_config

GOLDEN = Path(__file__).resolve().parent / 'golden' / 'manifests'
BUNDLES = FIXTURES / 'hca' / 'bundles' / 'indexer'

# A small bundle, the only one of its project: two sequence files of one
# cell suspension (which, with everything upstream of it, both files share)
BUNDLE = 'ffac201f-4b1c-4455-bd58-19c1a9e863b4'
PROJECT = '88ec040b-8705-4f77-8f41-f81e57632f7d'
FILES = ('4015da8b-18d8-4f3c-b2b0-54f0b77ae80a', 'fa17159e-52ec-4a88-80cf-a3be5e2e9988')
# Another small bundle of another project, for the deletion test
OTHER_BUNDLE = 'e0ae8cfa-2b51-4419-9cde-34df44c6458a'
OTHER_PROJECT = 'c765e3f9-7cfc-4501-8832-79e5f7abd321'


def manifest(runtime: Runtime, catalog: str, filters: Mapping[str, Any],
             format_name: str = 'verbatim.jsonl') -> bytes:
    context = manifest_context(runtime, catalog, filters, 'http://azul.test')
    output = io.BytesIO()
    assert write_manifest(context, format_name, output) is None
    return output.getvalue()


def lines(content: bytes) -> list[dict]:
    return [json.loads(line) for line in content.decode().splitlines()]


def golden_lines() -> list[dict]:
    return lines((GOLDEN / 'verbatim.jsonl' / 'bundle_ffac201f.jsonl').read_bytes())


def entity_id(line: Mapping[str, Any]) -> str:
    value = line['value']
    if line['type'] == 'links':
        return 'links'
    # Current documents say it in `provenance`, v5 documents in `hca_ingest`
    return (value.get('provenance') or value['hca_ingest'])['document_id']


# The three filters select the same documents: the bundle's files (no
# orphans), the project (orphans included: this bundle has none), one file
# of each of the two (the shared upstream documents once)
SELECTIONS = {
    'bundle': {'bundleUuid': {'is': [BUNDLE]}},
    'project': {'projectId': {'is': [PROJECT]}},
    'files': {'fileId': {'is': ['a8b8479d-cfa9-4f74-909f-49552439e698',
                                '7338932d-edc9-49a9-8dbf-e459a465800f']}},
}


@pytest.mark.parametrize('selection', sorted(SELECTIONS))
def test_jsonl_of_one_bundle(indexed, selection):
    # The original orders the replicas of one page of hubs by entity id (and
    # replica id), which is the golden file's order: compared as is
    actual = lines(manifest(indexed.runtime, CATALOG, SELECTIONS[selection]))
    assert actual == golden_lines()


def test_jsonl_lines_are_the_originals_spelling(indexed):
    content = manifest(indexed.runtime, CATALOG, SELECTIONS['bundle'])
    first = content.decode().splitlines()[0]
    # `json.dump` with default separators, value before type
    assert first.startswith('{"value": {"')
    assert first.endswith('}, "type": "cell_suspension"}')


def test_shared_replica_is_written_once(indexed):
    actual = lines(manifest(indexed.runtime, CATALOG, SELECTIONS['bundle']))
    types = Counter(line['type'] for line in actual)
    # Both files come from the one cell suspension, specimen and donor
    assert types['cell_suspension'] == 1
    assert types['donor_organism'] == 1
    assert types['sequence_file'] == 2
    ids = [entity_id(line) for line in actual]
    assert len(ids) == len(set(ids))


def test_one_file_reaches_its_upstream_documents_only(indexed):
    # The file a8b8479d is the document 4015da8b: everything of the bundle
    # but the other file's own document (fa17159e) is connected to it
    actual = lines(manifest(indexed.runtime, CATALOG, {'fileId': {'is': [
        'a8b8479d-cfa9-4f74-909f-49552439e698']}}))
    assert actual == [line for line in golden_lines() if entity_id(line) != FILES[1]]


def test_unfiltered_jsonl_has_every_project(indexed):
    actual = lines(manifest(indexed.runtime, CATALOG, {}))
    projects = {entity_id(line) for line in actual if line['type'] == 'project'}
    # Every project of the fixture catalog's bundles, and every distinct
    # links document per bundle uuid, read from the fixtures
    expected_projects, expected_links = set(), set()
    for path in [*BUNDLES.glob('*.dss.hca.json'), *BUNDLES.glob('4426adc5-*.tdr.hca.json')]:
        bundle = json.loads(path.read_text())
        expected_projects.update(key.partition('/')[2] for key in bundle['metadata']
                                 if key.startswith('project/'))
        expected_links.add((path.name[:36], json.dumps(bundle['links'], sort_keys=True)))
    assert projects == expected_projects
    # Three bundles have the same links document: a replica each (its
    # entity is the bundle), written once per bundle uuid
    links = [line for line in actual if line['type'] == 'links']
    assert len(links) == len(expected_links)
    documents = [(line['type'], entity_id(line), json.dumps(line['value'], sort_keys=True))
                 for line in actual if line['type'] != 'links']
    assert len(documents) == len(set(documents))
    assert all(line in actual for line in golden_lines())


def test_orphans_only_when_filtering_by_project(indexed):
    # Bundle 00f48893 carries the stitched analysis file 43598186 (its data
    # file is in the bundle's `stitched` list), which none of the bundle's
    # own files derives from: an orphan, reached through its project only
    fixture = json.loads((BUNDLES / '00f48893-5e9d-52cd-b32d-af88edccabfa.dss.hca.json')
                         .read_text())
    orphan = {'value': fixture['metadata']['analysis_file/43598186-06cd-5f4b-95d9-fecb0a35d3ab'],
              'type': 'analysis_file'}
    by_project = lines(manifest(indexed.runtime, CATALOG, {'projectId': {'is': [
        '8185730f-4113-40d3-9cc3-929271784c2b']}}))
    by_bundle = lines(manifest(indexed.runtime, CATALOG, {'bundleUuid': {'is': [
        '00f48893-5e9d-52cd-b32d-af88edccabfa']}}))
    assert orphan in by_project
    assert orphan not in by_bundle
    # Every document of the bundle's is in the project's manifest
    assert all(line in by_project for line in by_bundle)


def test_no_match_is_an_empty_manifest(indexed):
    assert manifest(indexed.runtime, CATALOG,
                    {'bundleUuid': {'is': ['00000000-0000-0000-0000-000000000000']}}) == b''


# Deletion needs an index of its own: the session's catalog is shared


@attrs.frozen
class Small:
    runtime: Runtime
    indexer: Indexer
    source: str


@pytest.fixture(params=('duckdb', 'opensearch'))
def small(request, tmp_path) -> Iterator[Small]:
    if request.param == 'opensearch':
        request.getfixturevalue('es_endpoint')
    source = f'file://{BUNDLES}/*.dss.hca.json'
    config = make_config(request.param, tmp_path, 't' + uuid.uuid4().hex[:10],
                         catalogs={CATALOG: catalog_spec([source])})
    runtime = Runtime(config)
    try:
        indexer = Indexer(runtime)
        indexer.create_indices(CATALOG)
        fqids = [f for f in runtime.repository_plugin(CATALOG).list_bundles(source).bundles
                 if f.uuid in (BUNDLE, OTHER_BUNDLE)]
        assert len(fqids) == 2
        indexer.index_bundles(CATALOG, source, fqids)
        yield Small(runtime, indexer, source)
    finally:
        runtime.backend.drop_deployment()
        runtime.backend.close()


def test_deleted_bundle_leaves_the_manifest(small):
    runtime = small.runtime
    assert lines(manifest(runtime, CATALOG, SELECTIONS['bundle'])) == golden_lines()
    everything = lines(manifest(runtime, CATALOG, {}))
    other = [line for line in everything if line not in golden_lines()]
    # The other bundle's documents: its metadata and links, from the fixture
    fixture = json.loads((BUNDLES / f'{OTHER_BUNDLE}.dss.hca.json').read_text())
    assert len(other) == len(fixture['metadata']) + 1
    fqid, = (f for f in runtime.repository_plugin(CATALOG).list_bundles(small.source).bundles
             if f.uuid == BUNDLE)
    small.indexer.index_bundles(CATALOG, small.source, [fqid], deleted=True)
    for filters in SELECTIONS.values():
        assert manifest(runtime, CATALOG, filters) == b''
    # The other bundle is untouched
    assert lines(manifest(runtime, CATALOG, {})) == other
    assert lines(manifest(runtime, CATALOG, {'projectId': {'is': [OTHER_PROJECT]}})) == other


def test_reindexing_writes_no_duplicates(small):
    fqids = [f for f in small.runtime.repository_plugin(CATALOG).list_bundles(small.source).bundles
             if f.uuid == BUNDLE]
    small.indexer.index_bundles(CATALOG, small.source, fqids)
    assert lines(manifest(small.runtime, CATALOG, SELECTIONS['bundle'])) == golden_lines()


# verbatim.pfb


def read_pfb(runtime: Runtime, catalog: str, filters: Mapping[str, Any]
             ) -> tuple[dict, list[dict]]:
    reader = fastavro.reader(io.BytesIO(manifest(runtime, catalog, filters, 'verbatim.pfb')))
    return reader.writer_schema, list(reader)


def golden_pfb(name: str) -> Any:
    return json.loads((GOLDEN / 'verbatim.pfb' / name).read_text())


def restrict(obj: Any, document: Any) -> Any:
    """`obj` without the nulls the schema added for keys `document` lacks."""
    if isinstance(document, dict):
        assert isinstance(obj, dict), obj
        added = {k: v for k, v in obj.items() if k not in document}
        assert all(v is None for v in added.values()), added
        return {k: restrict(obj[k], v) for k, v in document.items()}
    elif isinstance(document, list):
        return [restrict(o, d) for o, d in zip(obj, document, strict=True)]
    return obj


def test_pfb_of_one_bundle(indexed):
    schema, records = read_pfb(indexed.runtime, CATALOG, SELECTIONS['bundle'])
    expected = golden_lines()
    types = sorted({line['type'] for line in expected})
    # The Metadata entity first: one node per replica type, no links (HCA)
    assert records[0] == {'id': None, 'name': 'Metadata', 'relations': [],
                          'object': {'misc': {}, 'nodes': [
                              {'name': t, 'ontology_reference': '', 'values': {},
                               'links': [], 'properties': []} for t in types]}}
    # Then one entity per replica, in the manifest's order, named by type,
    # identified by entity id, holding the document as submitted
    assert [[r['name'], r['id']] for r in records] == golden_pfb('entities_ffac201f.json')
    for record, line in zip(records[1:], expected, strict=True):
        assert record['relations'] == []
        assert restrict(record['object'], line['value']) == line['value']
    # The schema: the boilerplate's union, then a record per replica type
    object_field, = (f for f in schema['fields'] if f['name'] == 'object')
    records_by_name = {r['name']: r for r in object_field['type']}
    assert [r['name'] for r in object_field['type']] == ['Metadata', *types]
    assert records_by_name['links'] == golden_pfb('links_schema_ffac201f.json')
    # Each record's fields are the keys its documents have, nullable where a
    # document lacks one, read from the golden documents
    for t in types:
        documents = [line['value'] for line in expected if line['type'] == t]
        keys = sorted({k for d in documents for k in d})
        fields = records_by_name[t]['fields']
        assert [f['name'] for f in fields] == keys
        for field in fields:
            optional = any(d.get(field['name']) is None for d in documents)
            assert ('default' in field) == optional, (t, field)


def test_pfb_after_deletion_has_only_metadata(small):
    fqid, = (f for f in small.runtime.repository_plugin(CATALOG).list_bundles(small.source).bundles
             if f.uuid == BUNDLE)
    small.indexer.index_bundles(CATALOG, small.source, [fqid], deleted=True)
    _, records = read_pfb(small.runtime, CATALOG, SELECTIONS['bundle'])
    assert records == [{'id': None, 'name': 'Metadata', 'relations': [],
                        'object': {'misc': {}, 'nodes': []}}]
    _, records = read_pfb(small.runtime, CATALOG, {})
    fixture = json.loads((BUNDLES / f'{OTHER_BUNDLE}.dss.hca.json').read_text())
    assert len(records) == 1 + len(fixture['metadata']) + 1
    assert {r['id'] for r in records[1:]} >= {key.partition('/')[2] for key in fixture['metadata']}


def test_pfb_of_the_whole_catalog_is_readable(indexed):
    jsonl = lines(manifest(indexed.runtime, CATALOG, {}))
    _, records = read_pfb(indexed.runtime, CATALOG, {})
    assert [r['name'] for r in records[1:]] == [line['type'] for line in jsonl]


# Over HTTP, through the manifest protocol and the store, as a client gets them


@pytest.mark.parametrize('format_name, content_type, extension', [
    ('verbatim.jsonl', 'application/jsonl', '.jsonl'),
    ('verbatim.pfb', 'application/octet-stream', '.avro'),
])
def test_over_http(server, format_name, content_type, extension):  # noqa: F811 (the fixture)
    put = server.request('PUT', manifest_path(catalog=CATALOG, format=format_name,
                                              filters=SELECTIONS['bundle']))
    done, _ = until_done(server, put, fetch=False)
    assert done.status == 302, done.body
    reply = server.request('GET', done.headers['location'])
    assert reply.status == 200
    assert reply.headers['content-type'] == content_type
    assert reply.headers['content-disposition'].endswith(extension)
    if format_name == 'verbatim.jsonl':
        assert lines(reply.body) == golden_lines()
    else:
        records = list(fastavro.reader(io.BytesIO(reply.body)))
        assert [[r['name'], r['id']] for r in records] == golden_pfb('entities_ffac201f.json')
