"""
GET /repository/files/{file_uuid}: a 302 to where the repository serves the
data file, and GET /fetch/repository/files/{file_uuid}, the same as a 200
JSON body for browsers' JavaScript (which cannot see a redirect's Location).

The file is looked up in the catalog's files index by its data file uuid
(`fileId`) and, if given, version (`fileVersion`); without a version the
newest wins. The file's own entry in the hit (`contents.files`) is the
descriptor the repository plugin resolves to a URL.
"""
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from azul.core.documents import normalize_version
from azul.core.search import SearchRequest, Sort
from azul.errors import ConflictError, NotFoundError
from azul.runtime import Runtime
from azul.service.catalogs import catalog_param
from azul.service.index import lookup_filters
from azul.service.request import (
    Request,
    choice_param,
    int_param,
    invalid,
    parameters,
    string_param,
)
from azul.service.responses import Response, json_response, redirect

# Validated in this order, as the original validates them
FILE_PARAMS = ('catalog', 'version', 'fileName', 'wait', 'requestIndex', 'replica',
               'drsUri', 'token')
FILES = 'files'
ID_FIELD = 'fileId'
VERSION_FIELD = 'fileVersion'
REPLICAS = ('aws', 'gcp')
# File versions: DCP/2 timestamps, or the DSS spelling of one, each with
# exactly six digits of fraction; the index holds the DCP/2 spelling
VERSION_FORMATS = ('%Y-%m-%dT%H:%M:%S.%fZ', '%Y-%m-%dT%H%M%S.%fZ')


def version_param(params: Mapping[str, Any]) -> str | None:
    """The `version` parameter in the spelling of the index, or None."""
    version = string_param(params, 'version')
    if version is None:
        return None
    for spelling in VERSION_FORMATS:
        try:
            parsed = datetime.strptime(version, spelling)
        except ValueError:
            continue
        # strptime accepts fewer digits than the canonical spelling has
        if parsed.strftime(spelling) == version:
            return normalize_version(version)
    raise invalid('version')


def locate(runtime: Runtime, request: Request, file_uuid: str) -> tuple[str, dict[str, str]]:
    """The download URL of a file and the headers to send with the redirect."""
    params = parameters(request, FILE_PARAMS)
    catalog = catalog_param(runtime, params)
    version = version_param(params)
    file_name = string_param(params, 'fileName')
    # Accepted for compatibility with clients of the original API; a canned
    # repository never makes a client wait.
    choice_param(params, 'wait', ('0', '1'))
    int_param(params, 'requestIndex', 0, -2 ** 63, 2 ** 63 - 1)
    choice_param(params, 'replica', REPLICAS)
    plugin = runtime.metadata_plugin(catalog)
    registry = plugin.field_registry
    ids = {ID_FIELD: file_uuid} if version is None else {ID_FIELD: file_uuid,
                                                         VERSION_FIELD: version}
    try:
        filters = lookup_filters(registry, **ids)
    except ValueError:
        # Not even text a document could hold (e.g. a lone surrogate)
        hits = ()
    else:
        search = SearchRequest(entity_type=FILES,
                               filters=filters,
                               sort=Sort(registry[VERSION_FIELD], 'desc'),
                               size=1)
        hits = runtime.backend.search(catalog.name, search).hits
    if not hits:
        raise NotFoundError(f'Unable to find file {file_uuid!r}, version {version!r} in '
                            f'catalog {catalog.name!r}')
    what = f'file {file_uuid!r}' + ('' if version is None else f' version {version!r}')
    document = hits[0].document
    descriptor = _descriptor(document, file_uuid, version)
    sources = document.get('sources') or [None]
    url = runtime.repository_plugin(catalog).file_url(sources[0], descriptor)
    if url is None:
        raise ConflictError(f'The repository cannot tell where to download {what} from')
    name = file_name or descriptor.get('name') or file_uuid
    return url, {'Content-Disposition': _disposition(str(name))}


def _descriptor(document: Mapping[str, Any], file_uuid: str,
                version: str | None) -> Mapping[str, Any]:
    files = document.get('contents', {}).get('files', [])
    for entry in files:
        if entry.get('uuid') == file_uuid and version in (None, entry.get('version')):
            return entry
    raise NotFoundError(f'The index holds no descriptor of file {file_uuid!r}')


def _disposition(name: str) -> str:
    # Headers are Latin-1 and a quote would end the quoted string early: an
    # ASCII fallback for old clients, the exact name percent-encoded (RFC 6266)
    ascii_name = ''.join(c if ' ' <= c <= '~' and c not in '"\\' else '_' for c in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def download(runtime: Runtime, request: Request, file_uuid: str) -> Response:
    url, headers = locate(runtime, request, file_uuid)
    return redirect(url, headers)


def fetch(runtime: Runtime, request: Request, file_uuid: str) -> Response:
    url, _ = locate(runtime, request, file_uuid)
    # The original serializes this body itself, with json.dumps' defaults
    return json_response({'Status': 302, 'Location': url}, spaced=True)


def sources(runtime: Runtime, request: Request) -> Response:
    """
    GET /repository/sources: the sources of a catalog. Canned sources are
    public, so every client may access all of them; a source's id is its spec.
    """
    catalog = catalog_param(runtime, parameters(request, ('catalog',)))
    return json_response({'sources': [{'sourceId': spec, 'sourceSpec': spec}
                                      for spec in catalog.sources]})
