"""
The OpenAPI 3.0 document of the service, generated from the code: parameter
enums and filter schemas come from the configured catalogs and their plugins'
field registries, and a test keeps the operations equal to the routes of the
Chalice app. `lambdas/service/openapi.json` is this document for the
canonical configuration (`canonical_runtime`); regenerate it with

    python -m azul.service.openapi > lambdas/service/openapi.json
"""
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from azul.config import Config
from azul.core.fields import Field
from azul.runtime import Runtime
from azul.service import health, index, swagger
from azul.service import openapi_schemas as schemas
from azul.service.repository import FILE_PARAMS
from azul.service.request import Request, parameters
from azul.service.responses import Response, json_response

TITLE = 'azul_service'
VERSION = '1.0'
DESCRIPTION = '''
Azul is a REST web service for querying metadata associated with both
experimental and analysis data from a data repository. Metadata entities can be
queried using the Index endpoints; a set of indices forms a catalog, and the
`catalog` parameter selects one (the first configured catalog is the default).
'''
TAGS = [
    {'name': 'Index', 'description': 'Query the indices for entities of interest'},
    {'name': 'Manifests', 'description': 'Complete listing of files matching a given filter '
                                         'in TSV and other formats'},
    {'name': 'Repository', 'description': 'Access to data files in the underlying repository'},
    {'name': 'Auxiliary', 'description': 'Describes various aspects of the Azul service'},
]
Operation = dict[str, Any]


