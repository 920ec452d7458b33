"""
Typed, validated settings, built once from the environment.

Every setting is one row of `SETTINGS`: its variable, how to parse it, whether
it is secret, and a description. `Config.from_env` reads them all or fails with
a `ConfigError` naming the variable and the problem, so a bad deployment stops
at start-up rather than at the first request. `test_config.py` checks that every
row appears in the README.
"""
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import attrs
from furl import furl

from azul.core.limits import Limits
from azul.errors import ConfigError
from azul.masking import mask_credentials

catalog_name_re = re.compile(r'^[a-z][a-z0-9]{1,63}$')

# The first path segments of service routes: the local server serves the
# indexer's POST /{catalog}/{action} on the same port, so a catalog may not
# share a name with them.
reserved_catalog_names = frozenset({'index', 'manifest', 'fetch', 'repository', 'health',
                                    'version', 'openapi', 'static'})

atlases = ('hca', 'anvil')
metadata_plugins = ('hca', 'anvil')
repository_plugins = ('canned', 'tdr_hca', 'tdr_anvil')

BackendKind = Literal['duckdb', 'opensearch']


@attrs.frozen
class Catalog:
    name: str
    atlas: str
    internal: bool
    metadata_plugin: str
    repository_plugin: str
    sources: tuple[str, ...]
    #: (source, group) of every source that only members of the group may
    #: read; the other sources are public
    groups: tuple[tuple[str, str], ...] = ()

    def group(self, source: str) -> str | None:
        """The group that may read `source`, None if it is public."""
        return dict(self.groups).get(source)

    @property
    def restricted(self) -> bool:
        return bool(self.groups)


#: Where a setting applies: `local` (the local server and the CLI, which runs
#: on a machine, also against a deployment), `lambda` (the Lambda functions of
#: an AWS deployment), or `both`
Scope = Literal['local', 'lambda', 'both']


@attrs.frozen
class Setting:
    name: str
    parse: Callable[[str, Mapping[str, str]], Any]
    description: str
    required: bool = True
    secret: bool = False
    scope: Scope = 'both'

    def applies(self, lambda_: bool) -> bool:
        return self.scope == 'both' or (self.scope == 'lambda') == lambda_


def on_lambda(env: Mapping[str, str]) -> bool:
    """Whether `env` is the environment of a Lambda function (AWS sets this)."""
    return bool(env.get('AWS_LAMBDA_FUNCTION_NAME'))


def _str(value: str, _env) -> str:
    if not value:
        raise ValueError('must not be empty')
    return value


def _int_between(lo: int, hi: int) -> Callable[[str, Mapping[str, str]], int]:
    def parse(value: str, _env) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f'{value!r} is not an integer') from None
        if not lo <= number <= hi:
            raise ValueError(f'{number} is not between {lo} and {hi}')
        return number
    return parse


def _choice(*choices: str) -> Callable[[str, Mapping[str, str]], str]:
    def parse(value: str, _env) -> str:
        if value not in choices:
            raise ValueError(f'{value!r} is not one of {", ".join(choices)}')
        return value
    return parse


def _url(value: str, _env) -> str:
    url = furl(value)
    if url.scheme not in ('http', 'https') or not url.host:
        raise ValueError(f'{value!r} is not an http(s) URL with a host')
    return str(url).rstrip('/')


def _memory_size(value: str, _env: Mapping[str, str]) -> str:
    # Checked here, so that a mistyped size fails when the settings are read
    if not re.fullmatch(r'[0-9]{1,6}(\.[0-9]{1,3})? ?(KB|MB|GB|TB|KiB|MiB|GiB|TiB)', value):
        raise ValueError(f'{value!r} is not a size such as 512MB or 2GB')
    return value


def _bool(value: str, _env) -> bool:
    if value not in ('true', 'false'):
        raise ValueError(f'{value!r} is not `true` or `false`')
    return value == 'true'


def _service_account(value: str, _env) -> str:
    # The message never quotes the value: it is a private key
    try:
        key = json.loads(value)
    except ValueError:
        raise ValueError('is not JSON (expected the JSON key of a service account)') from None
    if not isinstance(key, dict) or key.get('type') != 'service_account':
        raise ValueError('is not the JSON key of a service account (`type` must be '
                         '`service_account`)')
    missing = [k for k in ('client_email', 'private_key', 'token_uri') if not key.get(k)]
    if missing:
        raise ValueError(f'lacks {", ".join(missing)}')
    return value


