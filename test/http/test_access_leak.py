"""
No caller learns anything of what they may not read: for a caller without
access to the restricted source (anonymous, or of another group), every
response of the catalog with the restricted source (`.mixed`) equals that of
the same catalog without it (`.public`), under random filters, sizes, sorts
and orders, on both backends. Adding or removing documents the caller may
not read must change nothing they see: neither hits, nor totals, nor paging
links (whose `search_after` cursors are taken from the hits), nor any facet
count, nor the figures of /index/summary.

The expected responses are those of `.public`, never a re-implementation of
the access rules. `test_property_is_not_vacuous` shows that the two catalogs
do differ for a caller who may read the restricted source.
"""
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import pytest
from access_catalogs import CONSENTED, OTHER, TDR_FILES, bearer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CATALOG, SOURCE, ServiceClient

# The callers who may not read the restricted source
UNCONSENTED = (None, OTHER)
ENTITY_TYPES = ('files', 'samples', 'bundles')
# Candidates; those not sortable for an entity type (not answering 200 on
# `.public`) are not drawn for it
SORTS = ('fileSize', 'fileFormat', 'organ', 'projectTitle', 'lastModifiedDate')
# Facets filtered by the test itself rather than by their terms
ACCESS_FACETS = ('accessible', 'sourceId')
# A term no document has
MISSING = 'no-such-term-7f3a'
# Computed from projects, i.e. by the plugin's `projects` summary request (see
# `shape_summary` in azul.plugins.metadata.hca.summary): `projectCount`,
# `labCount` and the project cell counts (`projects`). As in the original,
# projects are not limited by access: /index/projects lists every project to
# every caller and marks whether it is accessible, and the project figures of
# the summary count them all. The shared project 116965f3 is thus counted for
# every caller, with what the restricted bundle contributed to it, and these
# figures may differ between the catalogs on purpose.
PROJECT_KEYS = frozenset({'projectCount', 'labCount', 'projects'})

