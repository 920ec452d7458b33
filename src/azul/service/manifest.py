"""
PUT /manifest/files, GET /manifest/files/{token} and their /fetch variants:
the original's protocol for preparing a manifest.

- PUT with `catalog`, `filters`, `format` (in the query or as properties of a
  JSON body): a 302 to the manifest if it is already prepared, else a 301 to
  `GET /manifest/files/{token}` with `Retry-After`; polling that URL answers
  301s until the manifest is ready, then a 302 to it. A 302's body lists,
  per shell, a command line that downloads the manifest.
- `/fetch/...`: the same as a 200 JSON body `{Status, Location, Retry-After}`
  (`CommandLine` with a 302), for browsers, which cannot see redirects or
  honour `Retry-After`.
- A curl manifest reached through /fetch is linked by a signed key
  (`GET /manifest/files/{key}`), whose command line keeps working for as long
  as the manifest exists (the original's reason: curl downloads are long).
- 410 for a job that expired, 503 for one that failed (asking again starts
  a new one), 400 for a token that is not one of ours.
"""
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from azul.errors import BadRequestError, GoneError
from azul.manifests.formats import choose_format, format_class
from azul.manifests.jobs import Prepared
from azul.manifests.keys import InvalidToken, SignedKey, Token
from azul.runtime import Runtime
from azul.service import access
from azul.service.catalogs import catalog_param
from azul.service.index import filters_param
from azul.service.request import Request, parameters, string_param
from azul.service.responses import Response, json_response
from azul.service.routes import Route

MANIFEST_PARAMS = ('catalog', 'filters', 'format')
# How long a download link of a prepared manifest is valid, as the original's
# presigned URLs (its reason: a link is a secret that may be shared)
LINK_LIFETIME = 3600


def initiate(runtime: Runtime, request: Request, *, fetch: bool) -> Response:
    limits = runtime.config.limits
    params = parameters(request, MANIFEST_PARAMS, body_allowed=True, limits=limits)
    # The catalog first: the formats and fields depend on it
    catalog = catalog_param(runtime, params)
    plugin = runtime.metadata_plugin(catalog)
    format_name = choose_format(plugin.manifest_formats, string_param(params, 'format'))
    filters = filters_param(params, plugin, limits)
    readable = access.readable(runtime, request, catalog)
    # Now, not in the job: a filter naming a source the caller may not read is a 403
    access.reified(filters, plugin, access.access(catalog, readable, limited=True))
    base_url = request.base_url(runtime.config.service_url)
    jobs = runtime.manifests
    key = jobs.key(catalog.name, format_name, filters.to_json(), base_url, readable)
    return _answer(runtime, jobs.prepare(key), base_url, fetch=fetch)


def poll(runtime: Runtime, request: Request, token: str, *, fetch: bool) -> Response:
    parameters(request, ())
    base_url = request.base_url(runtime.config.service_url)
    jobs = runtime.manifests
    try:
        decoded = Token.decode(token)
    except InvalidToken:
        signed = _signed_key(runtime, token)
        if fetch:
            raise BadRequestError('The fetch endpoint does not support a manifest key') \
                from None
        prepared = jobs.cached(signed.digest, signed.format)
        if prepared is None:
            raise GoneError('The manifest has expired, please request a new one') from None
        return _answer(runtime, prepared, base_url, fetch=False, signed=True)
    return _answer(runtime, jobs.inspect(decoded), base_url, fetch=fetch)


def _signed_key(runtime: Runtime, value: str) -> SignedKey:
    try:
        return SignedKey.decode(value, runtime.manifest_secret)
    except InvalidToken:
        # The original cannot tell a bad token from a bad key either
        raise BadRequestError('Invalid token') from None


def _answer(runtime: Runtime, outcome: Prepared | Token, base_url: str, *, fetch: bool,
            signed: bool = False) -> Response:
    if isinstance(outcome, Token):
        location = _path_url(base_url, outcome.encode(), fetch=fetch)
        body: dict[str, Any] = {'Status': 301, 'Location': location,
                                'Retry-After': outcome.retry_after}
    else:
        cls = format_class(outcome.format)
        if fetch and cls.name == 'curl' and not signed:
            key = SignedKey(outcome.digest, outcome.format).encode(runtime.manifest_secret)
            location = _path_url(base_url, key, fetch=False)
        else:
            location = runtime.manifests.store.url(outcome.object_key, outcome.file_name,
                                                   LINK_LIFETIME, base_url)
        body = {'Status': 302, 'Location': location,
                'CommandLine': cls.command_lines(location, outcome.file_name)}
    return json_response(body) if fetch else _redirect(body)


def _redirect(body: Mapping[str, Any]) -> Response:
    headers = {'Location': body['Location']}
    if 'Retry-After' in body:
        headers['Retry-After'] = str(body['Retry-After'])
    command_lines = body.get('CommandLine')
    if command_lines is None:
        return Response(body['Status'], '', headers)
    text = ''.join(f'\nDownload the manifest in {shell} with `curl` using:\n\n{line}\n'
                   for shell, line in command_lines.items())
    return Response(body['Status'], text, {**headers, 'Content-Type': 'text/plain'})


def _path_url(base_url: str, token: str, *, fetch: bool) -> str:
    prefix = '/fetch' if fetch else ''
    return f'{base_url}{prefix}/manifest/files/{quote(token, safe="")}'


ROUTES: tuple[Route, ...] = (
    Route('/manifest/files', ('PUT',),
          lambda runtime, request: initiate(runtime, request, fetch=False),
          'put_manifest_files', content_types=('*/*',)),
    Route('/fetch/manifest/files', ('PUT',),
          lambda runtime, request: initiate(runtime, request, fetch=True),
          'put_fetch_manifest_files', content_types=('*/*',)),
    Route('/manifest/files/{token}', ('GET', 'HEAD'),
          lambda runtime, request, token: poll(runtime, request, token, fetch=False),
          'get_manifest_files_token'),
    Route('/fetch/manifest/files/{token}', ('GET', 'HEAD'),
          lambda runtime, request, token: poll(runtime, request, token, fetch=True),
          'get_fetch_manifest_files_token'),
)
