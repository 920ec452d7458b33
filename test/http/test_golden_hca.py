"""
Golden HCA responses: our /index answers for the fixture bundles the original
Azul's service tests index, compared to the values those tests pin.

Every golden file in `golden/hca/` names a catalog, a request and its
expectations; where each value comes from is in the file's `_comment` and in
`golden/hca/README.md`. The catalogs index exactly the bundle set of the
original test class that pins the values (project aggregates depend on it), on
both backends, through the real indexer; the service app answers over its
Chalice test client.

A bundle's version is the one the original test names. Most fixture files carry
no version in their names, so each catalog is a temporary directory of
symbolic links named `<uuid>.<version>.dss.hca.json` pointing at the fixture
files (nothing is copied).
"""
import json
import os
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import attrs
import pytest

from azul.config import Config
from azul.indexer.index import Indexer
from azul.runtime import Runtime
from conftest import FIXTURES, ServiceClient, catalog_spec, load_app_module, make_config

GOLDEN = Path(__file__).resolve().parent / 'golden' / 'hca'
INDEXER_BUNDLES = FIXTURES / 'hca' / 'bundles' / 'indexer'
BACKENDS = ('duckdb', 'opensearch')
# Where the server is reached in these tests; `{SERVICE}` in a golden file
SERVICE = 'http://azul.test'
# Passed to the config as AZUL_DRS_DOMAIN; `{DRS_DOMAIN}` in a golden file
DRS_DOMAIN = 'drs.azul.test'

AAA96233 = ('aaa96233-bf27-44c7-82df-b4dc15ad4d9d', '2018-11-02T11:33:44.698028Z')

# Catalog name → the bundles (uuid, version) of one test class of the original
# (test/service/test_response.py); the first bundle of most classes comes from
# the base class, WebServiceTestCase.bundles().
CATALOGS: Mapping[str, tuple[tuple[str, str], ...]] = {
    # TestResponse
    'response': (
        AAA96233,
        ('fa5be5eb-2d64-49f5-8ed8-bd627ac9bc7a', '2019-02-14T19:24:38.034764Z'),
        ('d0e17014-9a58-4763-9e66-59894efbdaa8', '2018-10-03T14:41:37.044509Z'),
        ('e0ae8cfa-2b51-4419-9cde-34df44c6458a', '2018-12-05T23:09:17.591044Z'),
        ('411cd8d5-5990-43cd-84cc-6c7796b8a76d', '2018-10-18T20:46:55.866661Z'),
        ('412cd8d5-5990-43cd-84cc-6c7796b8a76d', '2018-10-18T20:46:55.866661Z'),
        ('ffac201f-4b1c-4455-bd58-19c1a9e863b4', '2019-10-09T17:07:35.528600Z'),
    ),
    # TestFileTypeSummaries
    'filetypes': (
        AAA96233,
        ('fce68057-b0f0-5d11-b9a7-30e8fa3259a8', '2021-02-09T01:30:00.000000Z'),
    ),
    # TestResponseInnerEntitySamples
    'innersamples': (
        AAA96233,
        ('1b6d8348-d6e9-406a-aa6a-7ee886e52bf9', '2019-10-03T10:55:24.911627Z'),
        ('411cd8d5-5990-43cd-84cc-6c7796b8a76d', '2018-10-18T20:46:55.866661Z'),
    ),
    # TestSchemaTestDataCannedBundle (no aaa96233)
    'schema': tuple(
        (bundle_uuid, '2021-01-01T00:00:00.000000Z')
        for bundle_uuid in ('1f6afb64-fa14-5c6f-a474-a742540108a3',
                            '3ac62c33-93e1-56b4-b857-59497f5d942d',
                            '4da04038-adab-59a9-b6c4-3a61242cc972',
                            '8c1773c3-1885-545f-9381-0dab1edf6074',
                            'd7b8cbff-aee9-5a05-a4a1-d8f4e720aee7',
                            '1ed68210-eaba-531d-ba9e-db80164d65ef',
                            '7a330531-ec7f-5aee-84d4-2ba24d66e93b')
    ),
    # TestSortAndFilterByCellCount (no aaa96233)
    'cellcounts': (
        ('97f0cc83-f0ac-417a-8a29-221c77debde8', '2019-10-14T19:54:15.397406Z'),
        ('8c90d4fe-9a5d-4e3d-ada2-0414b666b880', '2019-10-14T19:54:15.397546Z'),
        ('fa5be5eb-2d64-49f5-8ed8-bd627ac9bc7a', '2019-02-14T19:24:38.034764Z'),
        ('411cd8d5-5990-43cd-84cc-6c7796b8a76d', '2018-10-18T20:46:55.866661Z'),
        ('2c7d06b8-658e-4c51-9de4-a768322f84c5', '2021-09-21T17:27:23.898000Z'),
        ('d7b8cbff-aee9-5a05-a4a1-d8f4e720aee7', '2021-01-01T00:00:00.000000Z'),
    ),
    # TestProjectMatrices
    'matrices': (
        AAA96233,
        ('4b03c1ce-9df1-5cd5-a8e4-48a2fe095081', '2021-02-10T16:56:40.419579Z'),
        ('8338b891-f3fa-5e7b-885f-e4ee5689ee15', '2020-12-03T10:39:17.144517Z'),
        ('7eb74d9f-8346-5420-b7e4-b486f99451a8', '2020-02-03T10:30:00.000000Z'),
        ('00f48893-5e9d-52cd-b32d-af88edccabfa', '2020-02-03T10:30:00.000000Z'),
        ('04836733-0449-4e57-be2e-6f3b8fbdfb12', '2021-05-10T23:25:12.412000Z'),
    ),
    # TestResponseFields (no aaa96233)
    'fields': (
        ('94f2ba52-30c8-4de0-a78e-f95a3f8deb9c', '2019-04-03T10:34:26.471000Z'),
        ('2c7d06b8-658e-4c51-9de4-a768322f84c5', '2021-09-21T17:27:23.898000Z'),
        ('00f48893-5e9d-52cd-b32d-af88edccabfa', '2020-02-03T10:30:00.000000Z'),
        ('80baee6e-00a5-4fdc-bfe3-d339ff8a7178', '2021-03-12T22:43:32.330000Z'),
    ),
    # A v5 bundle (2018, wrapped documents, edge-list links), for a hit
    # assembled by hand (v5_17a3d288_file_hit.json); the version is the one
    # the original's test_indexer.py test_mapper_parsing gives it
    'v5': (
        ('17a3d288-01a0-464a-9599-7375fda3353d', '2018-03-28T15:10:23.074974Z'),
    ),
    # test/indexer/test_indexer.py, test_indexing_matrix_related_files and
    # test_indexing_with_skipped_matrix_file (the zarr bundle alone)
    'zarr': (
        ('587d74b4-1075-4bbf-b96a-4d1ede0481b2', '2018-10-10T02:23:43.182000Z'),
    ),
}