SETTINGS = settings(max_examples=15, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def _headers(token: str | None) -> dict[str, str]:
    return {} if token is None else bearer(token)


def _query(params: Mapping[str, Any]) -> str:
    return '&'.join(f'{k}={quote(v if isinstance(v, str) else json.dumps(v))}'
                    for k, v in {'catalog': CATALOG, **params}.items())


def _get(client: ServiceClient, url: str, token: str | None) -> tuple[int, Any]:
    reply = client.get(url, headers=_headers(token))
    return reply.status, reply.json


# Per backend kind and entity type, drawn from `.public` once: each facet's
# terms, and the sortable fields of SORTS
_facets: dict[tuple[str, str], dict[str, list[Any]]] = {}
_sorts: dict[tuple[str, str], list[str]] = {}


def _term(term: Any, terms: list[Any]) -> Any:
    """A facet term as a filter names it: the facets spell booleans as strings."""
    booleans = {'true': True, 'false': False}
    if all(t is None or t in booleans for t in terms):
        return booleans.get(term, term)
    return term


def facet_terms(catalogs, entity_type: str) -> dict[str, list[Any]]:
    key = (catalogs.kind, entity_type)
    if key not in _facets:
        body = catalogs.public.get_json(f'/index/{entity_type}?{_query({"size": 1})}')
        facets = {}
        for name, facet in body['termFacets'].items():
            terms = [t['term'] for t in facet['terms']]
            # Ranges (organismAge) are not filtered by their terms here
            if name in ACCESS_FACETS or any(isinstance(t, dict | list) for t in terms):
                continue
            facets[name] = [_term(t, terms) for t in terms if t is not None]
        _facets[key] = {k: v for k, v in facets.items() if v}
    return _facets[key]


def sortable(catalogs, entity_type: str) -> list[str]:
    key = (catalogs.kind, entity_type)
    if key not in _sorts:
        _sorts[key] = [s for s in SORTS
                       if catalogs.public.get(f'/index/{entity_type}?'
                                              + _query({'sort': s, 'size': 1})).status == 200]
        assert _sorts[key], entity_type
    return _sorts[key]


def draw_filters(data, facets: dict[str, list[Any]]) -> dict[str, Any]:
    names = data.draw(st.lists(st.sampled_from(sorted(facets)), min_size=1, max_size=3,
                               unique=True), label='facets')
    filters: dict[str, Any] = {}
    for name in names:
        values = data.draw(st.lists(st.sampled_from(facets[name]), min_size=1, max_size=2,
                                    unique=True), label=name)
        # A boolean field's filter admits no other value
        missing = () if all(isinstance(v, bool) for v in facets[name]) else (MISSING,)
        extra = data.draw(st.sampled_from([(), (), (None,), missing]), label='extra')
        filters[name] = {'is': [*values, *extra]}
    access = data.draw(st.sampled_from([{}, {}, {'accessible': {'is': [True]}},
                                        {'sourceId': {'is': [SOURCE]}}]), label='access')
    return {**filters, **access}


@SETTINGS
@given(data=st.data())
@pytest.mark.parametrize('entity_type', ENTITY_TYPES)
def test_index_does_not_leak(access_catalogs, entity_type, data):
    facets = facet_terms(access_catalogs, entity_type)
    sorts = sortable(access_catalogs, entity_type)
    token = data.draw(st.sampled_from(UNCONSENTED), label='token')
    params: dict[str, Any] = {'filters': draw_filters(data, facets),
                              'size': data.draw(st.integers(1, 50), label='size')}
    sort = data.draw(st.sampled_from([None, *sorts]), label='sort')
    if sort is not None:
        params['sort'] = sort
    order = data.draw(st.sampled_from([None, 'asc', 'desc']), label='order')
    if order is not None:
        params['order'] = order
    url = f'/index/{entity_type}?{_query(params)}'
    expected = _get(access_catalogs.public, url, None)
    assert expected[0] == 200, expected
    actual = _get(access_catalogs.mixed, url, token)
    assert actual == expected
    # The next page, by the `search_after` cursor of the link
    status, body = expected
    link = body['pagination']['next']
    if link is not None:
        url = link.removeprefix('http://azul.test')
        expected = _get(access_catalogs.public, url, None)
        assert expected[0] == 200, expected
        assert _get(access_catalogs.mixed, url, token) == expected


@SETTINGS
@given(data=st.data())
def test_summary_does_not_leak(access_catalogs, data):
    # The summary's filters may name any field: those of every entity type
    facets = {k: v for entity_type in ENTITY_TYPES
              for k, v in facet_terms(access_catalogs, entity_type).items()}
    token = data.draw(st.sampled_from(UNCONSENTED), label='token')
    url = f'/index/summary?{_query({"filters": draw_filters(data, facets)})}'
    status, expected = _get(access_catalogs.public, url, None)
    assert status == 200, expected
    status, actual = _get(access_catalogs.mixed, url, token)
    assert status == 200, actual
    assert_same_summary(actual, expected)


def assert_same_summary(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    assert PROJECT_KEYS <= expected.keys()
    assert actual.keys() == expected.keys()
    assert ({k: v for k, v in actual.items() if k not in PROJECT_KEYS}
            == {k: v for k, v in expected.items() if k not in PROJECT_KEYS})


def test_property_is_not_vacuous(access_catalogs):
    url = f'/index/files?{_query({"size": 1})}'
    status, public = _get(access_catalogs.public, url, CONSENTED)
    assert status == 200, public
    status, mixed = _get(access_catalogs.mixed, url, CONSENTED)
    assert status == 200, mixed
    assert (mixed['pagination']['total']
            == public['pagination']['total'] + len(TDR_FILES))
    url = f'/index/summary?{_query({})}'
    status, public_summary = _get(access_catalogs.public, url, None)
    assert status == 200, public_summary
    status, mixed_summary = _get(access_catalogs.mixed, url, CONSENTED)
    assert mixed_summary['fileCount'] == public_summary['fileCount'] + len(TDR_FILES)
    # ... while the unconsented see no difference, unfiltered too
    for token in UNCONSENTED:
        assert _get(access_catalogs.mixed, f'/index/files?{_query({"size": 1})}',
                    token) == (200, public)
        status, summary = _get(access_catalogs.mixed, url, token)
        assert status == 200, summary
        assert_same_summary(summary, public_summary)
