"""
Hits shaped from real aggregates of every fixture bundle, checked against the
reference API description's hit schema and against the raw bundle files they
came from.
"""
import copy
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator

from azul.plugins.metadata.hca.shape import shape_hit
from azul.plugins.repository.canned import CannedRepository
from unit.test_hca_plugin import (
    BUNDLES,
    CONTEXT,
    FIXTURES,
    all_fixture_aggregates,
    fixture_aggregates,
    fixture_sources,
)

GOLDEN = Path(__file__).parent / 'golden'
EXPOSED = ('files', 'samples', 'projects', 'bundles')
iso_date = re.compile(r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$')
camel = re.compile(r'^[a-z][a-zA-Z0-9]*$')


def _resolve(node: Any, spec: dict) -> Any:
    """The schema with every local `$ref` inlined."""
    if isinstance(node, dict):
        if '$ref' in node:
            target = spec
            for part in node['$ref'].removeprefix('#/').split('/'):
                target = target[part]
            return _resolve(target, spec)
        return {k: _resolve(v, spec) for k, v in node.items()}
    elif isinstance(node, list):
        return [_resolve(v, spec) for v in node]
    return node


@pytest.fixture(scope='module')
def hit_schemas() -> list[dict]:
    spec = json.loads((FIXTURES / 'azul-openapi' / 'service.openapi.json').read_text())
    search = spec['paths']['/index/{entity_type}']['get']['responses']['200']
    single = spec['paths']['/index/{entity_type}/{entity_id}']['get']['responses']['200']
    schemas = [
        search['content']['application/json']['schema']['properties']['hits']['items'],
        single['content']['application/json']['schema'],
    ]
    return [_resolve(s, spec) for s in schemas]


def _fixed(schema: dict) -> dict:
    """
    The reference declares `organoids` an array of strings, but the original
    service (and the Data Browser) use objects ({id, modelOrgan,
    modelOrganPart}), like every sibling array. We follow the original.
    """
    schema = copy.deepcopy(schema)
    schema['properties']['organoids']['items'] = {'type': 'object'}
    return schema


@pytest.fixture(scope='module')
def hits() -> dict[str, list[dict]]:
    aggregates = all_fixture_aggregates()
    return {
        entity_type: [shape_hit(entity_type, a.to_json(), CONTEXT)
                      for a in aggregates[entity_type]]
        for entity_type in EXPOSED
    }


def test_hits_validate_against_reference_schema(hits, hit_schemas):
    organoid_hits = 0
    for schema in hit_schemas:
        fixed = OAS30Validator(_fixed(schema))
        reference = OAS30Validator(schema)
        for entity_type, shaped in hits.items():
            assert shaped, entity_type
            for hit in shaped:
                errors = [e.message for e in fixed.iter_errors(hit)]
                assert not errors, (entity_type, hit['entryId'], errors)
                # The one deviation from the reference is the organoid objects
                paths = {tuple(e.absolute_path)[:1] for e in reference.iter_errors(hit)}
                assert paths <= {('organoids',)}
                organoid_hits += bool(hit['organoids'])
    assert organoid_hits, 'the fixtures hold organoids; some hit must show them'


def test_hit_keys(hits):
    golden = json.loads((GOLDEN / 'hca_hit_keys.json').read_text())
    common = set(golden['common'])
    for entity_type, shaped in hits.items():
        expected = common | set(golden[entity_type])
        for hit in shaped:
            assert set(hit) == expected, entity_type


def test_project_keys(hits):
    golden = json.loads((GOLDEN / 'hca_hit_keys.json').read_text())
    for hit in hits['projects']:
        [project] = hit['projects']
        assert set(project) == set(golden['project_of_projects_hit'])
        for contributor in project['contributors']:
            assert all(camel.match(k) for k in contributor), contributor
        for publication in project['publications']:
            assert all(camel.match(k) for k in publication), publication
    for hit in hits['files']:
        for project in hit['projects']:
            assert set(project) == set(golden['project_of_other_hits'])


def _raw_bundles() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(BUNDLES.rglob('*.json'))]


def _content(document: dict) -> dict:
    # v5 documents wrap the metadata in `content`
    return document.get('content', document)


@pytest.fixture(scope='module')
def raw() -> dict[str, dict]:
    manifest, titles = {}, defaultdict(set)
    for bundle in _raw_bundles():
        for entry in bundle['manifest'].values():
            if isinstance(entry, dict) and 'uuid' in entry:
                manifest[entry['uuid']] = entry
        for key, document in bundle['metadata'].items():
            if key.startswith('project/'):
                core = _content(document)['project_core']
                titles[key.split('/')[1]].add(core['project_title'])
    return {'manifest': manifest, 'titles': titles}


