"""
The `verbatim.jsonl` and `verbatim.pfb` manifests of an AnVIL catalog, on
both backends, through the service's HTTP API (the manifest protocol of a
local server, the manifest downloaded from its store): the three AnVIL
fixture bundles plus a bundle of an orphan row, compared to the golden files
of `golden/verbatim_anvil/` (see its README for how they were written and
checked against the original's rules).

A second catalog holds the same bundles in a source readable by group
`consent-1` only: no replica of it may reach a caller outside the group.
"""
import io
import json
import shutil
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs
import fastavro
import pytest

# The manifest protocol's HTTP client and its helpers
from test_manifest_protocol import Http, Reply, manifest_path, until_done

from azul.adapters.server import LocalServer
from azul.runtime import Runtime
from azul_dev.synth.anvil import generate_anvil
from azul_testing import FIXTURES
from conftest import index_sources, make_config

GOLDEN = Path(__file__).resolve().parent / 'golden' / 'verbatim_anvil'

CATALOG = 'anvil'
RESTRICTED_CATALOG = 'anvilr'
# The supplementary bundle with the DUOS id on its dataset row
DUOS_ID_CATALOG = 'anvild'
# The fixture's source and a synthetic one
TWO_SOURCES_CATALOG = 'anvil2'
TOKENS = {'token-consented': {'subject': 'alice@example.org', 'groups': ['consent-1']}}

DATASET = '2370f948-2783-4eb6-afea-e022897f4dcf'
DATASET_ID = '52ee7665-7033-63f2-a8d9-ce8e32666739'
ORPHAN = 'c0ffee00-0000-4000-8000-000000000001'
# The fixture's files by `file_id` (the business id the API filters by) and
# their golden manifests
FILES = {
    '1e269f04-4347-4188-b060-1dcc69e71d67': 'file_1e269f04.jsonl',  # the VCF
    '8b722e88-8103-49c1-b351-e64fa7c6ab37': 'file_8b722e88.jsonl',  # the BAM
    '1fab11f5-7eab-4318-9a58-68d8d06e0715': 'file_1fab11f5.jsonl',  # supplementary
}


@attrs.frozen
class Served:
    http: Http
    runtime: Runtime
    source: str
    synthetic_source: str


@pytest.fixture(scope='module', params=('duckdb', 'opensearch'))
def served(request, tmp_path_factory) -> Iterator[Served]:
    kind = request.param
    if kind == 'opensearch':
        request.getfixturevalue('es_endpoint')
    data_dir = tmp_path_factory.mktemp(f'verbatim-anvil-{kind}')
    # The fixture's bundles (not its tables) and the orphan's bundle
    bundles = data_dir / 'bundles'
    bundles.mkdir()
    for path in [*(FIXTURES / 'anvil').glob('*.tdr.anvil.json'),
                 *(GOLDEN / 'orphan_bundle').glob('*.tdr.anvil.json')]:
        shutil.copy(path, bundles / path.name)
    source = f'file://{bundles}/*.tdr.anvil.json'
    tokens = data_dir / 'tokens.json'
    tokens.write_text(json.dumps(TOKENS))

    def spec(sources: list) -> dict[str, Any]:
        return {'atlas': 'anvil', 'internal': False,
                'plugins': {'metadata': {'name': 'anvil'}, 'repository': {'name': 'canned'}},
                'sources': sources}

    duos_id_source = f'file://{GOLDEN}/duos_id_bundle/*.tdr.anvil.json'
    generate_anvil(4, data_dir / 'synthetic', seed=3)
    synthetic_source = f'file://{data_dir}/synthetic/*.tdr.anvil.json'
    catalogs = {CATALOG: spec([source]),
                RESTRICTED_CATALOG: spec([{'spec': source, 'group': 'consent-1'}]),
                DUOS_ID_CATALOG: spec([duos_id_source]),
                # Not in the order of their names, which is the manifest's
                TWO_SOURCES_CATALOG: spec([synthetic_source, source])}
    runtime = Runtime(make_config(kind, data_dir, 't' + uuid.uuid4().hex[:10],
                                  catalogs=catalogs,
                                  extra_env={'AZUL_TOKENS_FILE': str(tokens)}))
    server = None
    try:
        for catalog, catalog_spec in catalogs.items():
            index_sources(runtime, catalog, [s if isinstance(s, str) else s['spec']
                                             for s in catalog_spec['sources']])
        server = LocalServer(runtime, '127.0.0.1', 0, worker=False)
        server.start()
        yield Served(Http(server.url), runtime, source, synthetic_source)
    finally:
        if server is not None:
            server.stop()
        runtime.backend.drop_deployment()
        runtime.backend.close()