def _path(value: str, _env) -> Path:
    return Path(_str(value, _env))


def _auth(value: str, _env) -> str:
    if ':' not in value:
        raise ValueError('must be of the form user:password')
    return value


def _log_level(value: str, _env) -> str:
    return _choice('DEBUG', 'INFO', 'WARNING', 'ERROR')(value.upper(), _env)


def parse_catalogs(value: str, _env=None) -> tuple[Catalog, ...]:
    try:
        spec = json.loads(value)
    except json.JSONDecodeError as e:
        raise ValueError(f'not valid JSON: {e}') from None
    if not isinstance(spec, dict) or not spec:
        raise ValueError('must be a non-empty JSON object mapping catalog names to catalogs')
    return tuple(_parse_catalog(name, body) for name, body in spec.items())


def _parse_catalog(name: str, body: Any) -> Catalog:
    where = f'catalog {name!r}'
    if not catalog_name_re.match(name):
        raise ValueError(f'{where}: a name must be 2 to 64 lowercase letters or digits, '
                         f'starting with a letter')
    if name in reserved_catalog_names:
        raise ValueError(f'{where}: the name is reserved for a route of the service')
    if not isinstance(body, dict):
        raise ValueError(f'{where}: must be a JSON object')
    unknown = set(body) - {'atlas', 'internal', 'plugins', 'sources'}
    if unknown:
        raise ValueError(f'{where}: unknown keys {sorted(unknown)}')

    def get(key: str, kind: type, *path: str) -> Any:
        value = body
        for part in (key, *path):
            if not isinstance(value, dict) or part not in value:
                raise ValueError(f'{where}: missing {".".join((key, *path))}')
            value = value[part]
        if not isinstance(value, kind):
            raise ValueError(f'{where}: {".".join((key, *path))} must be a {kind.__name__}')
        return value

    atlas = get('atlas', str)
    if atlas not in atlases:
        raise ValueError(f'{where}: unknown atlas {atlas!r} (one of {", ".join(atlases)})')
    metadata = get('plugins', str, 'metadata', 'name')
    if metadata not in metadata_plugins:
        raise ValueError(f'{where}: unknown metadata plugin {metadata!r} '
                         f'(one of {", ".join(metadata_plugins)})')
    repository = get('plugins', str, 'repository', 'name')
    if repository not in repository_plugins:
        raise ValueError(f'{where}: unknown repository plugin {repository!r} '
                         f'(one of {", ".join(repository_plugins)})')
    sources, groups = [], []
    for source in get('sources', list):
        # A public source is its spec; a restricted one names the group that may read it
        if isinstance(source, dict):
            unknown = set(source) - {'spec', 'group'}
            spec, group = source.get('spec'), source.get('group')
            if unknown or not isinstance(group, str) or not group:
                raise ValueError(f'{where}: a restricted source must be an object with '
                                 f'`spec` and `group`, a non-empty string')
            source = spec
            groups.append((spec, group))
        if not isinstance(source, str) or not source:
            raise ValueError(f'{where}: every source must be a non-empty string, or an '
                             f'object with `spec` and `group`')
        if source in sources:
            raise ValueError(f'{where}: source {source!r} is listed twice')
        sources.append(source)
        if repository == 'canned' and furl(source).scheme not in ('file', 'http', 'https'):
            raise ValueError(f'{where}: canned source {source!r} must be a file:// '
                             f'or http(s):// URL')
        if repository.startswith('tdr_'):
            from azul.plugins.repository.tdr.spec import TDRSourceSpec
            try:
                TDRSourceSpec.parse(source)
            except ValueError as e:
                raise ValueError(f'{where}: {e}') from None
    return Catalog(name=name,
                   atlas=atlas,
                   internal=get('internal', bool),
                   metadata_plugin=metadata,
                   repository_plugin=repository,
                   sources=tuple(sources),
                   groups=tuple(groups))


