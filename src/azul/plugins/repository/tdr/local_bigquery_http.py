"""
The HTTP side of the local BigQuery (`local_bigquery`): the REST routes the
`google-cloud-bigquery` client uses for queries, answering in BigQuery's wire
form. The handler class is bound to a `LocalBigQuery` by subclassing, with
the attribute `bigquery`.

Run as a module it serves fixture files until interrupted, for `make run`:

    python -m azul.plugins.repository.tdr.local_bigquery_http \\
        --project local-tdr --port 0 --dataset hca_snapshot=path/to/x.tables.tdr.json

and prints its URL, the `api_endpoint` for the client, as its first line.
"""
import json
import logging
import re
import time
import uuid
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

_LOCATION = 'US'
_ROUTES = [
    ('POST', re.compile(r'/bigquery/v2/projects/([^/]+)/queries'), 'jobs_query'),
    ('POST', re.compile(r'/bigquery/v2/projects/([^/]+)/jobs'), 'jobs_insert'),
    ('GET', re.compile(r'/bigquery/v2/projects/([^/]+)/jobs/([^/]+)'), 'jobs_get'),
    ('GET', re.compile(r'/bigquery/v2/projects/([^/]+)/queries/([^/]+)'), 'get_query_results'),
]
# Status and error `status` names BigQuery answers with
_STATUS_NAMES = {400: 'INVALID_ARGUMENT', 404: 'NOT_FOUND', 409: 'ALREADY_EXISTS',
                 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE'}
_REASONS = {429: 'rateLimitExceeded', 500: 'internalError', 503: 'backendError'}


class ApiError(Exception):

    def __init__(self, status: int, message: str, reason: str):
        super().__init__(message)
        self.status, self.reason = status, reason


def error_body(status: int, message: str, reason: str) -> dict:
    return {'error': {'code': status, 'message': message,
                      'errors': [{'message': message, 'domain': 'global', 'reason': reason}],
                      'status': _STATUS_NAMES.get(status, 'UNKNOWN')}}


class Handler(BaseHTTPRequestHandler):
    bigquery: Any  # the LocalBigQuery this handler serves
    protocol_version = 'HTTP/1.1'
    # Headers and body go out in two writes: with Nagle's algorithm the body
    # waits for the client's delayed ACK of the headers, 40 ms per request
    disable_nagle_algorithm = True

    def do_GET(self):
        self._dispatch('GET')

    def do_POST(self):
        self._dispatch('POST')

    def log_message(self, format, *args):
        # Quiet by default: tests and `make run` would drown in access lines
        log.debug('local BigQuery: ' + format, *args)

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get('Content-Length') or 0)
        raw = self.rfile.read(length) if length else b''
        self.bigquery.requests.append((method, url.path))
        try:
            failure = self.bigquery.take_failure()
            if failure is not None:
                raise ApiError(failure, 'Injected failure of the local BigQuery',
                               _REASONS.get(failure, 'backendError'))
            for route_method, pattern, name in _ROUTES:
                match = pattern.fullmatch(url.path)
                if match and route_method == method:
                    body = json.loads(raw) if raw else {}
                    query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                    status, response = getattr(self, name)(*match.groups(), body=body,
                                                           args=query)
                    break
            else:
                raise ApiError(404, f'Not found: {method} {url.path}', 'notFound')
        except ApiError as e:
            status, response = e.status, error_body(e.status, str(e), e.reason)
        except json.JSONDecodeError as e:
            status, response = 400, error_body(400, f'Invalid JSON payload: {e}', 'invalid')
        self._send(status, response)

    def _send(self, status: int, body: Mapping[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json; charset=UTF-8')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # Routes

    def jobs_query(self, project: str, *, body: Mapping, args: Mapping) -> tuple[int, dict]:
        _check_dialect(body)
        job_id = 'job_' + uuid.uuid4().hex
        job = self.bigquery._execute_job(project, job_id, body.get('query', ''),
                                         body.get('queryParameters', []))
        _raise_job_error(job)
        return 200, self._results(job, 'bigquery#queryResponse',
                                  body.get('maxResults'), None, None)

    def jobs_insert(self, project: str, *, body: Mapping, args: Mapping) -> tuple[int, dict]:
        configuration = body.get('configuration', {})
        query = configuration.get('query')
        if query is None:
            raise ApiError(400, 'Only query jobs are supported', 'invalid')
        _check_dialect(query)
        reference = body.get('jobReference', {})
        job_id = reference.get('jobId') or 'job_' + uuid.uuid4().hex
        if self.bigquery.job(job_id) is not None:
            raise ApiError(409, f'Already Exists: Job {project}:{_LOCATION}.{job_id}',
                           'duplicate')
        job = self.bigquery._execute_job(project, job_id, query.get('query', ''),
                                         query.get('queryParameters', []))
        job['configuration'] = dict(configuration, jobType='QUERY')
        return 200, _job_resource(job)

    def jobs_get(self, project: str, job_id: str, *, body: Mapping,
                 args: Mapping) -> tuple[int, dict]:
        return 200, _job_resource(self._job(project, job_id))

    def get_query_results(self, project: str, job_id: str, *, body: Mapping,
                          args: Mapping) -> tuple[int, dict]:
        job = self._job(project, job_id)
        _raise_job_error(job)
        return 200, self._results(job, 'bigquery#getQueryResultsResponse',
                                  args.get('maxResults'), args.get('pageToken'),
                                  args.get('startIndex'))

    def _job(self, project: str, job_id: str) -> dict:
        job = self.bigquery.job(job_id)
        if job is None or job['project'] != project:
            raise ApiError(404, f'Not found: Job {project}:{_LOCATION}.{job_id}', 'notFound')
        return job

    def _results(self, job: Mapping, kind: str, max_results, page_token,
                 start_index) -> dict:
        rows = job['rows']
        # A page token is the index of the page's first row: results never
        # change once a job is done, so no more state is needed
        start = int(page_token) if page_token else int(start_index or 0)
        size = self.bigquery.page_size
        if max_results is not None:
            size = min(size, int(max_results))
        page = rows[start:start + size]
        response = {
            'kind': kind,
            'jobReference': _reference(job),
            'schema': {'fields': job['fields']},
            'totalRows': str(len(rows)),
            'jobComplete': True,
            'cacheHit': False,
            'totalBytesProcessed': '0',
            'queryId': job['job_id'],
        }
        if page:
            response['rows'] = page
        # maxResults=0 is the client waiting for the job, not paging
        if size and start + size < len(rows):
            response['pageToken'] = str(start + size)
        return response


def _check_dialect(query: Mapping) -> None:
    if query.get('useLegacySql'):
        raise ApiError(400, 'Legacy SQL is not supported by the local BigQuery',
                       'invalidQuery')
    if query.get('parameterMode') == 'POSITIONAL':
        raise ApiError(400, 'Positional parameters are not supported by the local BigQuery',
                       'invalidQuery')


def _raise_job_error(job: Mapping) -> None:
    error = job.get('error')
    if error is not None:
        raise ApiError(error.status, str(error), error.reason)


def _reference(job: Mapping) -> dict:
    return {'projectId': job['project'], 'jobId': job['job_id'], 'location': _LOCATION}


def _job_resource(job: Mapping) -> dict:
    now = str(int(time.time() * 1000))
    status: dict[str, Any] = {'state': 'DONE'}
    error = job.get('error')
    if error is not None:
        result = {'reason': error.reason, 'message': str(error)}
        status.update(errorResult=result, errors=[result])
    configuration = job.get('configuration') or {
        'jobType': 'QUERY', 'query': {'query': job['query'], 'useLegacySql': False}
    }
    return {
        'kind': 'bigquery#job',
        'id': f"{job['project']}:{_LOCATION}.{job['job_id']}",
        'jobReference': _reference(job),
        'configuration': configuration,
        'status': status,
        'statistics': {'creationTime': now, 'startTime': now, 'endTime': now,
                       'query': {'statementType': 'SELECT', 'totalBytesProcessed': '0'}},
    }


def main(argv: list[str] | None = None) -> None:
    import argparse
    import signal
    import sys
    import threading

    from azul.plugins.repository.tdr.local_bigquery import LocalBigQuery

    parser = argparse.ArgumentParser(description='A local stand-in for BigQuery')
    parser.add_argument('--project', default='local-project')
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--page-size', type=int, default=10_000)
    parser.add_argument('--dataset', action='append', default=[], metavar='NAME=FILE',
                        help='a TDR tables fixture file served as dataset NAME')
    args = parser.parse_args(argv)
    datasets = {}
    for item in args.dataset:
        name, sep, path = item.partition('=')
        if not sep:
            parser.error(f'--dataset {item!r} is not NAME=FILE')
        datasets[name] = path
    local = LocalBigQuery(project=args.project, datasets=datasets,
                          page_size=args.page_size, port=args.port)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with local:
        print(local.url, flush=True)
        try:
            done.wait()
        except KeyboardInterrupt:
            pass
    sys.exit(0)


if __name__ == '__main__':
    main()