def fetch(served: Served, filters: Mapping[str, Any], format_name: str = 'verbatim.jsonl',
          catalog: str = CATALOG, token: str | None = None) -> Reply:
    """The manifest as a client gets it: PUT, follow the 301s, GET the 302's target."""
    headers = {} if token is None else {'Authorization': f'Bearer {token}'}
    put = served.http.request('PUT', manifest_path(catalog=catalog, format=format_name,
                                                   filters=dict(filters)), headers=headers)
    if put.status not in (301, 302):
        return put
    done, _ = until_done(served.http, put, fetch=False)
    assert done.status == 302, done.body
    reply = served.http.request('GET', done.headers['location'])
    assert reply.status == 200, reply.body[:500]
    return reply


def golden(name: str) -> bytes:
    return (GOLDEN / name).read_bytes()


def lines(content: bytes) -> list[dict]:
    return [json.loads(line) for line in content.decode().splitlines()]


# verbatim.jsonl


def test_content_type_and_name(served):
    reply = fetch(served, {})
    assert reply.headers['content-type'] == 'application/jsonl'
    assert reply.headers['content-disposition'].endswith('.jsonl"') or \
        reply.headers['content-disposition'].endswith('.jsonl')


# Filters on nothing but the dataset or the source select whole datasets and
# include the orphan; any file filter leaves it out (the original's
# `expect_orphans_by_filters` of its AnVIL manifest tests)
SOURCE_FILTER = object()
ORPHAN_CASES = [
    ({}, True),
    (SOURCE_FILTER, True),
    ({'datasets.title': {'is': ['ANVIL_CMG_UWASH_DS_BDIS']}}, True),
    ({'datasets.dataset_id': {'is': [DATASET_ID]}}, True),
    ({'files.is_supplementary': {'is': [True, False]}}, False),
    ({'files.is_supplementary': {'is': [True, False]},
      'datasets.title': {'is': ['ANVIL_CMG_UWASH_DS_BDIS']}}, False),
]


@pytest.mark.parametrize('filters, orphans', ORPHAN_CASES,
                         ids=['none', 'source', 'title', 'dataset', 'files', 'files+title'])
def test_orphans_only_without_a_file_filter(served, filters, orphans):
    if filters is SOURCE_FILTER:
        filters = {'source_id': {'is': [served.source]}}
    content = fetch(served, filters).body
    # The lines in the original's order (by entity id, then replica id). The
    # keys of a row are compared as a dict: OpenSearch hands a document back
    # with its keys in an order of its own
    assert lines(content) == lines(golden('all.jsonl' if orphans else 'linked.jsonl'))
    assert (ORPHAN in content.decode()) is orphans


def test_lines_are_the_originals_spelling(served):
    content = fetch(served, {'files.file_id': {'is': ['1fab11f5-7eab-4318-9a58-68d8d06e0715']}})
    for line in content.body.decode().splitlines():
        # `json.dumps` with its default separators, the value before the type
        parsed = json.loads(line)
        assert line == json.dumps({'value': parsed['value'], 'type': parsed['type']})


@pytest.mark.parametrize('file_id', sorted(FILES))
def test_one_file_gives_its_connected_replicas(served, file_id):
    content = fetch(served, {'files.file_id': {'is': [file_id]}}).body
    assert lines(content) == lines(golden(FILES[file_id]))


def test_two_files_share_their_replicas(served):
    # Every row either file reaches, each once, in one (entity id, replica
    # id) order: the whole linked manifest but the supplementary file
    vcf, bam = '1e269f04-4347-4188-b060-1dcc69e71d67', '8b722e88-8103-49c1-b351-e64fa7c6ab37'
    actual = lines(fetch(served, {'files.file_id': {'is': [vcf, bam]}}).body)
    union = lines(golden(FILES[vcf])) + lines(golden(FILES[bam]))
    expected = [line for line in lines(golden('linked.jsonl')) if line in union]
    assert actual == expected
    assert len(expected) == 10


def test_no_match_is_empty(served):
    assert fetch(served, {'files.file_id': {'is': ['nothing']}}).body == b''


def test_unreadable_source_leaks_nothing(served):
    # Anonymous: the restricted catalog's datasets are listed to everyone, but
    # their replicas are not; a filter naming the source is refused
    assert fetch(served, {}, catalog=RESTRICTED_CATALOG).body == b''
    _, records = read_pfb(fetch(served, {}, 'verbatim.pfb', catalog=RESTRICTED_CATALOG).body)
    assert [r['name'] for r in records] == ['Metadata']
    for file_id in FILES:
        filters = {'files.file_id': {'is': [file_id]}}
        assert fetch(served, filters, catalog=RESTRICTED_CATALOG).body == b''
    refused = fetch(served, {'source_id': {'is': [served.source]}}, catalog=RESTRICTED_CATALOG)
    assert refused.status == 403, refused.body
    # A member of the group gets what the open catalog gives everyone
    consented = fetch(served, {}, catalog=RESTRICTED_CATALOG, token='token-consented')
    assert lines(consented.body) == lines(golden('all.jsonl'))