def document(runtime: Runtime, server_url: str) -> dict[str, Any]:
    config = runtime.config
    plugins = [runtime.metadata_plugin(c) for c in config.catalogs]
    fields = _union(p.field_registry.fields for p in plugins)
    entity_types = sorted({t for p in plugins for t in p.exposed_entity_types})
    plugin_names = sorted({c.metadata_plugin for c in config.catalogs})
    catalog = _param('catalog', {'type': 'string',
                                 'enum': [c.name for c in config.catalogs],
                                 'default': config.default_catalog.name},
                     'The name of the catalog to query.')
    filters = {
        'name': 'filters', 'in': 'query', 'required': False,
        'description': 'Criteria to filter entities: a JSON object mapping field names to '
                       '`{relation: values}`; fields are combined with "and", values of '
                       'the `is` relation with "or". Relations: is, within, contains, '
                       'intersects.',
        'content': {'application/json': {'schema': _ref('Filters')}},
    }
    entity_type = _param('entity_type', {'type': 'string', 'enum': entity_types},
                         'Which index to search.', where='path')
    search_params = [
        catalog, filters, entity_type,
        _param('size', {**schemas.integer, 'minimum': 1, 'maximum': index.MAX_SIZE,
                        'default': index.DEFAULT_SIZE}, 'The number of hits per page.'),
        _param('sort', {'type': 'string', 'enum': [f.name for f in fields if f.sortable]},
               'The field to sort the hits by. The default depends on the entity type.'),
        _param('order', {'type': 'string', 'enum': list(index.ORDERS)},
               'The order of the sorted hits. The default depends on the entity type.'),
        *(_param(name, schemas.string, _cursor_description, deprecated=True)
          for name in ('search_before', 'search_before_uid',
                       'search_after', 'search_after_uid')),
    ]
    search_body = schemas.obj({
        'catalog': catalog['schema'],
        'filters': {'oneOf': [_ref('Filters'), schemas.string]},
        'size': search_params[3]['schema'],
        'sort': search_params[4]['schema'],
        'order': search_params[5]['schema'],
        **{name: schemas.string for name in index.SEARCH_PARAMS if name.startswith('search')},
    })
    search_200 = _json(schemas.search_response(plugin_names), 'A page of hits, the '
                       'pagination links and the facet counts.')
    search = _op('Search an index for entities of interest', 'Index', search_params,
                 {'200': search_200,
                  **_errors(400, 401, 403, 404, 503, descriptions=_forbidden_source)})
    summary_params = [catalog, filters]
    summary = _op('Statistics on the data present across all entities', 'Index',
                  summary_params,
                  {'200': _json(schemas.summary, 'Counts and sizes of the matching data.'),
                   **_errors(400, 401, 403, 404, 503, descriptions=_forbidden_source)})
    file_params = [catalog,
                   _param('file_uuid', schemas.string, 'The UUID of the file.', where='path'),
                   *(_param(name, schemas.integer if name in ('wait', 'requestIndex')
                            else schemas.string, _file_descriptions.get(name, 'Reserved.'))
                     for name in FILE_PARAMS if name != 'catalog')]
    health_keys = _param('keys', schemas.array({'type': 'string',
                                                'enum': list(health.ALL_KEYS)}),
                         'A comma-separated list of health check keys.', where='path')
    health_keys['style'], health_keys['explode'] = 'simple', False
    health_catalog = _param('catalog', catalog['schema'],
                            'The catalog whose unindexed work `progress` counts and whose '
                            'indices `api_endpoints` searches. Any other parameter is '
                            'ignored.')
    paths = {
        '/': {'get': _op('The Swagger UI of this API', 'Auxiliary', [], {
            '200': {'description': 'An HTML page', 'content': {'text/html': {
                'schema': schemas.string}}}})},
        '/static/{file}': {'get': _op(
            'A script or style sheet of the Swagger UI', 'Auxiliary',
            [_param('file', {'type': 'string', 'enum': list(swagger.ASSETS)},
                    'The name of the file.', where='path')],
            {'200': {'description': 'The file, from the pinned swagger-ui-bundle package',
                     'content': {content_type.partition(';')[0]: {'schema': schemas.string}
                                 for content_type in dict.fromkeys(swagger.ASSETS.values())}},
             **_errors(404)})},
        '/openapi': {'get': _op('The OpenAPI description of this API', 'Auxiliary', [], {
            '200': _json(schemas.openapi, 'This document.')})},
        '/version': {'get': _op('The version of this API', 'Auxiliary', [], {
            '200': _json(schemas.version, 'The git commit of the running code.')})},
        '/health': {'get': _health_op('Complete health check', health.ALL_KEYS,
                                      [health_catalog])},
        '/health/basic': {'get': _health_op('Basic health check', (), [health_catalog])},
        '/health/fast': {'get': _health_op('Fast health check', health.FAST_KEYS,
                                           [health_catalog])},
        '/health/cached': {'get': _health_op(
            'Cached fast health check, updated every minute', health.FAST_KEYS,
            [{**health_catalog, 'description': 'Only the default catalog\'s health is '
                                               'cached; another catalog is a 404.'}],
            _errors(404))},
        '/health/{keys}': {'get': _health_op('Selective health check', health.ALL_KEYS,
                                             [health_keys, health_catalog],
                                             {'400': _json(schemas.health_keys_error,
                                                           'An unknown health check key.')})},
        '/index/catalogs': {'get': _op('List all available catalogs', 'Index', [], {
            '200': _json(schemas.catalogs, 'The catalogs and their plugins.')})},
        '/index/summary': {'get': summary, 'head': _head(summary)},
        '/index/{entity_type}': {
            'get': search,
            'head': _head(search),
            'post': {**search, 'description': 'Like GET, with any of the query parameters '
                                              'alternatively given as a property of a JSON '
                                              'object in the body.',
                     'requestBody': {'required': False, 'content': {
                         'application/json': {'schema': search_body}}}},
        },
        '/index/{entity_type}/{entity_id}': {'get': _op(
            'Detailed information on a particular entity', 'Index',
            [catalog,
             _param('entity_type', {'type': 'string', 'enum': entity_types},
                    'The type of the entity.', where='path'),
             _param('entity_id', schemas.string, 'The UUID of the entity; a malformed one '
                    'is a 400.', where='path'),
             # Accepted and validated as on the search route; `filters` apply
             *(p for p in search_params if p['in'] == 'query' and p['name'] != 'catalog')],
            {'200': _json(schemas.hit(plugin_names), 'The entity, shaped like a hit.'),
             **_errors(400, 401, 403, 404, 503, descriptions=_forbidden_source)})},
        '/repository/files/{file_uuid}': {'get': _op(
            'Redirect to a URL for downloading a data file', 'Repository', file_params,
            {'302': {'description': 'The file can be downloaded from the URL in the '
                                    '`Location` header.',
                     'headers': {'Location': {'schema': schemas.string},
                                 'Content-Disposition': {'schema': schemas.string}}},
             **_errors(400, 401, 404, 502, 503)})},
        '/repository/sources': {'get': _op(
            'List available data sources', 'Repository', [catalog],
            {'200': _json({'type': 'object', 'required': ['sources'],
                           'additionalProperties': False,
                           'properties': {'sources': {'type': 'array', 'items': {
                               'type': 'object', 'required': ['sourceId', 'sourceSpec'],
                               'additionalProperties': False,
                               'properties': {'sourceId': schemas.string,
                                              'sourceSpec': schemas.string}}}}},
                          'The sources of the catalog the caller may read.'),
             **_errors(400, 401, 404)})},
        '/fetch/repository/files/{file_uuid}': {'get': _op(
            'Request a URL for downloading a data file', 'Repository', file_params,
            {'200': _json(schemas.fetch_file, 'The redirect a browser would follow, as '
                                              'JSON: `Status` 302 and its `Location`.'),
             **_errors(400, 401, 404, 502, 503)})},
        **_drs_paths(catalog),
        **_manifest_paths(catalog, filters, list(dict.fromkeys(
            f for p in plugins for f in p.manifest_formats))),
    }
    # Every GET operation answers HEAD too, without the body
    for ops in paths.values():
        if 'get' in ops:
            ops.setdefault('head', _head(ops['get']))
    return {
        'openapi': '3.0.1',
        'info': {'title': TITLE, 'description': DESCRIPTION, 'version': VERSION},
        'tags': TAGS,
        'servers': [{'url': server_url}],
        'paths': paths,
        'components': {'schemas': {'Error': schemas.error,
                                   'Filters': schemas.filters_schema(fields)},
                       'securitySchemes': _security_schemes(runtime.config.auth)},
        # Anonymous, or with a token: the token may reveal more
        'security': [{}, {_security_scheme(runtime.config.auth): _scopes(runtime.config.auth)}],
    }