def fixture_file(bundle_uuid: str, version: str) -> Path:
    """The DSS-form fixture file of a bundle (the one with that version, if several)."""
    versioned = INDEXER_BUNDLES / f'{bundle_uuid}.{version}.dss.hca.json'
    if versioned.exists():
        return versioned
    plain = INDEXER_BUNDLES / f'{bundle_uuid}.dss.hca.json'
    assert plain.exists(), (bundle_uuid, version)
    return plain


def link_catalog(directory: Path, bundles: tuple[tuple[str, str], ...]) -> str:
    """A canned source of links to the given bundles, named with their versions."""
    directory.mkdir(parents=True)
    for bundle_uuid, version in bundles:
        link = directory / f'{bundle_uuid}.{version}.dss.hca.json'
        link.symlink_to(fixture_file(bundle_uuid, version))
    return f'file://{directory}/*.dss.hca.json'


def make_golden_config(kind: str, data_dir: Path, deployment: str,
                       sources: Mapping[str, str]) -> Config:
    """Like conftest.make_config, with the golden catalogs, one source each."""
    catalogs = {name: catalog_spec([source]) for name, source in sources.items()}
    # The host of the drs:// URIs of DSS files (a config without this setting
    # ignores it, and the drs_uri values then differ)
    return make_config(kind, data_dir, deployment, catalogs=catalogs,
                       extra_env={'AZUL_DRS_DOMAIN': DRS_DOMAIN})


# Keys of ours that no golden pins: `azul_url` is an extra of our API (the
# original's link to a file is `url`)
ALLOWED_EXTRAS = ('azul_url',)


@attrs.frozen
class Golden:
    name: str
    catalog: str
    request: str
    expect: Mapping[str, Any]
    unordered: tuple[str, ...]
    drop: tuple[str, ...]