def test_formats_offered(served):
    reply = served.http.request('PUT', manifest_path(catalog=CATALOG, format='curl'))
    assert reply.status == 400
    # The original's AnVIL formats with replicas and without mirroring
    assert "'compact', 'terra.pfb', 'verbatim.jsonl', 'verbatim.pfb'" in reply.body.decode()


# verbatim.pfb


def read_pfb(content: bytes) -> tuple[dict, list[dict]]:
    reader = fastavro.reader(io.BytesIO(content))
    return reader.writer_schema, list(reader)


def golden_records() -> dict[str, list]:
    records = json.loads(golden('pfb_records.json'))
    del records['_comment']
    return records


def avro_type(abbreviation: str) -> Any:
    if abbreviation.endswith('?'):
        return ['null', avro_type(abbreviation[:-1])]
    elif abbreviation.startswith('['):
        return {'type': 'array', 'items': avro_type(abbreviation[1:-1])}
    return {'S': 'string', 'D': 'double', 'L': 'long', 'B': 'boolean'}[abbreviation]


def test_pfb_schema_is_the_data_models(served):
    # Whichever rows a manifest holds, every table of the AnVIL model, each
    # with the same record, as the original declares them
    expected = golden_records()
    for filters in ({}, {'files.file_id': {'is': ['1fab11f5-7eab-4318-9a58-68d8d06e0715']}}):
        schema, _ = read_pfb(fetch(served, filters, 'verbatim.pfb').body)
        assert schema['name'] == 'Entity'
        object_field, = (f for f in schema['fields'] if f['name'] == 'object')
        metadata, *records = object_field['type']
        assert metadata['name'] == 'Metadata'
        assert [r['name'] for r in records] == list(expected)
        for record in records:
            fields = expected[record['name']]
            assert [f['name'] for f in record['fields']] == [name for name, _ in fields]
            for field, (_, abbreviation) in zip(record['fields'], fields, strict=True):
                assert field['type'] == avro_type(abbreviation), (record['name'], field)
                assert field['namespace'] == record['name']
                assert 'default' not in field


def test_pfb_holds_the_jsonl_rows(served):
    records = golden_records()
    for filters, name in [({}, 'all.jsonl'),
                          *(({'files.file_id': {'is': [f]}}, n) for f, n in FILES.items())]:
        reply = fetch(served, filters, 'verbatim.pfb')
        assert reply.headers['content-type'] == 'application/octet-stream'
        assert reply.headers['content-disposition'].rstrip('"').endswith('.avro')
        _, entities = read_pfb(reply.body)
        expected = lines(golden(name))
        metadata, *entities = entities
        # Every table of the model is a node, without links, as the original
        assert metadata == {'id': None, 'name': 'Metadata', 'relations': [],
                            'object': {'misc': {}, 'nodes': [
                                {'name': t, 'ontology_reference': '', 'values': {},
                                 'links': [], 'properties': []} for t in records]}}
        # One entity per line, in the manifest's order, named by table,
        # identified by `datarepo_row_id` (a DUOS stub has none: its
        # dataset's), holding the row's columns of the record (not the
        # `version` the bundle adds), null where the row has none
        assert [(e['name'], e['id']) for e in entities] == [
            (line['type'], line['value'].get('datarepo_row_id', DATASET)) for line in expected]
        for entity, line in zip(entities, expected, strict=True):
            assert entity['relations'] == []
            fields = [field for field, _ in records[line['type']]]
            assert entity['object'] == {f: line['value'].get(f) for f in fields}
            assert 'version' not in entity['object']


# Field names: the original's AnVIL plugin has `source_id` and `source_spec`,
# not HCA's `sourceId` and `sourceSpec`, looks files up by `files.document_id`,
# not HCA's `fileId`, and answers 400 for unknown fields


