"""/index/{entity_type}: shapes, filters, facets and paging, on both backends."""
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from service_oracle import documents, expected_ids, query, validate, validate_reference

from azul.core.filters import filter_matches, parse_filters

ENTITY_TYPES = ('files', 'samples', 'projects', 'bundles')


@pytest.mark.parametrize('entity_type', ENTITY_TYPES)
def test_search_shape(client, reference_spec, entity_type):
    body = client.get_json(f'/index/{entity_type}?size=5')
    validate_reference(reference_spec, '/index/{entity_type}', body)
    validate(client.get_json('/openapi'), '/index/{entity_type}', body)
    assert len(body['hits']) == body['pagination']['count'] == 5
    plugin = client.runtime.metadata_plugin('dcp')
    assert set(body['termFacets']) == {f.name for f in plugin.field_registry.facets}
    for hit in body['hits']:
        for key in ('protocols', 'projects', 'samples', 'specimens', 'cellLines',
                    'donorOrganisms', 'organoids', 'cellSuspensions', 'dates'):
            assert isinstance(hit[key], list), key
        inner = ('files', 'bundles') if entity_type in ('files', 'bundles') \
            else ('fileTypeSummaries',)
        for key in inner:
            assert isinstance(hit[key], list), key
        for date in hit['dates']:
            for value in date.values():
                assert value is None or 'T' in value
        for file in hit.get('files', ()):
            for key in ('url', 'azul_url'):
                url = urlsplit(file[key])
                assert (url.scheme, url.netloc) == ('http', 'azul.test')
                assert url.path == f'/repository/files/{file["uuid"]}'
                assert parse_qs(url.query) == {'catalog': ['dcp'], 'version': [file['version']]}


def test_default_sort_is_the_catalogs(client):
    catalogs = client.get_json('/index/catalogs')
    indices = catalogs['catalogs']['dcp']['plugins']['metadata']['indices']
    for entity_type in ENTITY_TYPES:
        pagination = client.get_json(f'/index/{entity_type}?size=1')['pagination']
        expected = indices[entity_type]
        assert (pagination['sort'], pagination['order']) \
            == (expected['default_sort'], expected['default_order'])


def test_entity_by_id(client, reference_spec):
    hit = client.get_json('/index/files?size=1')['hits'][0]
    entity = client.get_json(f'/index/files/{hit["entryId"]}')
    validate_reference(reference_spec, '/index/{entity_type}/{entity_id}', entity)
    assert entity == hit
    reply = client.get('/index/files/00000000-0000-4000-8000-000000000000')
    assert reply.status == 404
    assert reply.json['Code'] == 'NotFoundError'
    assert '00000000-0000-4000-8000-000000000000' in reply.json['Message']
    assert reply.header('Access-Control-Allow-Origin') == '*'


def walk(client, entity_type, size, filters=None, sort=None, order=None):
    """Every page from the first via `next`; the bodies."""
    body = client.get_json(f'/index/{entity_type}?'
                           + query(size=str(size), filters=filters, sort=sort, order=order))
    pages = [body]
    while body['pagination']['next'] is not None:
        body = client.follow(body['pagination']['next'])
        pages.append(body)
        assert len(pages) < 1000
    return pages


def ids(page):
    return [hit['entryId'] for hit in page['hits']]


# Sort fields with nulls for some entities, multi-valued ones and ties
WALKS = [
    ('samples', 13, None, None, None),
    ('samples', 17, 'modelOrgan', 'desc', None),
    ('projects', 4, 'projectEstimatedCellCount', 'asc', None),
    ('files', 25, 'fileSource', 'asc', {'fileFormat': {'is': ['fastq.gz', 'bam', None]}}),
    ('files', 40, 'matrixCellCount', 'desc', {'fileFormat': {'is': ['txt', 'tsv', 'mtx',
                                                                     'Rds', 'h5ad', 'csv']}}),
    ('bundles', 9, 'organismAgeRange', 'desc', None),
    ('files', 31, 'isIntermediate', 'asc', {'project': {'is': ['1M Immune Cells']}}),
]


@pytest.mark.parametrize('entity_type, size, sort, order, filters', WALKS)
def test_walk_next_and_previous(client, entity_type, size, sort, order, filters):
    pages = walk(client, entity_type, size, filters, sort, order)
    first = pages[0]['pagination']
    visited = [i for page in pages for i in ids(page)]
    assert len(visited) == len(set(visited)) == first['total']
    assert len(pages) == first['pages']
    assert visited == expected_ids(client.runtime, entity_type, filters or {},
                                   first['sort'], first['order'])
    for page in pages:
        pagination = page['pagination']
        assert (pagination['sort'], pagination['order'], pagination['size']) \
            == (first['sort'], first['order'], size)
    # And back again from the last page
    body = pages[-1]
    for expected in reversed(pages[:-1]):
        body = client.follow(body['pagination']['previous'])
        assert ids(body) == ids(expected)
        assert body['termFacets'] == expected['termFacets']
    assert body['pagination']['previous'] is None


def test_cursor_alone_is_enough(client):
    # A client that keeps only the cursor value, not the whole link
    body = client.get_json('/index/samples?size=5&sort=modelOrgan&order=desc')
    cursor = parse_qs(urlsplit(body['pagination']['next']).query)['search_after'][0]
    second = client.get_json('/index/samples?' + query(size='5', sort='modelOrgan',
                                                       order='desc', search_after=cursor))
    expected = expected_ids(client.runtime, 'samples', {}, 'modelOrgan', 'desc')
    assert ids(second) == expected[5:10]
    # The deprecated two-parameter form of the same cursor
    value, uid = json.loads(cursor)
    third = client.get_json('/index/samples?' + query(size='5', sort='modelOrgan', order='desc',
                                                      search_after=json.dumps(value),
                                                      search_after_uid=uid))
    assert ids(third) == ids(second)