def load_goldens() -> list[Golden]:
    goldens = []
    for path in sorted(GOLDEN.glob('*.json')):
        body = json.loads(path.read_text())
        goldens.append(Golden(name=path.stem,
                              catalog=body['catalog'],
                              request=body['request'],
                              expect=body['expect'],
                              unordered=tuple(body.get('unordered', ())),
                              drop=ALLOWED_EXTRAS + tuple(body.get('drop', ()))))
    return goldens


GOLDENS = load_goldens()


@attrs.frozen
class GoldenService:
    kind: str
    runtime: Runtime
    client: ServiceClient
    sources: Mapping[str, str]
    # Catalog → why indexing it failed
    failures: Mapping[str, str]


@pytest.fixture(scope='module', params=BACKENDS)
def golden_service(request, tmp_path_factory) -> Iterator[GoldenService]:
    kind = request.param
    if kind == 'opensearch':
        request.getfixturevalue('es_endpoint')
    data_dir = tmp_path_factory.mktemp(f'golden-{kind}')
    sources = {name: link_catalog(data_dir / 'bundles' / name, bundles)
               for name, bundles in CATALOGS.items()}
    deployment = 't' + uuid.uuid4().hex[:10]
    runtime = Runtime(make_golden_config(kind, data_dir, deployment, sources))
    backend = runtime.backend
    try:
        indexer = Indexer(runtime)
        failures = {}
        for catalog, source in sources.items():
            indexer.create_indices(catalog)
            listing = runtime.repository_plugin(catalog).list_bundles(source)
            assert not listing.problems, listing.problems
            listed = {(fqid.uuid, fqid.version) for fqid in listing.bundles}
            # The links carry the versions, so the listing must name exactly them
            assert listed == set(CATALOGS[catalog]), (catalog, listed)
            try:
                indexer.index_bundles(catalog, source, listing.bundles)
            except Exception as e:
                # A fault of the code under test: only this catalog's goldens fail
                failures[catalog] = f'{type(e).__name__}: {e}'
        client = ServiceClient(load_app_module().create_app(lambda: runtime), runtime)
        yield GoldenService(kind, runtime, client, sources, failures)
    finally:
        backend.drop_deployment()
        backend.close()


def drs_domain(config: Config) -> str:
    return getattr(config, 'drs_domain', None) or os.environ.get('AZUL_DRS_DOMAIN') or DRS_DOMAIN