@pytest.mark.parametrize('name', ['sourceId', 'sourceSpec', 'fileId'])
def test_hca_source_fields_are_unknown(served, name):
    filters = json.dumps({name: {'is': [served.source]}})
    for path in (f'/index/files?catalog={CATALOG}&filters={quote(filters)}',
                 f'/index/files?catalog={CATALOG}&sort={name}'):
        reply = served.http.request('GET', path)
        assert reply.status == 400, (path, reply.body[:300])
        assert name in reply.body.decode()
    reply = served.http.request('PUT', manifest_path(catalog=CATALOG, format='verbatim.jsonl',
                                                     filters={name: {'is': [served.source]}}))
    assert reply.status == 400, reply.body[:300]
    # The original's names are fields
    for original in ('source_id', 'source_spec'):
        filters = json.dumps({original: {'is': [served.source]}})
        reply = served.http.request('GET', f'/index/files?catalog={CATALOG}'
                                           f'&filters={quote(filters)}&sort={original}')
        assert reply.status == 200, reply.body[:300]
        assert reply.json['pagination']['total'] == 3


# The DUOS id


def test_duos_id_only_in_the_datasets_index(served):
    filters = quote(json.dumps({'datasets.duos_id': {'is': ['DUOS-000002']}}))

    def hits(entity_type: str) -> list[dict]:
        reply = served.http.request('GET', f'/index/{entity_type}?catalog={DUOS_ID_CATALOG}'
                                           f'&filters={filters}')
        assert reply.status == 200, reply.body[:300]
        return reply.json['hits']

    (hit,) = hits('datasets')
    (dataset,) = hit['datasets']
    assert dataset['duos_id'] == 'DUOS-000002'
    assert dataset['description'] == 'Study description from DUOS'
    # As the original: the other indices do not know the DUOS id
    for entity_type in ('bundles', 'files'):
        assert hits(entity_type) == []
    reply = served.http.request('GET', f'/index/bundles?catalog={DUOS_ID_CATALOG}')
    (bundle_hit,) = reply.json['hits']
    assert all('duos_id' not in d for d in bundle_hit['datasets'])


def test_duos_id_in_the_verbatim_manifests(served):
    bundle = json.loads(next((GOLDEN / 'duos_id_bundle').glob('*.json')).read_text())
    dataset = bundle['entities'][f'anvil_dataset/{DATASET}']
    file = bundle['entities']['anvil_file/6b0f6c0f-5d80-4242-accb-840921351cd5']
    expected = [{'value': dataset, 'type': 'anvil_dataset'}, {'value': file, 'type': 'anvil_file'}]
    assert lines(fetch(served, {}, catalog=DUOS_ID_CATALOG).body) == expected
    # A field of the dataset, the root entity: the whole dataset, as a filter
    # on any of its fields gives (only the datasets index knows the DUOS id)
    filters = {'datasets.duos_id': {'is': ['DUOS-000002']}}
    assert lines(fetch(served, filters, catalog=DUOS_ID_CATALOG).body) == expected
    filters = {'datasets.duos_id': {'is': ['DUOS-000009']}}
    assert fetch(served, filters, catalog=DUOS_ID_CATALOG).body == b''
    _, records = read_pfb(fetch(served, {}, 'verbatim.pfb', catalog=DUOS_ID_CATALOG).body)
    (pfb_dataset,) = (r for r in records if r['name'] == 'anvil_dataset')
    assert pfb_dataset['object']['duos_id'] == 'DUOS-000002'
    assert pfb_dataset['object']['description'] == 'Study description from DUOS'


# Several sources


def test_jsonl_source_by_source(served):
    # As the original partitions its JSONL manifest: the sources in order,
    # each source's replicas together, each part in its own order
    first, second = sorted([served.source, served.synthetic_source])
    assert first == served.source

    def part(source: str) -> list[dict]:
        filters = {'source_id': {'is': [source]}}
        return lines(fetch(served, filters, catalog=TWO_SOURCES_CATALOG).body)

    assert part(served.source) == lines(golden('all.jsonl'))
    synthetic = part(served.synthetic_source)
    assert synthetic and not any(line in synthetic for line in lines(golden('all.jsonl')))
    everything = lines(fetch(served, {}, catalog=TWO_SOURCES_CATALOG).body)
    assert everything == part(served.source) + synthetic
    # Both sources named: the same
    both = {'source_id': {'is': [second, first]}}
    assert lines(fetch(served, both, catalog=TWO_SOURCES_CATALOG).body) == everything
    # The PFB lists all sources' replicas in one pass, as the original's, by
    # entity id
    _, records = read_pfb(fetch(served, {}, 'verbatim.pfb', catalog=TWO_SOURCES_CATALOG).body)
    ids = [r['id'] for r in records[1:]]
    assert ids == sorted(ids)
    assert len(ids) == len(everything)
    # (A DUOS row has no `datarepo_row_id`: its entity id is its dataset's)
    assert set(ids) >= {line['value']['datarepo_row_id'] for line in everything
                        if 'datarepo_row_id' in line['value']}
    assert ids != [r for line in everything for r in [line['value'].get('datarepo_row_id')]]
