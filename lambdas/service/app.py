"""
The service's Chalice app. Thin on purpose: each route turns the Chalice
request into an `azul.service.request.Request`, calls a handler of
`azul.service`, and turns its `Response` into a Chalice one. Exceptions become
responses in `azul.service.responses`; CORS headers are added here, to every
response, errors included.

Nothing is built at import time: the runtime (config, backend, plugins) is
made on the first request. `create_app(runtime_factory)` builds an app around
any runtime (tests, the local server); `set_runtime` injects one into the
module-level `app` that Chalice deploys.
"""
import os
import re
import urllib.parse
from collections.abc import Callable

from chalice import Chalice
from chalice import Response as ChaliceResponse

from azul.adapters.runtime_holder import RuntimeHolder
from azul.runtime import Runtime
from azul.service import (
    catalogs,
    cors,
    index,
    openapi,
    repository,
    routes,
    summary,
    swagger,
    version,
)
from azul.service.health import HealthService
from azul.service.request import Request
from azul.service.responses import Response, respond

# Bodies of POST /index/{entity_type} are JSON, whatever a client labels them
ANY_CONTENT = ['*/*']
# Every GET route answers HEAD too (like GET, and API Gateway and the local
# server leave out the body), as monitors and link checkers expect
GET = ['GET', 'HEAD']


def create_app(runtime_factory: Callable[[], Runtime]) -> Chalice:
    app = Chalice(app_name='azul-service')
    health = HealthService()

    def current() -> Request:
        r = app.current_request
        query = {k: tuple(r.query_params.getlist(k)) for k in r.query_params or {}}
        return Request(method=r.method,
                       path=r.context.get('path') or r.path,
                       query=query,
                       headers={k.lower(): v for k, v in r.headers.items()},
                       path_params=dict(r.uri_params or {}),
                       body=r.raw_body or None)

    def handle(handler: Callable[..., Response], *args: str, runtime: bool = True
               ) -> ChaliceResponse:
        def call() -> Response:
            request = current()
            # API Gateway decodes path parameters, Chalice's local gateway does
            # not; our parameters (uuids, health keys) never contain a literal %
            args_ = tuple(urllib.parse.unquote(a) for a in args)
            return handler(runtime_factory(), request, *args_) if runtime \
                else handler(request, *args_)
        response = respond(call).with_headers(cors.response_headers())
        return ChaliceResponse(body=response.text, status_code=response.status,
                               headers=dict(response.headers))

    @app.route('/', methods=GET)
    def swagger_ui():
        return handle(lambda _request: swagger.swagger_ui(), runtime=False)

    @app.route('/static/{file}', methods=GET)
    def swagger_asset(file):
        return handle(lambda _request, name: swagger.asset(name), file, runtime=False)

    @app.route('/openapi', methods=GET)
    def openapi_document():
        return handle(openapi.serve)

    @app.route('/version', methods=GET)
    def version_():
        return handle(lambda request: version.version(request, os.environ), runtime=False)

    @app.route('/health', methods=GET)
    def health_complete():
        return handle(health.complete)

    @app.route('/health/basic', methods=GET)
    def health_basic():
        return handle(health.basic, runtime=False)

    @app.route('/health/fast', methods=GET)
    def health_fast():
        return handle(health.fast)

    @app.route('/health/cached', methods=GET)
    def health_cached():
        return handle(health.cached)

    @app.route('/health/{keys}', methods=GET)
    def health_selected(keys):
        return handle(health.selected, keys)

    @app.route('/index/catalogs', methods=GET)
    def index_catalogs():
        return handle(catalogs.catalogs)

    @app.route('/index/summary', methods=GET)
    def index_summary():
        return handle(summary.summary)

    @app.route('/index/{entity_type}', methods=['GET', 'HEAD', 'POST'],
               content_types=ANY_CONTENT)
    def index_search(entity_type):
        return handle(index.search, entity_type)

    @app.route('/index/{entity_type}/{entity_id}', methods=GET)
    def index_entity(entity_type, entity_id):
        return handle(index.entity, entity_type, entity_id)

    @app.route('/repository/files/{file_uuid}', methods=GET)
    def repository_file(file_uuid):
        return handle(repository.download, file_uuid)

    @app.route('/repository/sources', methods=GET)
    def repository_sources():
        return handle(repository.sources)

    @app.route('/fetch/repository/files/{file_uuid}', methods=GET)
    def fetch_repository_file(file_uuid):
        return handle(repository.fetch, file_uuid)

    for route in routes.module_routes():
        _add_route(app, route, handle)

    _add_preflight(app)
    return app


def _add_route(app: Chalice, route: routes.Route, handle) -> None:
    params = re.findall(r'{(\w+)}', route.path)

    def view(**kwargs):
        return handle(route.handler, *(kwargs[name] for name in params))

    app.route(route.path, methods=list(route.methods), name=route.name,
              content_types=list(route.content_types))(view)


def _add_preflight(app: Chalice) -> None:
    """An OPTIONS route per path, answering CORS pre-flight requests."""
    for path, methods in list(app.routes.items()):
        headers = cors.preflight_headers(methods)

        def preflight(*_args, _headers=headers, **_kwargs):
            return ChaliceResponse(body='', status_code=200, headers=_headers)

        app.route(path, methods=['OPTIONS'], name=f'preflight {path}')(preflight)


_holder = RuntimeHolder()
# Serve a runtime from the module-level app (None: build one from the environment)
set_runtime = _holder.set
get_runtime = _holder.get


app = create_app(get_runtime)
