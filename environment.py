"""
Default settings of every deployment, Azul-style: each deployment's own
``deployments/<name>/environment.py`` overrides these, and an untracked
``*.local.py`` beside either file overrides both (use it for secrets).

A value may reference another variable as ``{NAME}``; ``None`` leaves the
variable unset. Variables the caller exported explicitly win over all files, so
``AZUL_INDEX_BACKEND=opensearch make run`` does what it says.

``AZUL_HOME`` (the project root) and ``AZUL_DEPLOYMENT`` (the selected
deployment) are set by the loader, ``src/azul/envfiles.py``.
"""
import json
from collections.abc import Mapping


def _hca_catalog(*sources: str | dict) -> dict:
    return {
        'atlas': 'hca',
        'internal': False,
        'plugins': {'metadata': {'name': 'hca'}, 'repository': {'name': 'canned'}},
        'sources': list(sources),
    }


def env() -> Mapping[str, str | None]:
    return {
        # Where a deployment keeps local state: the embedded index, the queue,
        # the demo catalog and manifests.
        'AZUL_DATA_DIR': '{AZUL_HOME}/.azul/{AZUL_DEPLOYMENT}',

        # The catalogs, as JSON: name -> {atlas, internal, plugins: {metadata:
        # {name}, repository: {name}}, sources: [spec, ...]}. The first catalog
        # is the default one. A canned source is a file:// URL of a directory of
        # bundle files, optionally ending in a glob such as /*.dss.hca.json.
        # The demo source's glob skips the generator's stats.json and
        # deletions.json, which are not bundles.
        'AZUL_CATALOGS': json.dumps({
            # The synthetic demo catalog that `make run` generates: every
            # fourth project is a restricted source that members of
            # `demo-consent` may read (the token of AZUL_TOKENS_FILE)
            'dcp': _hca_catalog('file://{AZUL_DATA_DIR}/demo/bundles/*Z.json',
                                {'spec': 'file://{AZUL_DATA_DIR}/demo/bundles/restricted/*Z.json',
                                 'group': 'demo-consent'}),
            # The real HCA fixture bundles beside the project (DSS form; the
            # TDR twins and the examples sharing one uuid need catalogs of
            # their own): `make reindex CATALOG=fixtures`
            'fixtures': _hca_catalog('file://{AZUL_FIXTURES}/hca/bundles/indexer/*.dss.hca.json'),
            # The synthetic AnVIL demo catalog that `make run` generates
            # (`azul synth --atlas anvil`) and indexes beside the HCA one
            'anvil': {
                'atlas': 'anvil',
                'internal': False,
                'plugins': {'metadata': {'name': 'anvil'}, 'repository': {'name': 'canned'}},
                'sources': ['file://{AZUL_DATA_DIR}/demo/anvil/*.tdr.anvil.json'],
            },
        }),

        # Bearer tokens of the `local` verifier; `make run` writes one for the
        # demo's restricted source if the file is missing
        'AZUL_TOKENS_FILE': '{AZUL_DATA_DIR}/tokens.json',

        # The shared fixtures used by the `fixtures` catalog and the tests
        'AZUL_FIXTURES': '{AZUL_HOME}/../shared/fixtures',

        # `duckdb` (embedded, the default) or `opensearch`
        'AZUL_INDEX_BACKEND': 'duckdb',

        # The DuckDB database file of the embedded backend
        'AZUL_DUCKDB_PATH': '{AZUL_DATA_DIR}/index.duckdb',

        # URL of an OpenSearch 2.x (or Elasticsearch 7.10) cluster, required
        # when AZUL_INDEX_BACKEND is `opensearch`
        'AZUL_ES_ENDPOINT': None,

        # `user:password` for HTTP basic authentication with the cluster (secret)
        'AZUL_ES_AUTH': None,

        # Seconds before a request to the cluster times out
        'AZUL_ES_TIMEOUT': '30',

        # Prefix of every index name; names are
        # {prefix}_{deployment}_{catalog}_{entity type}, so several deployments
        # and catalogs can share one cluster.
        'AZUL_INDEX_PREFIX': 'azul',

        # Interface and port of the local server (`azul serve`, `make run`)
        'AZUL_HOST': '127.0.0.1',
        'AZUL_PORT': '8000',

        # Public base URL of the service, used for absolute links in responses.
        # Unset: derived from the Host header of each request (which the local
        # server accepts only from AZUL_ALLOWED_HOSTS).
        'AZUL_SERVICE_URL': None,

        # Comma-separated host names the local server answers to, matched
        # against the Host header without its port (`*`: any). Any other Host
        # is answered 400, so links are never built from a forged Host header
        # and DNS-rebinding pages cannot reach the server. Unset: localhost,
        # 127.0.0.1, ::1, AZUL_HOST and the host of AZUL_SERVICE_URL.
        'AZUL_ALLOWED_HOSTS': None,

        # Seconds the local server waits for a client to send (or accept) data
        # before closing the connection, and how many connections it serves at
        # once (more are answered 503), so slow clients cannot hold every thread.
        'AZUL_READ_TIMEOUT': '30',
        'AZUL_MAX_CONNECTIONS': '128',

        # Host (and port) in the DRS URIs (`drs://{domain}/{uuid}?version=...`) of
        # files whose repository does not name DRS objects (DSS-style bundles).
        # Unset: the host of AZUL_SERVICE_URL, else AZUL_HOST:AZUL_PORT.
        'AZUL_DRS_DOMAIN': None,

        # The queue between indexer stages: `local` (SQLite file) or `sqs`
        'AZUL_QUEUE': 'local',
        'AZUL_QUEUE_PATH': '{AZUL_DATA_DIR}/queue.sqlite',

        # Number of synthetic bundles `make run` generates for the demo catalog
        'AZUL_DEMO_BUNDLES': '300',

        # Synthetic biosamples of the AnVIL demo catalog (`anvil`)
        'AZUL_DEMO_BIOSAMPLES': '300',

        # Limits on one request, each refused with a 400 naming it
        # (azul.core.limits): values of one `is` filter; ranges of one
        # `filters` parameter (all fields together: on OpenSearch each is a
        # query of its own, repeated under every facet); values and ranges of
        # one `filters` parameter; levels of nesting of a JSON parameter or
        # body; bytes of a request body. At these limits a request costs well
        # under a second on either backend (see the README).
        'AZUL_MAX_FILTER_TERMS': '100',
        'AZUL_MAX_FILTER_RANGES': '16',
        'AZUL_MAX_FILTER_VALUES': '256',
        'AZUL_MAX_JSON_DEPTH': '32',
        'AZUL_MAX_BODY_SIZE': '262144',

        # AWS region of SQS queues, S3 buckets and OpenSearch Service
        'AZUL_AWS_REGION': 'us-east-1',

        # Python log level
        'AZUL_LOG_LEVEL': 'INFO',
    }