SETTINGS: tuple[Setting, ...] = (
    Setting('AZUL_DEPLOYMENT', _str, 'Name of the selected deployment (a folder under '
                                     'deployments/)'),
    Setting('AZUL_DATA_DIR', _path, 'Directory for local state: embedded index, queue, demo '
                                    'catalog, manifests', scope='local'),
    Setting('AZUL_CATALOGS', parse_catalogs, 'The catalogs as JSON; the first is the default'),
    Setting('AZUL_INDEX_BACKEND', _choice('duckdb', 'opensearch'), 'Index backend: `duckdb` '
                                                                    'or `opensearch`'),
    Setting('AZUL_DUCKDB_PATH', _path, 'DuckDB database file of the embedded backend',
            scope='local'),
    Setting('AZUL_DUCKDB_MEMORY_LIMIT', _memory_size, 'Memory DuckDB may hold (its '
                                                     '`memory_limit`, e.g. `2GB`), beyond which '
                                                     'it evicts to the database file; unset: '
                                                     'DuckDB\'s default, 80% of RAM',
            required=False, scope='local'),
    Setting('AZUL_DUCKDB_BITMAP_MB', _int_between(0, 1_048_576),
            'MiB of term bitmaps and per-document values the embedded backend may hold for '
            'the facets, pages and summaries of filtered searches of large tables; 0 turns '
            'them off; unset: 256',
            required=False, scope='local'),
    Setting('AZUL_ES_ENDPOINT', _url, 'URL of the OpenSearch cluster (required for the '
                                      '`opensearch` backend)', required=False),
    Setting('AZUL_ES_AUTH', _auth, '`user:password` for the OpenSearch cluster',
            required=False, secret=True),
    Setting('AZUL_ES_SIGV4', _bool, 'Whether requests to the cluster are signed with AWS '
                                    'Signature Version 4 (AWS OpenSearch Service, with the '
                                    'credentials boto3 finds, region AZUL_AWS_REGION); unset: '
                                    'for an endpoint under amazonaws.com', required=False),
    Setting('AZUL_ES_TIMEOUT', _int_between(1, 600), 'Seconds before an OpenSearch request '
                                                     'times out'),
    Setting('AZUL_INDEX_PREFIX', lambda value, _env: _index_prefix(value),
            'Prefix of every index name'),
    Setting('AZUL_HOST', _str, 'Interface the local server binds to', scope='local'),
    Setting('AZUL_PORT', _int_between(1, 65535), 'Port of the local server', scope='local'),
    Setting('AZUL_SERVICE_URL', _url, 'Public base URL of the service for absolute links; '
                                      'unset: taken from each request', required=False),
    Setting('AZUL_ALLOWED_HOSTS', lambda value, _env: _host_names(value),
            'Comma-separated host names the local server answers to (its `Host` header, '
            'port ignored); `*` for any; unset: the loopback names, AZUL_HOST and the '
            'host of AZUL_SERVICE_URL', required=False, scope='local'),
    Setting('AZUL_READ_TIMEOUT', _int_between(1, 3600), 'Seconds the local server waits for '
                                                        'a client to send (or accept) data '
                                                        'before it closes the connection; '
                                                        'unset: 30', required=False, scope='local'),
    Setting('AZUL_MAX_CONNECTIONS', _int_between(1, 10_000), 'Connections the local server '
                                                             'serves at once; more are answered '
                                                             '503; unset: 128', required=False,
            scope='local'),
    Setting('AZUL_DRS_DOMAIN', _str, 'Host (and port) in the DRS URIs of files from '
                                     'repositories without DRS URIs of their own; unset: the '
                                     'host of AZUL_SERVICE_URL, else AZUL_HOST:AZUL_PORT',
            required=False),
    Setting('AZUL_QUEUE', _choice('local', 'sqs'), 'Queue between indexer stages: `local` '
                                                   '(SQLite) or `sqs`'),
    Setting('AZUL_QUEUE_PATH', _path, 'SQLite file of the local queue', scope='local'),
    Setting('AZUL_DEMO_BIOSAMPLES', _int_between(1, 10_000_000),
            'Synthetic biosamples `make run` generates for the AnVIL demo catalog (a catalog '
            'of atlas `anvil` whose source is under AZUL_DATA_DIR/demo); unset: 300',
            required=False, scope='local'),
    Setting('AZUL_DEMO_BUNDLES', _int_between(1, 10_000_000), 'Synthetic bundles `make run` '
                                                              'generates for the demo catalog',
            scope='local'),
    Setting('AZUL_INDEXER_HMAC_KEY', _str, 'Secret key that notifications must be signed with; '
                                          'unset: only a server bound to loopback accepts '
                                          'notifications, unsigned',
            required=False, secret=True),
    # Limits on one request (see azul.core.limits); a violation is a 400 naming the limit
    Setting('AZUL_MAX_FILTER_TERMS', _int_between(1, 100_000),
            'Values one `is` filter may hold; unset: 100', required=False),
    Setting('AZUL_MAX_FILTER_RANGES', _int_between(1, 1000),
            'Ranges (`within`, `contains`, `intersects`) one `filters` parameter may hold, '
            'all fields together; unset: 16', required=False),
    Setting('AZUL_MAX_FILTER_VALUES', _int_between(1, 1_000_000),
            'Values and ranges one `filters` parameter may hold, all fields together; '
            'unset: 256', required=False),
    Setting('AZUL_MAX_JSON_DEPTH', _int_between(8, 500),
            'Levels of nesting of arrays and objects a JSON parameter or request body may '
            'have; unset: 32', required=False),
    Setting('AZUL_MAX_BODY_SIZE', _int_between(1024, 100 * 1024 * 1024),
            'Bytes a request body may have (search parameters, notifications); unset: '
            '262144', required=False),
    # Manifests (see azul.manifests)
    Setting('AZUL_MANIFEST_STORE', _choice('local', 's3'),
            'Where prepared manifests are kept: `local` (a directory) or `s3`; unset: '
            '`local`', required=False),
    Setting('AZUL_MANIFEST_DIR', _path, 'Directory of the local manifest store; unset: '
                                        '`manifests` in AZUL_DATA_DIR', required=False,
            scope='local'),
    Setting('AZUL_MANIFEST_BUCKET', _str, 'S3 bucket of the `s3` manifest store',
            required=False),
    Setting('AZUL_MANIFEST_EXPIRATION', _int_between(60, 365 * 24 * 3600),
            'Seconds a prepared manifest (and a preparation job) stays valid; unset: '
            '604800 (7 days, as the original)', required=False),
    Setting('AZUL_MANIFEST_SIGNING_KEY', _str, 'Secret that signs manifest keys of curl '
                                               'manifests and the download links of the local '
                                               'store; unset: a random key kept in the local '
                                               'manifest directory', required=False, secret=True),
    Setting('AZUL_MANIFEST_WORKERS', _int_between(1, 64), 'Manifests the service prepares at '
                                                          'once; unset: 1', required=False),
    Setting('AZUL_REINDEX_WORKERS', _int_between(1, 256),
            'Processes that fetch and transform bundles during `azul reindex`; 1: none, '
            'the reindexing process does it; unset: one per core', required=False, scope='local'),
    Setting('AZUL_INDEXER_PROCESSES', _int_between(1, 256),
            'Processes of `azul serve`\'s queue worker: with more than one, the worker\'s '
            'process reads, writes and acknowledges, the others transform bundles and fold '
            'aggregates; 1 (and unset): the worker does it all', required=False,
            scope='local'),
    Setting('AZUL_BIGQUERY_ENDPOINT', _url, 'BigQuery API endpoint of the TDR repositories, '
                                            'e.g. the local stand-in (`azul bigquery`); '
                                            'unset: Google\'s, with the application default '
                                            'credentials', required=False),
    Setting('AZUL_GOOGLE_SERVICE_ACCOUNT', _service_account,
            'JSON key of the Google service account the TDR repositories query BigQuery as; '
            'unset: the application default credentials', required=False, secret=True),
    Setting('AZUL_TDR_URL', _url, 'The Terra Data Repository, which names the DUOS dataset '
                                  'of an AnVIL snapshot; unset: https://data.terra.bio',
            required=False),
    Setting('AZUL_DUOS_URL', _url, 'DUOS, which holds the descriptions of AnVIL datasets '
                                   '(the DUOS bundles of `tdr_anvil` catalogs); unset: no '
                                   'DUOS bundles', required=False),
    # Access (see azul.auth)
    Setting('AZUL_AUTH', _choice('local', 'google'),
            'Who vouches for bearer tokens: `local` (AZUL_TOKENS_FILE) or `google` (Google '
            'OAuth2 access tokens, groups from Terra\'s SAM); unset: `local`', required=False),
    Setting('AZUL_TOKENS_FILE', _path, 'JSON file of the `local` verifier: token (or '
                                       '`sha256:` and its digest) -> `subject`, `groups`, '
                                       '`expires`; unset: no token is valid', required=False,
            scope='local'),
    Setting('AZUL_SOURCE_CACHE_TTL', _int_between(0, 3600),
            'Seconds a verified token (and so its readable sources) is remembered; unset: 60, '
            'as the original caches sources', required=False),
    Setting('AZUL_GOOGLE_TOKENINFO_URL', _url, 'Google\'s OAuth2 tokeninfo endpoint; unset: '
                                               'https://oauth2.googleapis.com/tokeninfo',
            required=False),
    Setting('AZUL_SAM_URL', _url, 'Terra SAM, which lists a token\'s groups; unset: '
                                  'https://sam.dsde-prod.broadinstitute.org', required=False),
    Setting('AZUL_AWS_REGION', _str, 'AWS region of SQS, S3 and OpenSearch Service'),
    Setting('AZUL_LOG_LEVEL', _log_level, 'Python log level'),
)