def test_files_match_raw_manifest(hits, raw):
    assert hits['files']
    for hit in hits['files']:
        [file] = hit['files']
        entry = raw['manifest'][file['uuid']]
        # Zarr member names are written with `!` for `/` in older bundles;
        # the original shows them with `/`
        assert (file['name'], file['size']) == (entry['name'].replace('!', '/'), entry['size'])
        assert file['sha256'] == entry['sha256']


@pytest.mark.parametrize('entity_type', ['files', 'bundles'])
def test_file_urls_point_at_this_service(hits, entity_type):
    for hit in hits[entity_type]:
        assert hit['files']
        for file in hit['files']:
            assert file['uuid'] is not None, hit['entryId']
            if file['drs_uri'] is None:
                # Nothing to download: a TDR file without a DRS object
                assert file['url'] is file['azul_url'] is None
                continue
            expected = CONTEXT.file_url(file['uuid'], file['version'])
            assert file['url'] == file['azul_url'] == expected
            assert expected.startswith(CONTEXT.service_url + '/repository/files/')
            assert f'catalog={CONTEXT.catalog}' in expected


def test_projects_match_raw_metadata(hits, raw):
    for hit in hits['projects']:
        [project] = hit['projects']
        assert project['projectId'] == hit['entryId']
        assert project['projectTitle'] in raw['titles'][hit['entryId']]
        assert project['accessible'] is True


def test_dates_are_iso_8601(hits):
    seen = 0
    for shaped in hits.values():
        for hit in shaped:
            for dates in hit['dates']:
                for name, value in dates.items():
                    for v in value if isinstance(value, list) else [value]:
                        if v is not None:
                            assert iso_date.match(v), (name, v)
                            seen += 1
    assert seen


def test_aggregate_dates_of_projects_and_bundles(hits):
    for entity_type in ('projects', 'bundles'):
        for hit in hits[entity_type]:
            [dates] = hit['dates']
            assert dates['aggregateLastModifiedDate'] is not None, hit['entryId']
            assert dates['aggregateSubmissionDate'] <= dates['aggregateLastModifiedDate']


def test_protocols_have_one_kind_each(hits):
    kinds = [{'workflow'}, {'assayType'},
             {'libraryConstructionApproach', 'nucleicAcidSource'},
             {'instrumentManufacturerModel', 'pairedEnd'}]
    for shaped in hits.values():
        for hit in shaped:
            for protocol in hit['protocols']:
                assert set(protocol) in kinds


def test_samples_hits_describe_their_sample(hits):
    for hit in hits['samples']:
        [sample] = hit['samples']
        assert sample['sampleEntityType'] in ('specimens', 'cellLines', 'organoids')
        organ = sample['organ'] if sample['sampleEntityType'] == 'specimens' \
            else sample['modelOrgan']
        assert sample['effectiveOrgan'] == organ


def test_file_type_summaries_count_the_files_of_a_project():
    """
    Within one source, the file counts of a project's summaries add up to the
    number of distinct data files in the metadata of the project's bundles
    (stitched ones included, as in the original).
    """
    repository = CannedRepository()
    checked = 0
    for source in fixture_sources():
        files_per_project = defaultdict(set)
        for fqid in repository.list_bundles(source).bundles:
            bundle = repository.fetch_bundle(source, fqid)
            [project_id] = [k.split('/')[1] for k in bundle.metadata if k.startswith('project/')]
            # Of a zarr store only the `.zattrs` members count, as in the original
            files_per_project[project_id].update(
                k for k, e in bundle.manifest.items()
                if '.zarr' not in e['name'].replace('!', '/')
                or e['name'].replace('!', '/').endswith('.zattrs'))
        for agg in fixture_aggregates(source).get('projects', ()):
            hit = shape_hit('projects', agg.to_json(), CONTEXT)
            count = sum(s['count'] for s in hit['fileTypeSummaries'])
            assert count == len(files_per_project[hit['entryId']]), hit['entryId']
            keys = [(tuple(s['contentDescription']), s['format'], s['isIntermediate'])
                    for s in hit['fileTypeSummaries']]
            assert len(keys) == len(set(keys))
            checked += 1
    assert checked


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def test_bundle_hits_name_their_bundle(hits):
    for hit in hits['bundles']:
        [bundle] = hit['bundles']
        assert bundle['bundleUuid'] == hit['entryId']
        assert [s['sourceSpec'] for s in hit['sources']] == [s['sourceId'] for s in hit['sources']]