def _security_scheme(auth: str | None) -> str:
    # The original's name for its Google OAuth2 scheme
    return 'azul_service' if auth == 'google' else 'bearer'


def _scopes(auth: str | None) -> list[str]:
    return ['email'] if auth == 'google' else []


def _security_schemes(auth: str | None) -> dict[str, Any]:
    """
    How a caller authenticates, which gives Swagger UI its Authorize button:
    with Google's OAuth2 as the original, or by pasting a token of the local
    token file.
    """
    if auth == 'google':
        return {'azul_service': {'type': 'oauth2', 'flows': {'implicit': {
            'authorizationUrl': 'https://accounts.google.com/o/oauth2/auth',
            'scopes': {'email': 'email'}}}}}
    return {'bearer': {'type': 'http', 'scheme': 'bearer',
                       'description': 'A token of the deployment\'s token file '
                                      '(AZUL_TOKENS_FILE)'}}


_cursor_description = ('Use the `next` and `previous` links of the `pagination` response '
                       'element to navigate between pages.')
_file_descriptions = {
    'version': 'The version of the file; the newest if absent.',
    'fileName': 'The file name to suggest in the Content-Disposition header.',
    'wait': 'Accepted for compatibility: 0 or 1.',
}


def _union(registries) -> list[Field]:
    fields: dict[str, Field] = {}
    for registry in registries:
        for field in registry:
            fields.setdefault(field.name, field)
    return sorted(fields.values(), key=lambda f: f.name)


def _param(name: str, schema: dict, description: str, where: str = 'query',
           deprecated: bool = False) -> dict[str, Any]:
    param = {'name': name, 'in': where, 'required': where == 'path', 'schema': schema,
             'description': description}
    if deprecated:
        param['deprecated'] = True
    return param


def _op(summary: str, tag: str, params: Sequence[dict], responses: dict) -> Operation:
    op: Operation = {'summary': summary, 'tags': [tag], 'responses': responses}
    if params:
        op['parameters'] = list(params)
    return op


def _json(schema: dict, description: str) -> dict[str, Any]:
    return {'description': description, 'content': {'application/json': {'schema': schema}}}


_error_descriptions = {
    400: 'The request is invalid; the message names the problem.',
    401: 'The Authorization header is malformed, or its bearer token is unknown or expired.',
    403: 'The signature of the link is invalid, or the link has expired.',
    404: 'There is no such catalog, entity or file.',
    410: 'The manifest preparation job has expired; request a new one.',
    502: 'The repository failed to read the file, or its bytes differ from its checksum.',
    503: 'The index backend is unavailable.',
}


# A filter naming a source the caller may not read
_forbidden_source = {403: 'A `sourceId` filter names a source the caller may not read.'}


def _errors(*statuses: int, descriptions: Mapping[int, str] | None = None) -> dict[str, Any]:
    described = {**_error_descriptions, **(descriptions or {})}
    return {str(status): {'description': described[status], 'content': {
        'application/json': {'schema': _ref('Error')}}}
        for status in statuses}