def facet_terms(body, facet):
    return {json.dumps(t['term']): t for t in body['termFacets'][facet]['terms']}


@pytest.mark.parametrize('facet', ['fileFormat', 'organ', 'genusSpecies', 'isIntermediate',
                                   'project', 'organismAge', 'pairedEnd', 'sampleEntityType'])
def test_facet_counts_equal_filtered_totals(client, facet):
    body = client.get_json('/index/files?size=1')
    terms = body['termFacets'][facet]['terms']
    assert terms, facet
    assert body['termFacets'][facet]['total'] == body['pagination']['total']
    for term in terms[:6] + terms[-2:]:
        filters = {facet: {'is': [term['term']]}}
        filtered = client.get_json('/index/files?' + query(size='1', filters=filters))
        assert filtered['pagination']['total'] == term['count'], term
        # The facet's own filter does not hide its other terms
        assert filtered['termFacets'][facet] == body['termFacets'][facet]


def test_facet_counts_under_other_filters(client):
    filters = {'genusSpecies': {'is': ['Homo sapiens']}, 'fileFormat': {'is': ['fastq.gz']}}
    body = client.get_json('/index/files?' + query(size='1', filters=filters))
    alone = client.get_json('/index/files?' + query(size='1', filters={
        'fileFormat': {'is': ['fastq.gz']}}))
    # genusSpecies counts ignore the genusSpecies filter but honour fileFormat's
    assert body['termFacets']['genusSpecies'] == alone['termFacets']['genusSpecies']
    for term in body['termFacets']['organ']['terms']:
        both = {**filters, 'organ': {'is': [term['term']]}}
        total = client.get_json('/index/files?' + query(size='1', filters=both))
        assert total['pagination']['total'] == term['count']


def test_project_terms_carry_project_ids(client):
    body = client.get_json('/index/projects?size=100')
    by_name = {}
    for hit in body['hits']:
        for project in hit['projects']:
            by_name.setdefault(project['projectShortname'], set()).add(project['projectId'])
    terms = body['termFacets']['project']['terms']
    assert {t['term'] for t in terms} == set(by_name)
    for term in terms:
        assert term['projectId'] == sorted(by_name[term['term']])
    # Names shared by several projects exist in the fixtures
    assert any(len(t['projectId']) > 1 for t in terms)


FILTERS = [
    {'fileFormat': {'is': ['fastq.gz', 'bam']}},
    {'fileFormat': {'is': ['unknown', None]}},
    {'fileSource': {'is': [None]}},
    {'isIntermediate': {'is': ['false']}},
    {'isIntermediate': {'is': [False, None]}},
    {'pairedEnd': {'is': [True]}},
    {'fileSize': {'within': [[1000, 1000000]]}},
    {'fileSize': {'is': [148]}},
    {'matrixCellCount': {'within': [[1, 100000]]}},
    {'organismAgeRange': {'within': [[0, 1e9]]}},
    {'organismAgeRange': {'contains': [[1702944000, 1702944000]]}},
    {'organismAgeRange': {'contains': [914544000]}},
    {'organismAgeRange': {'intersects': [[0, 3.2e7]]}},
    {'organismAge': {'is': [{'value': '54', 'unit': 'year'}]}},
    {'organismAge': {'is': [None]}},
    {'submissionDate': {'is': ['2018-10-24T23:35:49.762000Z']}},
    {'projectTitle': {'is': ['1.3 Million Brain Cells from E18 Mice']}},
    {'genusSpecies': {'is': ['Homo sapiens']}, 'organ': {'is': ['pancreas', 'blood']}},
]


@pytest.mark.parametrize('filters', FILTERS, ids=lambda f: json.dumps(f))
def test_filter_relations(client, filters):
    runtime = client.runtime
    registry = runtime.metadata_plugin('dcp').field_registry
    parsed = parse_filters(filters, registry)
    expected = {d.entity_id for d in documents(runtime, 'files')
                if filter_matches(parsed, d.fields)}
    assert expected, 'a filter test must match something'
    pages = walk(client, 'files', 1000, filters)
    assert {i for page in pages for i in ids(page)} == expected
    assert pages[0]['pagination']['total'] == len(expected)


def test_form_encoded_query(client):
    filters = {'projectTitle': {'is': ['1.3 Million Brain Cells from E18 Mice']}}
    encoded = json.dumps(filters).replace(' ', '+')
    body = client.get_json('/index/projects?filters=' + encoded)
    assert body['pagination']['total'] == 1
    assert body['hits'][0]['projects'][0]['projectTitle'] == filters['projectTitle']['is'][0]


def test_post_equals_get(client):
    filters = {'organ': {'is': ['blood']}}
    get = client.get_json('/index/samples?' + query(size='3', filters=filters))
    for body in ({'filters': filters, 'size': 3}, {'filters': json.dumps(filters), 'size': '3'}):
        reply = client.post('/index/samples', body=body)
        assert reply.status == 200, reply.body
        assert reply.json == get
    # Parameters may also be split between query string and body
    reply = client.post('/index/samples?size=3', body={'filters': filters})
    assert reply.json == get


def test_head(client):
    assert client.request('HEAD', '/index/files?size=1').status == 200
    assert client.request('HEAD', '/index/summary').status == 200
