"""
A local stand-in for the BigQuery REST API, for tests and `make run`: no
BigQuery emulator is available from the package registries, and serving the
REST API lets the real `google-cloud-bigquery` client (the production code
path) run against it.

Tables come from TDR fixture files (`{"tables": {name: {"rows": [...]}}}`)
and live in an in-memory DuckDB, one DuckDB schema per BigQuery dataset (one
per snapshot). Queries arrive in BigQuery's dialect and are translated by
sqlglot; table references `project.dataset.table` (or `dataset.table` in the
job's project) are rewritten to the dataset's schema.

Supported: jobs.query (`POST .../queries`, used by `query_and_wait`),
jobs.insert (`POST .../jobs`, used by `query`), jobs.get and getQueryResults
with paging (`maxResults`, `pageToken`, `startIndex`), named scalar and array
parameters, errors in BigQuery's JSON shape. Not supported: anything else of
the API (datasets, tables, tabledata, DML, legacy SQL, positional parameters,
STRUCT parameters, INFORMATION_SCHEMA). It listens on loopback only.
"""
import base64
import json
import logging
import tempfile
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from azul.plugins.repository.tdr.local_bigquery_http import Handler

log = logging.getLogger(__name__)

_LOCATION = 'US'


class QueryError(Exception):
    """A query BigQuery would refuse: answered with `status` and `reason`."""

    def __init__(self, message: str, status: int = 400, reason: str = 'invalidQuery'):
        super().__init__(message)
        self.status = status
        self.reason = reason


def _quote(text: str) -> str:
    """A DuckDB string literal."""
    return "'" + text.replace("'", "''") + "'"


