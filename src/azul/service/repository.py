"""
GET /repository/files/{file_uuid}: a 302 to where the data file's bytes are
served, and GET /fetch/repository/files/{file_uuid}, the same as a 200 JSON
body for browsers' JavaScript (which cannot see a redirect's Location).

The file is looked up in the catalog's files index by its data file uuid (the
plugin's `file_id_field`: HCA `fileId`, AnVIL `files.document_id`) and, if
given, version (`fileVersion`); without a version the newest wins. The file's
own entry in the hit (`contents.files`) is the descriptor the repository
plugin resolves. A related file (a member of a zarr store, which the index
does not list as a file) comes with `requestIndex=1`, `version`, `fileName`
and `drsUri`, as the curl manifest writes its URL; like the original, the
index is then not consulted.

Where the bytes are, in order:

1. In a source of the catalog (`RepositoryPlugin.file_bytes`): the Location
   is `GET /repository/blobs/{file_uuid}` of this service, signed and expiring
   like an S3 presigned URL (`azul.service.signing`), which answers the bytes
   with a Content-Disposition naming the file.
2. At a DRS server of the repository's own (a TDR-style `drs_uri` whose host
   is not this deployment's `AZUL_DRS_DOMAIN`): the Location is that object's
   DRS URL, as before.
3. Nowhere: a 404 naming the file. Never a 409 or 5xx: a catalog may well
   index files whose bytes it does not hold.

A canned repository never makes a client wait, so there is no 301 with
`Retry-After`; `wait`, `replica` and `token` are validated and otherwise
ignored.
"""
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import attrs

from azul.config import Catalog
from azul.core.documents import normalize_version
from azul.core.search import SearchRequest, Sort
from azul.errors import BadRequestError, NotFoundError
from azul.plugins.repository.base import RepositoryPlugin
from azul.runtime import Runtime
from azul.service import access
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
from azul.signing import signer

# Validated in this order, as the original validates them
FILE_PARAMS = ('catalog', 'version', 'fileName', 'wait', 'requestIndex', 'replica',
               'drsUri', 'token')
BLOB_PARAMS = ('catalog', 'version', 'fileName', 'expires', 'signature')
BLOB_PATH = '/repository/blobs/{file_uuid}'
FILES = 'files'
VERSION_FIELD = 'fileVersion'
REPLICAS = ('aws', 'gcp')
# File versions: DCP/2 timestamps, or the DSS spelling of one, each with
# exactly six digits of fraction; the index holds the DCP/2 spelling
VERSION_FORMATS = ('%Y-%m-%dT%H:%M:%S.%fZ', '%Y-%m-%dT%H%M%S.%fZ')
#: Seconds a download link stays valid: long enough for a slow client to
#: follow the redirect, short enough that a leaked link soon stops working
LINK_LIFETIME = 3600
# Every file is served as opaque bytes: a type in Chalice's `binary_types`
# (so API Gateway passes the body through unchanged), and the
# Content-Disposition makes browsers save rather than render it
BLOB_TYPE = 'application/octet-stream'


@attrs.frozen
class BytesResponse(Response):
    """A response whose body is bytes, which the app hands to Chalice as they are."""

    @property
    def text(self) -> bytes:  # type: ignore[override]
        return self.body


@attrs.frozen
class DataFile:
    """A data file as a download resolves it."""
    catalog: Catalog
    uuid: str
    #: The DCP/2 spelling, or None if the repository gave it none
    version: str | None
    #: Its entry in a hit (`contents.files`), or what the request said of it
    descriptor: Mapping[str, Any]
    #: The sources that may hold it, the most likely first
    sources: tuple[str, ...]
    #: Other sources to look in for its bytes, which the caller may read:
    #: a bundle may have moved, and the bytes of a uuid and version are the
    #: same anywhere
    fallback: tuple[str, ...] = ()

    @property
    def what(self) -> str:
        return f'file {self.uuid!r}' + ('' if self.version is None
                                        else f' version {self.version!r}')


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


