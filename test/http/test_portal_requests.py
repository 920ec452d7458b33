"""
The HCA Data Browser's requests (issue 9's normalized list), as it sends them,
on both backends: every answer is a 200 of the shape the portal reads, and
its paging walks each sort order without gaps, repeats or a change of order.

Expected values are the portal's expectations and the paging rules of the
original (a `next` link continues after the last hit, `previous` goes back to
the page before), not values computed by the code under test.
"""
import json
from urllib.parse import quote

import pytest

CATALOG = 'dcp'
PAGE = 25

# (entity type, sort field) pairs the portal sorts by, from its entity configs
SORTS = (
    ('projects', 'aggregateLastModifiedDate'),
    ('projects', 'projectTitle'),
    ('projects', 'effectiveCellCount'),
    ('samples', 'sampleId'),
    ('samples', 'genusSpecies'),
    ('samples', 'aggregateLastModifiedDate'),
    ('files', 'fileName'),
    ('files', 'fileSize'),
)
FILTERS = (None, {'genusSpecies': {'is': ['Homo sapiens']}})
# Files have about 1,300 hits: walking a few pages is enough there
MAX_PAGES = {'projects': 100, 'samples': 100, 'files': 4}


def _path(entity_type: str, **params) -> str:
    query = '&'.join(f'{k}={quote(str(v), safe="")}' for k, v in params.items())
    return f'/index/{entity_type}?{query}'


def test_portal_start(client):
    catalogs = client.get_json('/index/catalogs')
    assert CATALOG in catalogs['catalogs']
    progress = client.get_json(f'/health/progress?catalog={CATALOG}')
    assert progress['up'] is True
    projects = client.get_json(_path('projects', size=75, catalog=CATALOG))
    assert 0 < len(projects['hits']) <= 75
    for hit in projects['hits'][:3]:
        one = client.get_json(f'/index/projects/{hit["entryId"]}?catalog={CATALOG}')
        assert one == hit
        # The Matrices tab reads these trees, the export page the accessible facet
        assert isinstance(hit['projects'][0]['matrices'], dict)
        assert isinstance(hit['projects'][0]['contributedAnalyses'], dict)
    terms = projects['termFacets']['accessible']['terms']
    assert terms == [{'term': 'true', 'count': projects['pagination']['total']}]
    assert 'sourceId' not in projects['termFacets']


@pytest.mark.parametrize('filters', FILTERS, ids=['unfiltered', 'filtered'])
def test_portal_summary(client, filters):
    params = {'catalog': CATALOG}
    if filters is not None:
        params['filters'] = json.dumps(filters)
    summary = client.get_json(_path('summary', **params))
    for key in ('projectCount', 'specimenCount', 'speciesCount', 'fileCount',
                'totalFileSize', 'donorCount', 'labCount', 'organTypes',
                'fileTypeSummaries', 'cellCountSummaries', 'projects'):
        assert key in summary, key
    assert summary['fileCount'] == sum(s['count'] for s in summary['fileTypeSummaries'])


@pytest.mark.parametrize('order', ('asc', 'desc'))
@pytest.mark.parametrize('filters', FILTERS, ids=['unfiltered', 'filtered'])
@pytest.mark.parametrize('entity_type,sort', SORTS, ids=[f'{e}-{s}' for e, s in SORTS])
def test_portal_paging(client, entity_type, sort, order, filters):
    params = {'size': PAGE, 'catalog': CATALOG, 'order': order, 'sort': sort}
    if filters is not None:
        params['filters'] = json.dumps(filters)
    first = client.get_json(_path(entity_type, **params))
    total = first['pagination']['total']
    assert first['pagination']['previous'] is None
    pages, seen, page = [first], [], first
    while True:
        ids = [h['entryId'] for h in page['hits']]
        assert len(ids) == page['pagination']['count'] <= PAGE
        seen.extend(ids)
        next_link = page['pagination']['next']
        if next_link is None or len(pages) == MAX_PAGES[entity_type]:
            break
        page = client.follow(next_link)
        pages.append(page)
    assert len(seen) == len(set(seen)), 'a hit was repeated across pages'
    if len(pages) < MAX_PAGES[entity_type]:
        assert len(seen) == total, 'the walk missed hits'
    # Going back from every page gives the page before it, exactly
    for before, after in zip(pages, pages[1:], strict=False):
        back = client.follow(after['pagination']['previous'])
        assert [h['entryId'] for h in back['hits']] == [h['entryId'] for h in before['hits']]