def substitute(value: Any, placeholders: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for placeholder, replacement in placeholders.items():
            value = value.replace(placeholder, replacement)
        return value
    elif isinstance(value, list):
        return [substitute(v, placeholders) for v in value]
    elif isinstance(value, dict):
        return {k: substitute(v, placeholders) for k, v in value.items()}
    else:
        return value


def select(document: Any, pointer: str) -> Any:
    """
    The value at a JSON pointer; a `*` step maps the rest of the pointer over
    every element of a list, an `@keys` step yields the sorted keys of an
    object. An absent key reads as the string `<absent>`, so that a missing
    value shows in the diff instead of stopping the test.
    """
    steps = [step.replace('~1', '/').replace('~0', '~')
             for step in pointer.split('/')[1:]] if pointer else []

    def walk(node: Any, rest: list[str]) -> Any:
        if not rest:
            return node
        step, rest = rest[0], rest[1:]
        if step == '@keys':
            return sorted(node) if isinstance(node, dict) else f'<not an object: {node!r:.80}>'
        if step == '*':
            if not isinstance(node, list):
                return f'<not a list: {node!r:.80}>'
            return [walk(item, rest) for item in node]
        if isinstance(node, list):
            try:
                return walk(node[int(step)], rest)
            except (ValueError, IndexError):
                return '<absent>'
        if isinstance(node, dict):
            return walk(node[step], rest) if step in node else '<absent>'
        return '<absent>'

    return walk(document, steps)


def without(value: Any, keys: tuple[str, ...]) -> Any:
    """`value` without the given keys in any object, at any depth."""
    if isinstance(value, list):
        return [without(v, keys) for v in value]
    elif isinstance(value, dict):
        return {k: without(v, keys) for k, v in value.items() if k not in keys}
    else:
        return value


def canonical(value: Any) -> Any:
    """
    Order-insensitive form of a value: every list in it sorted, at any depth
    (for expectations marked unordered, where the original's test compares
    with `assertElasticEqual` or a set, or pins no order).
    """
    if isinstance(value, list):
        return sorted(map(canonical, value), key=_identity)
    elif isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    return value


# Keys that identify an object among its siblings, so that sorting pairs our
# object with the expected one even where their other values differ
IDENTITY_KEYS = ('entryId', 'uuid', 'bundleUuid', 'name', 'email', 'contactName', 'id',
                 'format', 'sampleEntityType', 'term', 'organType', 'projects')


def _identity(value: Any) -> tuple[str, str]:
    if isinstance(value, dict):
        for key in IDENTITY_KEYS:
            if key in value:
                return json.dumps(value[key], sort_keys=True), json.dumps(value, sort_keys=True)
    return '', json.dumps(value, sort_keys=True)


def differences(actual: Any, expected: Any, path: str = '') -> list[str]:
    """Readable differences, one line per differing leaf path."""
    if isinstance(actual, dict) and isinstance(expected, dict):
        lines = []
        for key in sorted(set(actual) | set(expected), key=str):
            here = f'{path}/{key}'
            if key not in actual:
                lines.append(f'{here}: missing, expected {json.dumps(expected[key])[:300]}')
            elif key not in expected:
                lines.append(f'{here}: unexpected {json.dumps(actual[key])[:300]}')
            else:
                lines.extend(differences(actual[key], expected[key], here))
        return lines
    elif isinstance(actual, list) and isinstance(expected, list):
        if actual != expected and all(map(_is_scalar, actual + expected)):
            # One line for a list of scalars with other members; an order
            # difference shows item by item below
            missing = [v for v in expected if v not in actual]
            extra = [v for v in actual if v not in expected]
            if missing or extra:
                return [f'{path}: ours lacks {json.dumps(missing)[:300]}, '
                        f'has extra {json.dumps(extra)[:300]}']
        lines = []
        if len(actual) != len(expected):
            lines.append(f'{path}: {len(actual)} items, expected {len(expected)}')
        for i, (a, e) in enumerate(zip(actual, expected, strict=False)):
            lines.extend(differences(a, e, f'{path}/{i}'))
        return lines
    elif actual == expected and type(actual) is type(expected):
        return []
    elif (isinstance(actual, int | float) and isinstance(expected, int | float)
          and not isinstance(actual, bool) and not isinstance(expected, bool)
          and actual == expected):
        # 1 == 1.0: JSON numbers; the original's tests compare them equal too
        return []
    else:
        return [f'{path}: ours {json.dumps(actual)[:300]}, expected {json.dumps(expected)[:300]}']


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def request_path(golden: Golden) -> str:
    path = golden.request
    separator = '&' if '?' in path else '?'
    return f'{path}{separator}{urlencode({"catalog": golden.catalog})}'


@pytest.mark.parametrize('golden', GOLDENS, ids=[g.name for g in GOLDENS])
def test_golden(golden_service: GoldenService, golden: Golden):
    placeholders = {
        '{SOURCE}': golden_service.sources[golden.catalog],
        '{DRS_DOMAIN}': drs_domain(golden_service.runtime.config),
        '{SERVICE}': SERVICE,
        '{CATALOG}': golden.catalog,
    }
    failure = golden_service.failures.get(golden.catalog)
    assert failure is None, f'Indexing catalog {golden.catalog!r} failed: {failure}'
    reply = golden_service.client.get(request_path(golden))
    assert reply.status == 200, (request_path(golden), reply.status, reply.body[:2000])
    body = reply.json
    body = without(body, golden.drop)
    problems = []
    for pointer, expected in golden.expect.items():
        expected = substitute(expected, placeholders)
        actual = select(body, pointer)
        if pointer in golden.unordered:
            actual, expected = canonical(actual), canonical(expected)
        problems.extend(differences(actual, expected, pointer))
    assert not problems, (f'{golden.name} on {golden_service.kind}: '
                          f'{len(problems)} differences\n' + '\n'.join(problems))


def test_goldens_are_well_formed():
    """Every golden file names a known catalog and says where its values come from."""
    assert GOLDENS
    for path in sorted(GOLDEN.glob('*.json')):
        body = json.loads(path.read_text())
        assert body['catalog'] in CATALOGS, path.name
        assert body.get('_comment'), path.name
        assert body['request'].startswith('/index/'), path.name
        assert 'catalog=' not in body['request'], path.name
        assert body['expect'], path.name
        assert all(p == '' or p.startswith('/') for p in body['expect']), path.name
        assert set(body.get('unordered', ())) <= set(body['expect']), path.name

