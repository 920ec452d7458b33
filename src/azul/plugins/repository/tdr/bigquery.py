"""
The seam between the TDR repository plugins and BigQuery: `TableClient`
runs one query and answers plain rows, so that bundle building never sees
the Google client, its row types or its exceptions. `BigQueryTableClient`
implements it with `google-cloud-bigquery`, against Google or, given an
`endpoint`, against the local stand-in (`local_bigquery`).

Failures come out as `RepositoryError` only: transient ones (429, 5xx,
BigQuery's rate limits, connection errors) after a bounded number of retries
with exponential back-off, a refused query (400, 404, ...) at once.
"""
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, Protocol

import google.auth.exceptions
import requests
from google.api_core import exceptions as google_exceptions
from google.cloud import bigquery

from azul.errors import RepositoryError

log = logging.getLogger(__name__)


class TableClient(Protocol):

    def query(self, sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """
        The rows of a query in BigQuery's dialect, with named parameters
        (`@name`) bound from `params`: scalars, and lists of strings (or of
        other scalars) as arrays. Raises `RepositoryError`.
        """


# The reasons BigQuery gives to errors worth retrying even when their status
# is not: it reports its rate limits as 403
_TRANSIENT_REASONS = frozenset({'rateLimitExceeded', 'backendError', 'internalError',
                                'badGateway'})


def _scalar_type(value: Any) -> str:
    # bool first: it is an int too
    if isinstance(value, bool):
        return 'BOOL'
    if isinstance(value, int):
        return 'INT64'
    if isinstance(value, float):
        return 'FLOAT64'
    if isinstance(value, datetime):
        return 'TIMESTAMP'
    if isinstance(value, date):
        return 'DATE'
    if value is None or isinstance(value, str):
        return 'STRING'
    raise TypeError(f'Unsupported query parameter value {value!r}')


def query_parameters(params: Mapping[str, Any]) -> list:
    """The client's parameter objects for a mapping of names to values."""
    result = []
    for name, value in params.items():
        if isinstance(value, (list, tuple, set, frozenset)):
            values = sorted(value) if isinstance(value, (set, frozenset)) else list(value)
            types = {_scalar_type(v) for v in values} or {'STRING'}
            if len(types) != 1:
                raise TypeError(f'Query parameter {name!r} mixes types {sorted(types)}')
            result.append(bigquery.ArrayQueryParameter(name, types.pop(), values))
        else:
            result.append(bigquery.ScalarQueryParameter(name, _scalar_type(value), value))
    return result


def _plain(value: Any) -> Any:
    # Rows of RECORD columns come as dicts of client values; keep them plain
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class BigQueryTableClient:
    """
    A `TableClient` over `google.cloud.bigquery.Client`, billed to `project`.
    With `endpoint` (e.g. the URL of a `LocalBigQuery`) it talks to that
    endpoint with anonymous credentials. `retries` transient failures are
    retried, waiting `initial_delay` seconds, doubled each time up to
    `max_delay`.
    """

    def __init__(self, project: str, endpoint: str | None = None, credentials=None, *,
                 retries: int = 4, initial_delay: float = 1.0, max_delay: float = 16.0,
                 page_size: int | None = None, timeout: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep):
        self.project = project
        self.endpoint = endpoint
        self._credentials = credentials
        self.retries = retries
        self.initial_delay = initial_delay
        self.max_delay = max_delay
        self.page_size = page_size
        self.timeout = timeout
        self._sleep = sleep
        self._client: bigquery.Client | None = None
        self._lock = threading.Lock()

    def _bigquery(self) -> bigquery.Client:
        # Created lazily: without an endpoint the client looks up default
        # credentials, which must not happen at import or configuration time
        with self._lock:
            if self._client is None:
                kwargs: dict[str, Any] = {'project': self.project}
                credentials = self._credentials
                if self.endpoint is not None:
                    from google.auth.credentials import AnonymousCredentials
                    kwargs['client_options'] = {'api_endpoint': self.endpoint}
                    credentials = credentials or AnonymousCredentials()
                try:
                    self._client = bigquery.Client(credentials=credentials, **kwargs)
                except google.auth.exceptions.GoogleAuthError as e:
                    raise RepositoryError(f'No credentials for BigQuery in project '
                                          f'{self.project!r}: {e}') from e
            return self._client

    def query(self, sql: str, params: Mapping[str, Any] = {}) -> list[dict[str, Any]]:
        job_config = bigquery.QueryJobConfig(query_parameters=query_parameters(params))
        client = self._bigquery()
        delay = self.initial_delay
        for attempt in range(self.retries + 1):
            try:
                # The client's own retries are off (retry=None): their
                # deadline is ten minutes, ours is a bounded number of attempts
                rows = client.query_and_wait(sql, job_config=job_config,
                                             retry=None, job_retry=None,
                                             api_timeout=self.timeout,
                                             page_size=self.page_size)
                return [{k: _plain(v) for k, v in row.items()} for row in rows]
            except Exception as e:
                problem = _transient_problem(e)
                if problem is None:
                    raise RepositoryError(f'BigQuery refused the query: {_describe(e)}') from e
                if attempt == self.retries:
                    raise RepositoryError(f'BigQuery failed {attempt + 1} times, '
                                          f'last with {problem}') from e
                log.warning('BigQuery query failed (%s), attempt %i of %i, retrying in %.2fs',
                            problem, attempt + 1, self.retries + 1, delay)
                self._sleep(delay)
                delay = min(delay * 2, self.max_delay)
        raise AssertionError('unreachable')

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _describe(e: Exception) -> str:
    if isinstance(e, google_exceptions.GoogleAPICallError):
        # The first line names the problem; the client appends the job's
        # location and id on further lines
        reason = ', '.join(err.get('reason', '') for err in e.errors or () if err.get('reason'))
        return f'{e.code} {reason + ": " if reason else ""}{e.message.splitlines()[0]}'
    return f'{type(e).__name__}: {e}'


def _transient_problem(e: Exception) -> str | None:
    """How `e` went wrong if retrying may help, None if it is final."""
    if isinstance(e, google_exceptions.GoogleAPICallError):
        reasons = {err.get('reason') for err in e.errors or ()}
        code = e.code or 0
        if code == 429 or code >= 500 or reasons & _TRANSIENT_REASONS:
            return _describe(e)
        return None
    if isinstance(e, (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                      google.auth.exceptions.TransportError, ConnectionError, TimeoutError)):
        return _describe(e)
    return None