def _check_lambda(config: 'Config') -> None:
    # What a Lambda function lacks: a lasting local disk (so no DuckDB file,
    # SQLite queue or manifest directory) and a host name of its own
    needs = (
        (config.index_backend == 'opensearch', 'AZUL_INDEX_BACKEND must be `opensearch`'),
        (config.queue == 'sqs', 'AZUL_QUEUE must be `sqs`'),
        (config.manifest_store == 's3', 'AZUL_MANIFEST_STORE must be `s3`'),
        # Links are never built from a request's Host header there: API
        # Gateway's own host name carries the stage in the path, and the
        # local server's allow-list of host names does not run on Lambda
        (config.service_url is not None, 'AZUL_SERVICE_URL must be set, the public URL of '
                                         'the service (its custom domain)'),
    )
    for ok, message in needs:
        if not ok:
            raise ConfigError(f'On AWS Lambda {message}')
    for catalog in config.catalogs:
        for source in catalog.sources:
            if source.startswith('file:'):
                raise ConfigError(f'On AWS Lambda catalog {catalog.name!r} cannot read the '
                                  f'local source {source!r}')


def _host_names(value: str) -> tuple[str, ...]:
    names = tuple(name.strip().lower() for name in value.split(','))
    for name in names:
        if not re.fullmatch(r'\*|[a-z0-9.:_\[\]-]+', name):
            raise ValueError(f'{name!r} is not a host name (or `*`)')
    return names


