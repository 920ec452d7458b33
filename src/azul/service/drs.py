"""
GA4GH DRS (Data Repository Service 1.x) for the catalogs' data files, so that
DRS clients resolve the `drs_uri`s of DSS-style files,
`drs://{AZUL_DRS_DOMAIN}/{file uuid}?version={version}`: the object id is
what follows the host, and the version a query parameter, as in the
original's `drs_controller`.

* `GET /ga4gh/drs/v1/objects/{object_id}`: the DRS object (id, self_uri, size,
  created_time, version, name, checksums, access_methods).
* `GET /ga4gh/drs/v1/objects/{object_id}/access/{access_id}`: `{"url": ...}`.

A DRS URI names no catalog, so without `catalog` the catalogs are searched in
the order they are configured, and the first that indexes the file answers.
The access URL is the signed link of `GET /repository/blobs/{file_uuid}` that
downloads use (`azul.service.repository`); the object carries it directly as
its one `https` access method, as the original's object did whenever the
file was ready, and `access/https` answers it again for clients that ask by
access id. A file whose bytes no source holds has no access method.

Errors are DRS's `{"msg", "status_code"}`: 400 for an object id that is not a
file uuid, a bad version or access id, 404 for an unknown object. Deviations
from the original's object, for DRS 1.x clients: `size` is a number (the
original relayed the DSS's header as a string) and checksums are
`{"checksum", "type"}` objects with the types named as the original names
them (`sha-256`) plus `crc32c`, where the original listed `{"sha-256": ...}`.
"""
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from azul.core.documents import uuid_re
from azul.errors import AzulError, BadRequestError, NotFoundError
from azul.runtime import Runtime
from azul.service import access
from azul.service.catalogs import catalog_param
from azul.service.repository import (
    BLOB_PATH,
    DataFile,
    blob,
    blob_url,
    file_bytes,
    find_file,
    version_param,
)
from azul.service.request import Request, parameters
from azul.service.responses import INTERNAL_MESSAGE, Response, json_response
from azul.service.routes import GET, Route

OBJECTS = '/ga4gh/drs/v1/objects'
PARAMS = ('version', 'catalog', 'expand')
#: The one access method, and its access id
HTTPS = 'https'
# The checksums of a file descriptor, by their names in DRS
CHECKSUMS = (('sha-256', 'sha256'), ('crc32c', 'crc32c'))


def _drs_errors(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Domain errors as DRS answers them; anything else stays a 500 of the edge."""
    def wrapped(runtime: Runtime, request: Request, *args: str) -> Response:
        try:
            return handler(runtime, request, *args)
        except AzulError as e:
            status = e.status
            msg = INTERNAL_MESSAGE if status == 500 else e.message
            return json_response({'msg': msg, 'status_code': status}, status=status)
    return wrapped


def _resolve(runtime: Runtime, request: Request, object_id: str) -> DataFile:
    params = parameters(request, PARAMS)
    if not uuid_re.fullmatch(object_id):
        raise BadRequestError(f'Invalid DRS object id {object_id!r}: expected the uuid of '
                              f'a data file')
    version = version_param(params)
    catalogs = (runtime.config.catalogs if params.get('catalog') is None
                else (catalog_param(runtime, params),))
    for catalog in catalogs:
        readable = access.readable(runtime, request, catalog)
        file = find_file(runtime, catalog, object_id, version, readable)
        if file is not None:
            return file
    raise NotFoundError(f'No DRS object {object_id!r}'
                        + ('' if version is None else f' of version {version!r}'))


def _access_url(runtime: Runtime, request: Request, file: DataFile) -> str | None:
    if file.version is None or file_bytes(runtime, file) is None:
        return None
    return blob_url(runtime, request, file, _name(file))


def _name(file: DataFile) -> str:
    return str(file.descriptor.get('name') or file.uuid)


def drs_object(runtime: Runtime, request: Request, file: DataFile) -> dict[str, Any]:
    descriptor = file.descriptor
    self_uri = f'drs://{runtime.config.drs_domain}/{file.uuid}'
    if file.version is not None:
        self_uri += f'?version={quote(file.version, safe="")}'
    url = _access_url(runtime, request, file)
    return {
        'id': file.uuid,
        'self_uri': self_uri,
        'name': _name(file),
        'size': descriptor.get('size'),
        # Versions are RFC 3339 timestamps already (the DCP/2 spelling)
        'created_time': file.version,
        'version': file.version,
        'mime_type': _mime_type(descriptor),
        'checksums': [{'checksum': descriptor[key], 'type': name}
                      for name, key in CHECKSUMS if isinstance(descriptor.get(key), str)],
        # Not both an access URL and id: the original's own DRS client takes
        # that combination for TDR's quirk, which only the `gs` method has
        'access_methods': [] if url is None else [{'type': HTTPS,
                                                   'access_url': {'url': url}}],
    }


def _mime_type(descriptor: Mapping[str, Any]) -> str | None:
    # `application/gzip; dcp-type=data`: the DCP's parameter is not a MIME type's
    content_type = descriptor.get('content-type')
    return content_type.split(';')[0].strip() or None if isinstance(content_type, str) else None


@_drs_errors
def get_object(runtime: Runtime, request: Request, object_id: str) -> Response:
    file = _resolve(runtime, request, object_id)
    return json_response(drs_object(runtime, request, file))


@_drs_errors
def get_access(runtime: Runtime, request: Request, object_id: str, access_id: str) -> Response:
    file = _resolve(runtime, request, object_id)
    if access_id != HTTPS:
        raise BadRequestError('Invalid DRS access ID')
    url = _access_url(runtime, request, file)
    if url is None:
        raise NotFoundError(f'The repository holds no bytes of DRS object {object_id!r}')
    return json_response({'url': url})


ROUTES: tuple[Route, ...] = (
    Route(OBJECTS + '/{object_id}', GET, get_object, 'drs_get_object'),
    Route(OBJECTS + '/{object_id}/access/{access_id}', GET, get_access, 'drs_get_access'),
    # The bytes behind every access URL (and download redirect). Declared here
    # because `routes.module_routes` collects the routes of this module
    Route(BLOB_PATH, GET, blob, 'repository_blob'),
)