def _ref(name: str) -> dict[str, str]:
    return {'$ref': f'#/components/schemas/{name}'}


def _head(op: Operation) -> Operation:
    # A HEAD response is a GET response without its body
    return {**op, 'responses': {status: {'description': response['description']}
                                for status, response in op['responses'].items()}}


def _drs_paths(catalog: dict[str, Any]) -> dict[str, Any]:
    """
    Extras of ours (the reference API has none): GA4GH DRS 1.x objects of the
    catalogs' data files (`azul.service.drs`), and the signed links their
    access URLs and the download redirects point at.
    """
    object_id = _param('object_id', schemas.string, 'The uuid of a data file: what follows '
                       'the host in its `drs_uri`.', where='path')
    drs_params = [
        object_id,
        _param('version', schemas.string, 'The version of the file; the newest if absent.'),
        _param('catalog', catalog['schema'], 'The catalog to search; every catalog, in '
                                             'order, if absent.'),
        _param('expand', schemas.string, 'Accepted for DRS clients; files are not bundles.'),
    ]
    drs_error = {'content': {'application/json': {'schema': schemas.obj(
        {'msg': schemas.string, 'status_code': schemas.integer},
        required=['msg', 'status_code'])}}}
    drs_errors = {'400': {**drs_error, 'description': 'A malformed object id, version, '
                                                      'parameter or access id.'},
                  '401': {**drs_error, 'description': _error_descriptions[401]},
                  '404': {**drs_error, 'description': 'No catalog indexes the file, or '
                                                      'its bytes are nowhere (access).'}}
    access_url = schemas.obj({'url': schemas.string}, required=['url'])
    drs_object = schemas.obj({
        'id': schemas.string,
        'self_uri': schemas.string,
        'name': schemas.string,
        'size': {**schemas.integer, 'nullable': True},
        'created_time': schemas.nullable_string,
        'version': schemas.nullable_string,
        'mime_type': schemas.nullable_string,
        'checksums': schemas.array(schemas.obj({'checksum': schemas.string,
                                                'type': schemas.string},
                                               required=['checksum', 'type'])),
        'access_methods': schemas.array(schemas.obj({'type': schemas.string,
                                                     'access_url': access_url},
                                                    required=['type'])),
    }, required=['id', 'self_uri', 'size', 'created_time', 'checksums', 'access_methods'])
    blob_params = [
        catalog,
        _param('file_uuid', schemas.string, 'The uuid of the file.', where='path'),
        *(_param(name, schemas.string, 'Part of the signed link; not to be made by hand.')
          for name in ('version', 'fileName', 'expires', 'signature')),
    ]
    return {
        '/ga4gh/drs/v1/objects/{object_id}': {'get': _op(
            'A data file as a GA4GH DRS object', 'Repository', drs_params,
            {'200': _json(drs_object, 'The DRS object; its `https` access method, if the '
                                      'repository holds the bytes, has a signed URL that '
                                      'expires in an hour.'),
             **drs_errors})},
        '/ga4gh/drs/v1/objects/{object_id}/access/{access_id}': {'get': _op(
            'The access URL of a DRS object', 'Repository',
            [*drs_params[:1],
             _param('access_id', {'type': 'string', 'enum': ['https']}, 'The access id.',
                    where='path'),
             *drs_params[1:]],
            {'200': _json(access_url, 'A signed URL of the bytes, valid for an hour.'),
             **drs_errors})},
        '/repository/blobs/{file_uuid}': {'get': _op(
            'The bytes of a data file, by a signed link', 'Repository', blob_params,
            {'200': {'description': 'The bytes, with a Content-Disposition naming the file. '
                                    'The request must accept `application/octet-stream` '
                                    '(e.g. `Accept: */*`).',
                     'content': {'application/octet-stream': {'schema': {
                         'type': 'string', 'format': 'binary'}}}},
             **_errors(400, 403, 404, 502)})},
    }


