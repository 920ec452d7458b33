"""
A catalog with one open and one restricted source, indexed once per backend
and session, and the same catalog without the restricted source (for the
tests that no caller learns anything of what they may not read).

The open source is the DSS fixture bundles; the restricted one is the TDR
bundle 4426adc5, readable by the group `consent-1`. That bundle shares
nothing with the open ones but its project, 116965f3 (Reprogrammed Dendritic
Cells, also in the DSS bundle 1b6d8348), which is thus an entity of both
sources. Its own files, read off the fixture file by hand, are
`TDR_FILES`.
"""
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from azul.runtime import Runtime
from conftest import (
    CATALOG,
    SOURCE,
    TDR_SOURCE,
    ServiceClient,
    catalog_spec,
    index_sources,
    make_config,
)

GROUP = 'consent-1'
# Tokens of the token file: a member of the group, a caller of another group,
# and a member whose token expired
CONSENTED = 'token-consented'
OTHER = 'token-other-group'
EXPIRED = 'token-expired'
TOKENS = {
    CONSENTED: {'subject': 'alice@example.org', 'groups': [GROUP]},
    OTHER: {'subject': 'bob@example.org', 'groups': ['another-group']},
    EXPIRED: {'subject': 'carol@example.org', 'groups': [GROUP],
              'expires': '2020-01-01T00:00:00Z'},
}
# The files the restricted bundle contributes as its own: of its `manifest`,
# every file but those its `stitched` list names (borrowed from other
# subgraphs), i.e. the analysis file b8b76328 (the .bam.bai), whose data file
# has this uuid and a DRS URI
TDR_FILES = frozenset({'23b7f3f8-b707-5f3c-b8e6-9173efa9dcf8'})
TDR_FILE_ENTITY = 'b8b76328-854c-5862-a688-9b761a9cea86'
SHARED_PROJECT = '116965f3-f094-4769-9d28-ae675c1b569c'
TDR_BUNDLE = '4426adc5-b3c5-5aab-ab86-51d8ce44dfbe'


def bearer(token: str) -> dict[str, str]:
    return {'Authorization': f'Bearer {token}'}


@attrs.frozen
class AccessCatalogs:
    kind: str
    #: Serves the catalog of both sources
    mixed: ServiceClient
    #: Serves the catalog of the open source only
    public: ServiceClient


def _runtime(kind: str, data_dir: Path, sources: list[Any]) -> Runtime:
    tokens = data_dir / 'tokens.json'
    tokens.write_text(json.dumps(TOKENS))
    deployment = 't' + uuid.uuid4().hex[:10]
    config = make_config(kind, data_dir, deployment,
                         catalogs={CATALOG: catalog_spec(sources)},
                         extra_env={'AZUL_TOKENS_FILE': str(tokens)})
    runtime = Runtime(config)
    index_sources(runtime, CATALOG, [s if isinstance(s, str) else s['spec'] for s in sources])
    return runtime


@pytest.fixture(scope='session', params=('duckdb', 'opensearch'))
def access_catalogs(request, tmp_path_factory, app_module) -> Iterator[AccessCatalogs]:
    kind = request.param
    if kind == 'opensearch':
        request.getfixturevalue('es_endpoint')
    runtimes = []
    try:
        for name, sources in (('mixed', [SOURCE, {'spec': TDR_SOURCE, 'group': GROUP}]),
                              ('public', [SOURCE])):
            runtimes.append(_runtime(kind, tmp_path_factory.mktemp(f'access-{name}-{kind}'),
                                     sources))
        mixed, public = (ServiceClient(app_module.create_app(lambda r=r: r), r)
                         for r in runtimes)
        yield AccessCatalogs(kind, mixed, public)
    finally:
        for runtime in runtimes:
            runtime.backend.drop_deployment()
            runtime.backend.close()
