"""
One place that turns opensearch-py's exceptions into Azul's, so that no raw
transport error reaches the indexer or the service.
"""
import contextlib
from collections.abc import Iterator

from opensearchpy import exceptions as os_errors

from azul.errors import AzulError, ServiceUnavailableError

# Statuses that mean the cluster is there but cannot serve us right now
_unavailable_statuses = frozenset({429, 502, 503, 504})


def error_type(e: os_errors.TransportError) -> str | None:
    """The `type` of an OpenSearch error response, e.g. `index_not_found_exception`."""
    info = e.info if isinstance(e.info, dict) else {}
    error = info.get('error')
    if isinstance(error, dict):
        return error.get('type')
    return error if isinstance(error, str) else None


def translate(e: Exception, endpoint: str) -> AzulError:
    if isinstance(e, os_errors.ConnectionError):
        # Includes ConnectionTimeout and SSLError; status is 'N/A'
        return ServiceUnavailableError(f'OpenSearch at {endpoint} is unreachable: '
                                       f'{e.info or e.error}')
    elif isinstance(e, (os_errors.AuthenticationException, os_errors.AuthorizationException)):
        return ServiceUnavailableError(f'OpenSearch at {endpoint} rejected our credentials '
                                       f'({e.status_code})')
    elif isinstance(e, os_errors.TransportError):
        status = e.status_code
        if status in _unavailable_statuses or not isinstance(status, int):
            return ServiceUnavailableError(f'OpenSearch at {endpoint} is unavailable '
                                           f'({status}): {e.error}')
        return AzulError(f'OpenSearch at {endpoint} failed ({status}, {e.error}): '
                         f'{_reason(e)}')
    elif isinstance(e, os_errors.OpenSearchException):
        return AzulError(f'OpenSearch client error for {endpoint}: {e}')
    else:
        raise TypeError(e)


def _reason(e: os_errors.TransportError) -> str:
    info = e.info if isinstance(e.info, dict) else {}
    error = info.get('error')
    if isinstance(error, dict):
        causes = error.get('root_cause') or [error]
        return '; '.join(str(c.get('reason')) for c in causes if isinstance(c, dict))
    return str(info or e)


@contextlib.contextmanager
def translated(endpoint: str) -> Iterator[None]:
    try:
        yield
    except os_errors.OpenSearchException as e:
        raise translate(e, endpoint) from e