def find_file(runtime: Runtime, catalog: Catalog, file_uuid: str,
              version: str | None, readable: frozenset[str]) -> DataFile | None:
    """
    The indexed data file of that uuid and version (the newest if None), if it
    is in a source the caller may read (`readable`). As in the original, the
    file of a source the caller may not read is not found (404): its
    existence is not the caller's to know.
    """
    plugin = runtime.metadata_plugin(catalog)
    registry = plugin.field_registry
    ids = {plugin.file_id_field: file_uuid}
    if version is not None:
        ids[VERSION_FIELD] = version
    try:
        filters = lookup_filters(registry, **ids)
    except ValueError:
        # Not even text a document could hold (e.g. a lone surrogate)
        return None
    filters = access.reified(filters, plugin, access.access(catalog, readable, limited=True))
    search = SearchRequest(entity_type=FILES,
                           filters=filters,
                           sort=Sort(registry[VERSION_FIELD], 'desc'),
                           size=1)
    hits = runtime.backend.search(catalog.name, search).hits
    if not hits:
        return None
    document = hits[0].document
    descriptor = _descriptor(document, file_uuid, version)
    sources = tuple(s for s in document.get('sources') or () if isinstance(s, str))
    return DataFile(catalog=catalog, uuid=file_uuid, version=descriptor.get('version'),
                    descriptor=descriptor, sources=sources or _ordered(catalog, readable),
                    fallback=_ordered(catalog, readable))


def _ordered(catalog: Catalog, readable: frozenset[str]) -> tuple[str, ...]:
    """The readable sources in the catalog's order."""
    return tuple(s for s in catalog.sources if s in readable)


def _descriptor(document: Mapping[str, Any], file_uuid: str,
                version: str | None) -> Mapping[str, Any]:
    files = document.get('contents', {}).get('files', [])
    for entry in files:
        if entry.get('uuid') == file_uuid and version in (None, entry.get('version')):
            return entry
    raise NotFoundError(f'The index holds no descriptor of file {file_uuid!r}')


def file_bytes(runtime: Runtime, file: DataFile) -> bytes | None:
    """The bytes of a file from the first of its sources that holds them."""
    plugin = runtime.repository_plugin(file.catalog)
    return _first_bytes(plugin, _sources(file), file.descriptor)


def _sources(file: DataFile) -> Iterable[str]:
    yield from file.sources
    yield from (s for s in file.fallback if s not in file.sources)


def _first_bytes(plugin: RepositoryPlugin, sources: Iterable[str],
                 descriptor: Mapping[str, Any]) -> bytes | None:
    for source in sources:
        content = plugin.file_bytes(source, descriptor)
        if content is not None:
            return content
    return None


def blob_url(runtime: Runtime, request: Request, file: DataFile, file_name: str,
             now: float | None = None) -> str:
    """A signed link to the bytes of a file, valid for `LINK_LIFETIME` seconds."""
    assert file.version is not None, file
    path = BLOB_PATH.format(file_uuid=file.uuid)
    expires = int(time.time() if now is None else now) + LINK_LIFETIME
    query = signer(runtime.config).signed_query(path, {'catalog': file.catalog.name,
                                                       'version': file.version,
                                                       'fileName': file_name}, expires)
    return f'{request.base_url(runtime.config.service_url)}{path}?{query}'


def foreign_drs_url(runtime: Runtime, file: DataFile) -> str | None:
    """
    The DRS object URL of the file at a repository's own DRS server, unless
    that server is this deployment (which would redirect to itself).
    """
    plugin = runtime.repository_plugin(file.catalog)
    for source in file.sources or file.fallback:
        url = plugin.file_url(source, file.descriptor)
        if url is not None:
            host = urlsplit(url).netloc
            return None if host == runtime.config.drs_domain else url
    return None