def _manifest_paths(catalog: dict[str, Any], filters: dict[str, Any],
                    formats: Sequence[str]) -> dict[str, Any]:
    """The original's four manifest operations (`azul.service.manifest`)."""
    format_param = _param('format', {'type': 'string', 'enum': list(formats)},
                          'The format of the manifest; the first is the default.')
    token = _param('token', schemas.string, 'An opaque string representing the manifest '
                                            'preparation job.', where='path')
    redirect = {'Location': {'schema': schemas.string},
                'Retry-After': {'schema': schemas.string}}
    redirects = {
        '301': {'description': 'The manifest is being prepared: wait `Retry-After` seconds, '
                               'then request `Location`.', 'headers': redirect},
        '302': {'description': 'The manifest is ready at `Location`; the body lists, per '
                               'shell, a curl command line that downloads it.',
                'headers': {'Location': redirect['Location']},
                'content': {'text/plain': {'schema': schemas.string}}},
    }
    fetched = _json(schemas.obj({
        'Status': schemas.integer,
        'Location': schemas.string,
        'Retry-After': schemas.integer,
        'CommandLine': schemas.obj({'cmd.exe': schemas.string, 'bash': schemas.string},
                                   required=['cmd.exe', 'bash']),
    }, required=['Status', 'Location']), 'The redirect a browser would follow, as JSON.')
    body = {'required': False, 'content': {'application/json': {'schema': schemas.obj({
        'catalog': catalog['schema'],
        'filters': {'oneOf': [_ref('Filters'), schemas.string]},
        'format': format_param['schema']})}}}
    initiate = [catalog, filters, format_param]

    def put(summary: str, responses: dict) -> Operation:
        return {**_op(summary, 'Manifests', initiate,
                      {**responses, **_errors(400, 401, 403, 503,
                                              descriptions=_forbidden_source)}),
                'description': 'Any parameter may instead be a property of a JSON object in '
                               'the body (for filters longer than a URL may be).',
                'requestBody': body}

    return {
        '/manifest/files': {'put': put('Initiate the preparation of a manifest', redirects)},
        '/fetch/manifest/files': {'put': put('Initiate the preparation of a manifest via '
                                             'XHR', {'200': fetched})},
        '/manifest/files/{token}': {'get': _op(
            'Determine status of a manifest preparation job', 'Manifests', [token],
            {**redirects, **_errors(400, 410, 503)})},
        '/fetch/manifest/files/{token}': {'get': _op(
            'Determine status of a manifest preparation job via XHR', 'Manifests', [token],
            {'200': fetched, **_errors(400, 410, 503)})},
    }


def _health_op(summary: str, keys: Sequence[str], params: Sequence[dict] = (),
               errors: dict | None = None) -> Operation:
    listed = ', '.join(f'`{k}`' for k in keys) or 'none besides `up`'
    return _op(summary, 'Auxiliary', params, {
        '200': _json(schemas.health(True), f'Every check passed. Keys: {listed}.'),
        '503': _json(schemas.health(False), f'At least one check failed. Keys: {listed}.'),
        **(errors or {}),
    })


def serve(runtime: Runtime, request: Request) -> Response:
    # The original reads no parameter here, and refuses none
    parameters(request, (), ignore_unknown=True)
    return json_response(document(runtime, request.base_url(runtime.config.service_url) + '/'))


CANONICAL_ENV = {
    'AZUL_DEPLOYMENT': 'local',
    'AZUL_DATA_DIR': '/tmp/azul',
    'AZUL_CATALOGS': json.dumps({'dcp': {'atlas': 'hca', 'internal': False,
                                         'plugins': {'metadata': {'name': 'hca'},
                                                     'repository': {'name': 'canned'}},
                                         'sources': ['file:///tmp/azul/bundles']}}),
    'AZUL_INDEX_BACKEND': 'duckdb',
    'AZUL_DUCKDB_PATH': '/tmp/azul/index.duckdb',
    'AZUL_ES_TIMEOUT': '30',
    'AZUL_INDEX_PREFIX': 'azul',
    'AZUL_HOST': '127.0.0.1',
    'AZUL_PORT': '8000',
    'AZUL_QUEUE': 'local',
    'AZUL_QUEUE_PATH': '/tmp/azul/queue.sqlite',
    'AZUL_DEMO_BUNDLES': '1',
    'AZUL_AWS_REGION': 'us-east-1',
    'AZUL_LOG_LEVEL': 'INFO',
}
CANONICAL_SERVER = 'http://localhost:8000/'


def canonical_document() -> dict[str, Any]:
    """The document for one HCA catalog `dcp`, as committed in lambdas/service/openapi.json."""
    # No backend is touched: the document needs only the config and the plugins
    return document(Runtime(Config.from_env(CANONICAL_ENV)), CANONICAL_SERVER)


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2) + '\n'


if __name__ == '__main__':
    sys.stdout.write(dumps(canonical_document()))