def _index_prefix(value: str) -> str:
    if not re.fullmatch(r'[a-z][a-z0-9]{0,15}', value):
        raise ValueError(f'{value!r} must be 1 to 16 lowercase letters or digits, '
                         f'starting with a letter')
    return value


@attrs.frozen
class Config:
    deployment: str
    data_dir: Path | None  # None on Lambda, as every local setting
    catalogs: tuple[Catalog, ...]
    index_backend: BackendKind
    duckdb_path: Path | None
    duckdb_memory_limit: str | None
    duckdb_bitmap_mb: int | None
    es_endpoint: str | None
    es_auth: str | None
    es_sigv4: bool | None
    es_timeout: int
    index_prefix: str
    host: str | None
    port: int | None
    service_url: str | None
    allowed_hosts: tuple[str, ...] | None
    read_timeout: int | None
    max_connections: int | None
    drs_domain: str | None
    queue: str
    queue_path: Path | None
    demo_biosamples: int | None
    demo_bundles: int | None
    indexer_hmac_key: str | None
    max_filter_terms: int | None
    max_filter_ranges: int | None
    max_filter_values: int | None
    max_json_depth: int | None
    max_body_size: int | None
    manifest_store: str | None
    manifest_dir: Path | None
    manifest_bucket: str | None
    manifest_expiration: int | None
    manifest_signing_key: str | None
    manifest_workers: int | None
    reindex_workers: int | None
    indexer_processes: int | None
    bigquery_endpoint: str | None
    google_service_account: str | None
    tdr_url: str | None
    duos_url: str | None
    auth: str | None
    tokens_file: Path | None
    source_cache_ttl: int | None
    google_tokeninfo_url: str | None
    sam_url: str | None
    aws_region: str
    log_level: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> 'Config':
        values = {}
        lambda_ = on_lambda(env)
        for setting in SETTINGS:
            # A setting of the other place is neither required nor read: the
            # local server's port means nothing to a Lambda function
            raw = env.get(setting.name) if setting.applies(lambda_) else None
            if raw is None and not setting.applies(lambda_):
                value = None
            elif raw is None or (raw == '' and not setting.required):
                if setting.required:
                    raise ConfigError(f'{setting.name} is not set ({setting.description}). '
                                      f'Did you `source environment`?')
                value = None
            else:
                try:
                    value = setting.parse(raw, env)
                except ValueError as e:
                    raise ConfigError(f'{setting.name}: {e}') from None
            values[setting.name.removeprefix('AZUL_').lower()] = value
        if values['drs_domain'] is None:
            service_url = values['service_url']
            if service_url:
                values['drs_domain'] = urlsplit(service_url).netloc
            elif not lambda_:
                values['drs_domain'] = f'{values["host"]}:{values["port"]}'
        if values['es_sigv4'] is None:
            endpoint = values['es_endpoint']
            values['es_sigv4'] = bool(endpoint and (urlsplit(endpoint).hostname or '')
                                      .endswith('.amazonaws.com'))
        if values['es_sigv4'] and values['es_auth'] is not None:
            raise ConfigError('AZUL_ES_AUTH and AZUL_ES_SIGV4 exclude each other: a cluster '
                              'takes either a password or signed requests')
        values['manifest_store'] = values['manifest_store'] or 'local'
        if values['manifest_dir'] is None and values['data_dir'] is not None:
            values['manifest_dir'] = values['data_dir'] / 'manifests'
        values['manifest_expiration'] = values['manifest_expiration'] or 7 * 24 * 3600
        values['manifest_workers'] = values['manifest_workers'] or 1
        values['demo_biosamples'] = values['demo_biosamples'] or 300
        values['tdr_url'] = values['tdr_url'] or 'https://data.terra.bio'
        values['auth'] = values['auth'] or 'local'
        if values['source_cache_ttl'] is None:
            values['source_cache_ttl'] = 60
        values['google_tokeninfo_url'] = (values['google_tokeninfo_url']
                                          or 'https://oauth2.googleapis.com/tokeninfo')
        values['sam_url'] = values['sam_url'] or 'https://sam.dsde-prod.broadinstitute.org'
        config = cls(**values)
        if config.manifest_store == 's3' and not config.manifest_bucket:
            raise ConfigError('AZUL_MANIFEST_BUCKET must be set when AZUL_MANIFEST_STORE is '
                              '`s3`')
        if config.index_backend == 'opensearch' and config.es_endpoint is None:
            raise ConfigError('AZUL_ES_ENDPOINT must be set when AZUL_INDEX_BACKEND is '
                              '`opensearch`')
        if lambda_:
            _check_lambda(config)
        return config

    @property
    def limits(self) -> Limits:
        """The limits on one request; an unset one has its default."""
        defaults = Limits()
        return Limits(
            filter_terms=self.max_filter_terms or defaults.filter_terms,
            filter_ranges=self.max_filter_ranges or defaults.filter_ranges,
            filter_values=self.max_filter_values or defaults.filter_values,
            json_depth=self.max_json_depth or defaults.json_depth,
            body_size=self.max_body_size or defaults.body_size,
        )

    @property
    def default_catalog(self) -> Catalog:
        return self.catalogs[0]

    def catalog(self, name: str) -> Catalog:
        for catalog in self.catalogs:
            if catalog.name == name:
                return catalog
        raise KeyError(name)

    def settings_table(self, env: Mapping[str, str]) -> str:
        """The effective settings as aligned `NAME  value` lines, secrets masked."""
        described = self.describe(env)
        width = max(len(name) for name in described)
        return '\n'.join(f'{name:<{width}}  {"(unset)" if value is None else value}'
                         for name, value in described.items())

    def describe(self, env: Mapping[str, str]) -> dict[str, str | None]:
        """The effective settings as strings, with secrets masked."""
        result = {}
        for setting in SETTINGS:
            raw = env.get(setting.name)
            result[setting.name] = ('********' if setting.secret and raw
                                    else None if raw is None else mask_credentials(raw))
        return result