def _requested_file(runtime: Runtime, request: Request, file_uuid: str
                    ) -> tuple[DataFile, str]:
    """The file a download request names and the name to save it under."""
    params = parameters(request, FILE_PARAMS)
    catalog = catalog_param(runtime, params)
    version = version_param(params)
    file_name = string_param(params, 'fileName')
    # Accepted for compatibility with clients of the original API; a canned
    # repository never makes a client wait.
    choice_param(params, 'wait', ('0', '1'))
    request_index = int_param(params, 'requestIndex', 0, -2 ** 63, 2 ** 63 - 1) or 0
    choice_param(params, 'replica', REPLICAS)
    drs_uri = string_param(params, 'drsUri')
    readable = access.readable(runtime, request, catalog)
    if request_index > 0:
        # A related file, or a retry: named by the request, as the original
        # takes it, since the index does not list related files as files
        if version is None or file_name is None:
            raise BadRequestError('A `requestIndex` above 0 requires the `version` and '
                                  '`fileName` parameters')
        descriptor = {'uuid': file_uuid, 'version': version, 'name': file_name,
                      'drs_uri': drs_uri}
        # Only from sources the caller may read: no lookup vouched for it
        file = DataFile(catalog=catalog, uuid=file_uuid, version=version,
                        descriptor=descriptor, sources=_ordered(catalog, readable))
    else:
        found = find_file(runtime, catalog, file_uuid, version, readable)
        if found is None:
            raise NotFoundError(f'Unable to find file {file_uuid!r}, version {version!r} in '
                                f'catalog {catalog.name!r}')
        file = found
    name = file_name or file.descriptor.get('name') or file_uuid
    return file, str(name)


def locate(runtime: Runtime, request: Request, file_uuid: str) -> tuple[str, dict[str, str]]:
    """The download URL of a file and the headers to send with the redirect."""
    file, name = _requested_file(runtime, request, file_uuid)
    if file.version is not None and file_bytes(runtime, file) is not None:
        url = blob_url(runtime, request, file, name)
    else:
        url = foreign_drs_url(runtime, file)
        if url is None:
            raise NotFoundError(f'The repository holds no bytes of {file.what} ({name!r}) '
                                f'in catalog {file.catalog.name!r}')
    return url, {'Content-Disposition': disposition(name)}


def disposition(name: str) -> str:
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


def blob(runtime: Runtime, request: Request, file_uuid: str) -> Response:
    """
    GET /repository/blobs/{file_uuid}: the bytes of a file, for a link made by
    `blob_url`. The signature is checked before anything else, so that a
    forged link learns nothing about the catalog.
    """
    params = parameters(request, BLOB_PARAMS)
    path = BLOB_PATH.format(file_uuid=file_uuid)
    signer(runtime.config).verify_query(path, params)
    catalog = catalog_param(runtime, params)
    version, file_name = params.get('version'), params.get('fileName')
    if version is None or file_name is None:
        # Only a link we signed gets here, and we sign none without them
        raise BadRequestError('The link lacks `version` or `fileName`')
    # The link is the capability: signed after the lookup that checked access
    file = DataFile(catalog=catalog, uuid=file_uuid, version=version,
                    descriptor={'uuid': file_uuid, 'version': version}, sources=(),
                    fallback=catalog.sources)
    content = file_bytes(runtime, file)
    if content is None:
        raise NotFoundError(f'The repository holds no bytes of {file.what} ({file_name!r}) '
                            f'in catalog {catalog.name!r}')
    return BytesResponse(200, content, {'Content-Type': BLOB_TYPE,
                                        'Content-Disposition': disposition(file_name)})


def sources(runtime: Runtime, request: Request) -> Response:
    """
    GET /repository/sources: the sources of a catalog the caller may read
    (the public ones, and those of the caller's groups). A canned source's
    id is its spec.
    """
    catalog = catalog_param(runtime, parameters(request, ('catalog',)))
    readable = access.readable(runtime, request, catalog)
    return json_response({'sources': [{'sourceId': spec, 'sourceSpec': spec}
                                      for spec in _ordered(catalog, readable)]})