# Column types from fixture values. Objects are JSON strings, as TDR stores
# JSON in STRING columns; a column of mixed kinds falls back to STRING too.
def _kind(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return 'BOOLEAN'
    if isinstance(value, int):
        return 'BIGINT'
    if isinstance(value, float):
        return 'DOUBLE'
    return 'VARCHAR'


def _column_type(values: Iterable[Any]) -> tuple[str, bool]:
    kinds, repeated = set(), False
    for value in values:
        if isinstance(value, list):
            repeated = True
            kinds.update(_kind(v) for v in value)
        else:
            kinds.add(_kind(value))
    kinds.discard(None)
    if kinds == {'BIGINT', 'DOUBLE'}:
        kinds = {'DOUBLE'}
    kind = kinds.pop() if len(kinds) == 1 else 'VARCHAR'
    return kind, repeated


def _cell(value: Any, kind: str, repeated: bool) -> Any:
    if repeated:
        # BigQuery has no NULL arrays nor NULL elements: both read as absent
        values = value if isinstance(value, list) else [] if value is None else [value]
        return [_cell(v, kind, False) for v in values if v is not None]
    if value is None:
        return None
    if kind == 'VARCHAR' and not isinstance(value, str):
        return json.dumps(value)
    return value


class LocalBigQuery:
    """
    The stand-in. `datasets` maps `(project, dataset)` or a dataset name (in
    `project`) to a fixture file. Use as a context manager, or call `start`
    and `stop`; `url` is the endpoint to give the client as `api_endpoint`.
    """

    def __init__(self, project: str = 'local-project',
                 datasets: Mapping[str | tuple[str, str], str | Path] = (),
                 page_size: int = 10_000, max_jobs: int = 1000, port: int = 0):
        self.project = project
        self.port = port
        self.page_size = page_size
        self._max_jobs = max_jobs
        self._db = duckdb.connect(':memory:')
        self._lock = threading.Lock()
        self._schemas: dict[tuple[str, str], str] = {}
        self._tables: set[tuple[str, str]] = set()  # (DuckDB schema, table)
        self._jobs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._failures: list[int] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # (method, path) of recent requests, for tests; bounded for `make run`
        self.requests: deque[tuple[str, str]] = deque(maxlen=10_000)
        for key, path in dict(datasets).items():
            project_, dataset = key if isinstance(key, tuple) else (project, key)
            self.load(path, dataset=dataset, project=project_)

    # Loading

    def load(self, path: str | Path, dataset: str, project: str | None = None) -> None:
        with open(path) as f:
            tables = json.load(f)['tables']
        self.add_tables(dataset, {name: table['rows'] for name, table in tables.items()},
                        project=project)

    def add_tables(self, dataset: str, tables: Mapping[str, list[Mapping[str, Any]]],
                   project: str | None = None) -> None:
        project = project or self.project
        schema = f's{len(self._schemas)}_{dataset}'
        with self._lock:
            if (project, dataset) in self._schemas:
                raise ValueError(f'Dataset {project}:{dataset} is already loaded')
            self._db.execute(f'CREATE SCHEMA "{schema}"')
            self._schemas[project, dataset] = schema
            for name, rows in tables.items():
                self._create_table(schema, name, rows)

    def _create_table(self, schema: str, name: str, rows: list[Mapping[str, Any]]) -> None:
        columns = list(dict.fromkeys(column for row in rows for column in row))
        if not columns:
            raise ValueError(f'Table {name!r} has no columns')
        types = {c: _column_type(row.get(c) for row in rows) for c in columns}
        sql_types = {c: kind + ('[]' if repeated else '') for c, (kind, repeated) in types.items()}
        table = f'"{schema}"."{name}"'
        self._db.execute(f'CREATE TABLE {table} ('
                         + ', '.join(f'"{c}" {t}' for c, t in sql_types.items()) + ')')
        self._tables.add((schema, name))
        if rows:
            # Through a newline-delimited JSON file: binding rows one by one
            # (executemany) takes seconds per thousand rows, too slow for
            # the synthetic catalogs of `make run`
            with tempfile.TemporaryDirectory(prefix='local-bigquery-') as tmp:
                path = Path(tmp) / 'rows.ndjson'
                with open(path, 'w') as f:
                    for row in rows:
                        f.write(json.dumps({c: _cell(row.get(c), *types[c]) for c in columns}))
                        f.write('\n')
                spec = ', '.join(f"{_quote(c)}: '{t}'" for c, t in sql_types.items())
                names = ', '.join(f'"{c}"' for c in columns)
                self._db.execute(f'INSERT INTO {table} SELECT {names} FROM read_json('
                                 f"{_quote(str(path))}, format='newline_delimited', "
                                 f'maximum_object_size={1 << 30}, '
                                 f'columns={{{spec}}})')

    # Test hooks

    def fail_next(self, times: int, status: int = 503) -> None:
        """The next `times` API requests answer `status`, as an overloaded BigQuery."""
        with self._lock:
            self._failures.extend([status] * times)

    # Queries

    def run_query(self, sql: str, parameters: list[Mapping[str, Any]] = (),
                  project: str | None = None) -> tuple[list[dict], list[dict]]:
        """The BigQuery schema fields and wire rows of a query's result."""
        translated = self._translate(sql, project or self.project)
        params = {p['name']: _parameter(p) for p in parameters}
        if any(not p.get('name') for p in parameters):
            raise QueryError('Positional query parameters are not supported')
        with self._lock:
            cursor = self._db.cursor()
            try:
                cursor.execute(translated, params)
                rows = cursor.fetchall()
                description = cursor.description or []
            except duckdb.CatalogException as e:
                raise QueryError(f'Not found: {e}', 404, 'notFound') from e
            except duckdb.Error as e:
                raise QueryError(f'{type(e).__name__}: {e}') from e
            finally:
                cursor.close()
        fields = [_field(name, type_) for name, type_, *_ in description]
        wire = [{'f': [_value(v, f) for v, f in zip(row, fields, strict=True)]} for row in rows]
        return fields, wire

    def _translate(self, sql: str, project: str) -> str:
        try:
            tree = sqlglot.parse_one(sql, read='bigquery')
        except sqlglot.errors.SqlglotError as e:
            raise QueryError(f'Syntax error: {e}') from e
        for table in tree.find_all(exp.Table):
            if table.args.get('db') is None:
                continue  # a CTE or an unnest alias
            key = (table.catalog or project, table.db)
            try:
                schema = self._schemas[key]
            except KeyError:
                raise QueryError(f'Not found: Dataset {key[0]}:{key[1]} was not found '
                                 f'in location {_LOCATION}', 404, 'notFound') from None
            if (schema, table.name) not in self._tables:
                # Checked here, not left to DuckDB, to name the table as
                # BigQuery does rather than by its DuckDB schema
                raise QueryError(f'Not found: Table {key[0]}:{key[1]}.{table.name} was not '
                                 f'found in location {_LOCATION}', 404, 'notFound')
            table.set('catalog', None)
            table.set('db', exp.to_identifier(schema, quoted=True))
        return tree.sql(dialect='duckdb')

    def _store_job(self, project: str, job_id: str, query: str, outcome: dict) -> dict:
        job = dict(outcome, project=project, job_id=job_id, query=query)
        with self._lock:
            self._jobs[job_id] = job
            while len(self._jobs) > self._max_jobs:
                self._jobs.popitem(last=False)
        return job

    def _execute_job(self, project: str, job_id: str, query: str,
                     parameters: list[Mapping[str, Any]]) -> dict:
        try:
            fields, rows = self.run_query(query, parameters, project)
        except QueryError as e:
            outcome = {'error': e}
        else:
            outcome = {'fields': fields, 'rows': rows}
        return self._store_job(project, job_id, query, outcome)

    def job(self, job_id: str) -> dict | None:
        with self._lock:
            return self._jobs.get(job_id)

    def take_failure(self) -> int | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    # Server

    @property
    def url(self) -> str:
        assert self._server is not None, 'The local BigQuery is not started'
        host, port = self._server.server_address[:2]
        return f'http://{host}:{port}'

    def start(self) -> 'LocalBigQuery':
        handler = type('BoundHandler', (Handler,), {'bigquery': self})
        self._server = ThreadingHTTPServer(('127.0.0.1', self.port), handler)
        self._server.daemon_threads = True
        # A short poll interval: `stop` waits for the loop to notice, and
        # tests start and stop servers often
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={'poll_interval': 0.05},
                                        name='local-bigquery', daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None

    def close(self) -> None:
        self.stop()
        self._db.close()

    def __enter__(self) -> 'LocalBigQuery':
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _parameter(param: Mapping[str, Any]) -> Any:
    type_ = param.get('parameterType', {})
    value = param.get('parameterValue', {})
    if type_.get('type') == 'ARRAY':
        element = {'type': type_.get('arrayType', {}).get('type')}
        return [_parameter({'parameterType': element, 'parameterValue': v})
                for v in value.get('arrayValues', [])]
    if type_.get('type') == 'STRUCT':
        raise QueryError('STRUCT query parameters are not supported')
    raw = value.get('value')
    if raw is None:
        return None
    kind = type_.get('type')
    if kind == 'INT64':
        return int(raw)
    if kind in ('FLOAT64', 'NUMERIC', 'BIGNUMERIC'):
        return float(raw)
    if kind == 'BOOL':
        return raw.lower() == 'true'
    if kind == 'DATE':
        return date.fromisoformat(raw)
    if kind in ('TIMESTAMP', 'DATETIME'):
        return datetime.fromisoformat(raw)
    return raw


# DuckDB type ids to the legacy type names BigQuery's REST API uses
_TYPES = {
    'boolean': 'BOOLEAN', 'tinyint': 'INTEGER', 'smallint': 'INTEGER',
    'integer': 'INTEGER', 'bigint': 'INTEGER', 'hugeint': 'INTEGER',
    'utinyint': 'INTEGER', 'usmallint': 'INTEGER', 'uinteger': 'INTEGER',
    'ubigint': 'INTEGER', 'float': 'FLOAT', 'double': 'FLOAT', 'decimal': 'FLOAT',
    'date': 'DATE', 'timestamp': 'DATETIME', 'timestamp with time zone': 'TIMESTAMP',
    'blob': 'BYTES',
}


def _field(name: str, type_: Any) -> dict:
    type_id = getattr(type_, 'id', str(type_).lower())
    if type_id in ('list', 'array'):
        return dict(_field(name, type_.child), mode='REPEATED')
    if type_id == 'struct':
        return {'name': name, 'type': 'RECORD', 'mode': 'NULLABLE',
                'fields': [_field(n, t) for n, t in type_.children]}
    return {'name': name, 'type': _TYPES.get(type_id, 'STRING'), 'mode': 'NULLABLE'}


def _value(value: Any, field: Mapping[str, Any]) -> dict:
    """One cell as BigQuery sends it: scalars as strings, arrays as lists of cells."""
    if field.get('mode') == 'REPEATED':
        scalar = dict(field, mode='NULLABLE')
        return {'v': [_value(v, scalar) for v in value or () if v is not None]}
    if value is None:
        return {'v': None}
    if field['type'] == 'RECORD':
        values = value.values() if isinstance(value, Mapping) else value
        return {'v': {'f': [_value(v, f) for v, f in zip(values, field['fields'], strict=True)]}}
    if isinstance(value, bool):
        return {'v': 'true' if value else 'false'}
    if isinstance(value, datetime):
        if field['type'] == 'TIMESTAMP':
            # Microseconds since the epoch, as the client asks for with
            # formatOptions.useInt64Timestamp
            micros = (value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC))
            return {'v': str(micros // _MICROSECOND)}
        return {'v': value.isoformat()}
    if isinstance(value, date):
        return {'v': value.isoformat()}
    if isinstance(value, (float, Decimal)):
        return {'v': repr(float(value))}
    if isinstance(value, bytes):
        return {'v': base64.b64encode(value).decode()}
    if isinstance(value, (dict, list)):
        return {'v': json.dumps(value)}
    return {'v': str(value)}


_MICROSECOND = datetime(1970, 1, 1, 0, 0, 0, 1) - datetime(1970, 1, 1)

