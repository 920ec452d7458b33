"""
HCA bundles from the tables of a Terra Data Repository (TDR) snapshot.

A TDR HCA snapshot has one table per entity type (`project`,
`donor_organism`, `sequence_file`, ...), keyed by `<table>_id`, plus a
`links` table whose rows are links documents (subgraphs). A bundle is one
links document: its uuid and version are the row's `links_id` and
`version`, its metadata the `content` of every entity the document names.

A subgraph may consume files another subgraph produced. Such "dangling"
file inputs are followed, recursively, to the links documents whose processes
output them; those upstream subgraphs are stitched in: their links merged
into the bundle's, their entities listed in `Bundle.stitched` so that the
indexer credits them to their own bundles. The builder is pure over
`HCATables`, whose methods are one BigQuery query each (`SQLHCATables`).
"""
import json
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from azul.core.documents import BundleFQID
from azul.errors import NotFoundError, RepositoryError
from azul.plugins.repository.base import Bundle

Row = Mapping[str, Any]
EntityRef = tuple[str, str]  # (entity type, entity id)


class HCATables(Protocol):
    """Read access to the tables of one TDR HCA snapshot."""

    def latest_links(self, prefix: str) -> list[Row]:
        """`links_id` and greatest `version` of links rows whose id starts with `prefix`."""

    def links(self, links_ids: Collection[str]) -> list[Row]:
        """Every version of the links rows with the given ids, all columns."""

    def producers(self, output_ids: Collection[str]) -> list[Row]:
        """`links_id`, `version`, `output_id` of process links outputting one of `output_ids`."""

    def entities(self, table: str, ids: Collection[str]) -> list[Row]:
        """The rows of an entity table whose `<table>_id` is one of `ids`, all columns."""

    def entities_of(self, wanted: Mapping[str, Collection[str]]) -> dict[str, list[Row]]:
        """`entities` of every table in `wanted`, by table, in as few queries as can be."""


# BigQuery SQL of the queries behind `HCATables`. `{table}` is a fully
# qualified, backticked table name, `{pk}` the table's key column; values are
# named parameters so that no id is ever spliced into the SQL text.
LATEST_LINKS_SQL = '''
SELECT links_id, MAX(version) AS version FROM {table}
WHERE STARTS_WITH(links_id, @prefix) GROUP BY links_id
'''

LINKS_SQL = 'SELECT * FROM {table} WHERE links_id IN UNNEST(@links_ids)'

PRODUCERS_SQL = '''
SELECT links.links_id,
       links.version,
       JSON_EXTRACT_SCALAR(link_output, '$.output_id') AS output_id
FROM {table} AS links
  JOIN UNNEST(JSON_EXTRACT_ARRAY(links.content, '$.links')) AS content_links
    ON JSON_EXTRACT_SCALAR(content_links, '$.link_type') = 'process_link'
  JOIN UNNEST(JSON_EXTRACT_ARRAY(content_links, '$.outputs')) AS link_output
    ON JSON_EXTRACT_SCALAR(link_output, '$.output_id') IN UNNEST(@output_ids)
'''

# Rows of one of several tables, the whole row as JSON (see `entities_of`)
ENTITIES_JSON_SQL = '''
SELECT '{name}' AS azul_table, {pk} AS azul_id, version AS azul_version,
       TO_JSON_STRING(t) AS azul_row
FROM {table} AS t WHERE {pk} IN UNNEST(@ids{i})'''

# `SELECT *` rather than a column list: a table that lacks a column then
# yields rows without it, which the builder reports naming the row, instead
# of a query error that names neither row nor bundle.
ENTITIES_SQL = 'SELECT * FROM {table} WHERE {pk} IN UNNEST(@ids)'

_identifier = re.compile(r'[a-z][a-z0-9_]*')


def table_name(dataset: str, table: str) -> str:
    """
    The backticked name of a snapshot table. Table names come from links
    documents, i.e. from data, so anything but a plain identifier is refused.

    >>> table_name('proj.snap', 'sequence_file')
    '`proj.snap.sequence_file`'
    """
    if not _identifier.fullmatch(table):
        raise RepositoryError(f'Not a TDR table name: {table!r}')
    return f'`{dataset}.{table}`'


def sql_for(query: str, dataset: str, table: str = 'links') -> str:
    """The SQL text of one of the queries above against a table of `dataset`."""
    return query.format(table=table_name(dataset, table), pk=table + '_id')


class QueryClient(Protocol):
    def query(self, sql: str, params: Mapping[str, Any]) -> list[dict]: ...


class SQLHCATables:
    """`HCATables` over any client that runs BigQuery SQL with named parameters."""

    def __init__(self, client: QueryClient, dataset: str):
        self.client = client
        self.dataset = dataset

    def latest_links(self, prefix: str) -> list[Row]:
        return self.client.query(sql_for(LATEST_LINKS_SQL, self.dataset), {'prefix': prefix})

    def links(self, links_ids: Collection[str]) -> list[Row]:
        return self.client.query(sql_for(LINKS_SQL, self.dataset),
                                 {'links_ids': sorted(links_ids)})

    def producers(self, output_ids: Collection[str]) -> list[Row]:
        return self.client.query(sql_for(PRODUCERS_SQL, self.dataset),
                                 {'output_ids': sorted(output_ids)})

    def entities(self, table: str, ids: Collection[str]) -> list[Row]:
        return self.client.query(sql_for(ENTITIES_SQL, self.dataset, table),
                                 {'ids': sorted(ids)})

    def entities_of(self, wanted: Mapping[str, Collection[str]]) -> dict[str, list[Row]]:
        # One query for the dozen or so tables of a bundle: each query costs a
        # round trip and a job, far more than its few rows. Rows of different
        # tables differ in columns, so each travels as JSON; the version
        # separately, as the client decodes BigQuery's TIMESTAMPs.
        tables = sorted(wanted)
        if not tables:
            return {}
        sql = '\nUNION ALL\n'.join(
            ENTITIES_JSON_SQL.format(name=name, table=table_name(self.dataset, name),
                                     pk=name + '_id', i=i)
            for i, name in enumerate(tables))
        params = {f'ids{i}': sorted(wanted[name]) for i, name in enumerate(tables)}
        result: dict[str, list[Row]] = {name: [] for name in tables}
        for row in self.client.query(sql, params):
            try:
                entity = json.loads(row['azul_row'])
            except (TypeError, ValueError):
                raise RepositoryError(f'Row {row.get("azul_id")} of table '
                                      f'{row.get("azul_table")!r} is not a JSON object') from None
            entity['version'] = row['azul_version']
            result[row['azul_table']].append(entity)
        return result


def format_version(version: Any) -> str:
    """
    A row's version in the DCP/2 form of bundle versions. BigQuery answers
    TIMESTAMPs as datetimes; the fixtures hold strings of that form already.

    >>> format_version(datetime(2020, 8, 10, 21, 24, 26, 174274, tzinfo=UTC))
    '2020-08-10T21:24:26.174274Z'
    """
    if isinstance(version, datetime):
        if version.tzinfo is not None:
            version = version.astimezone(UTC)
        return version.strftime('%Y-%m-%dT%H:%M:%S.%fZ')
    if isinstance(version, str):
        return version
    raise RepositoryError(f'Not a version: {version!r}')


def list_bundles(tables: HCATables, prefix: str = '') -> list[tuple[str, str]]:
    """(uuid, version) of the newest version of every links row under `prefix`."""
    latest: dict[str, str] = {}
    for row in tables.latest_links(prefix):
        links_id = _column(row, 'links_id', 'links', '?')
        version = format_version(_column(row, 'version', 'links', links_id))
        # The SQL already picks the newest version; this keeps the in-memory
        # tables, which may answer every version, equally correct
        if links_id.startswith(prefix) and version > latest.get(links_id, ''):
            latest[links_id] = version
    return sorted(latest.items())


def _column(row: Row, column: str, table: str, row_id: str, nullable: bool = False) -> Any:
    try:
        value = row[column]
    except (KeyError, TypeError):  # TypeError: a JSON column that is no object
        raise RepositoryError(f'Row {row_id} of table {table!r} lacks column {column!r}') from None
    if value is None and not nullable:
        raise RepositoryError(f'Row {row_id} of table {table!r} has no value in {column!r}')
    return value


def _json(value: Any, column: str, table: str, row_id: str) -> Any:
    # A JSON column is a string in BigQuery and an object in the fixtures
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError as e:
            raise RepositoryError(f'Row {row_id} of table {table!r}: bad JSON in {column!r}') from e
    return value


class _Links:
    """The entities one links document names, by role."""

    def __init__(self, links_id: str, project_id: str, content: Mapping[str, Any]):
        self.project: EntityRef = ('project', project_id)
        self.processes: set[EntityRef] = set()
        self.protocols: set[EntityRef] = set()
        self.inputs: set[EntityRef] = set()
        self.outputs: set[EntityRef] = set()
        self.supplementary_files: set[EntityRef] = set()
        try:
            for link in content['links']:
                link_type = link['link_type']
                if link_type == 'process_link':
                    self.processes.add((link['process_type'], link['process_id']))
                    for role, target in (('input', self.inputs),
                                         ('output', self.outputs),
                                         ('protocol', self.protocols)):
                        for entity in link[role + 's']:
                            target.add((entity[role + '_type'], entity[role + '_id']))
                elif link_type == 'supplementary_file_link':
                    entity = link['entity']
                    associate = (entity['entity_type'], entity['entity_id'])
                    # Only the bundle's own project can carry supplementary files
                    if associate != self.project:
                        raise RepositoryError(f'Links {links_id}: supplementary files of '
                                              f'{associate}, not of the project {project_id}')
                    for file in link['files']:
                        self.supplementary_files.add(('supplementary_file', file['file_id']))
                else:
                    raise RepositoryError(f'Links {links_id}: unknown link_type {link_type!r}')
        except (KeyError, TypeError) as e:
            raise RepositoryError(f'Links {links_id}: malformed links document ({e!r})') from e

    def all_entities(self) -> set[EntityRef]:
        return {self.project, *self.processes, *self.protocols,
                *self.inputs, *self.outputs, *self.supplementary_files}

    def dangling_inputs(self) -> set[EntityRef]:
        """Input files this subgraph does not produce: another subgraph did."""
        return {
            entity for entity in self.inputs
            if entity[0].endswith('_file')
            and entity not in self.outputs
            and entity not in self.supplementary_files
        }


def _fetch_links(tables: HCATables, wanted: Iterable[tuple[str, str]]) -> list[Row]:
    """The links rows of the given (links_id, version) pairs, in the given order."""
    wanted = list(wanted)
    wanted_set = set(wanted)
    rows: dict[tuple[str, str], Row] = {}
    for row in tables.links({links_id for links_id, _ in wanted}):
        links_id = _column(row, 'links_id', 'links', '?')
        version = format_version(_column(row, 'version', 'links', links_id))
        key = (links_id, version)
        if key in wanted_set:
            if key in rows:
                raise RepositoryError(f'Links {links_id} version {version} occurs twice')
            rows[key] = row
    return [rows[key] for key in wanted if key in rows]


def _stitch(tables: HCATables,
            uuid: str,
            version: str
            ) -> tuple[dict[str, set[str]], set[EntityRef], list[Mapping[str, Any]]]:
    """
    Breadth-first from the bundle's links document through the producers of
    dangling inputs, each links document once. Returns the entity ids by
    type, the entities of the bundle's own subgraph and the links contents,
    the bundle's first.
    """
    entities: dict[str, set[str]] = defaultdict(set)
    own: set[EntityRef] | None = None
    contents: list[Mapping[str, Any]] = []
    pending: list[tuple[str, str]] = [(uuid, version)]
    seen: set[tuple[str, str]] = set(pending)
    while pending:
        rows = _fetch_links(tables, pending)
        if own is None and not rows:
            raise NotFoundError(f'No bundle {uuid} version {version} in table links')
        found = {(row['links_id'], format_version(row['version'])) for row in rows}
        if found != set(pending):
            raise RepositoryError(f'Links rows not found: {sorted(set(pending) - found)}')
        dangling: set[EntityRef] = set()
        for row in rows:
            links_id = row['links_id']
            project_id = _column(row, 'project_id', 'links', links_id)
            content = _json(_column(row, 'content', 'links', links_id),
                            'content', 'links', links_id)
            links = _Links(links_id, project_id, content)
            contents.append(content)
            linked = links.all_entities()
            if own is None:
                own = linked - links.dangling_inputs()
            for entity_type, entity_id in linked:
                entities[entity_type].add(entity_id)
            dangling |= links.dangling_inputs()
        pending = []
        if dangling:
            upstream = _upstream(tables, {entity_id for _, entity_id in dangling})
            pending = sorted(upstream - seen)
            seen.update(pending)
    assert own is not None
    return entities, own, contents


def _upstream(tables: HCATables, output_ids: set[str]) -> set[tuple[str, str]]:
    """The links documents whose processes output the given files."""
    upstream: set[tuple[str, str]] = set()
    produced: set[str] = set()
    for row in tables.producers(output_ids):
        links_id = _column(row, 'links_id', 'links', '?')
        upstream.add((links_id, format_version(_column(row, 'version', 'links', links_id))))
        produced.add(_column(row, 'output_id', 'links', links_id))
    missing = output_ids - produced
    if missing:
        raise RepositoryError(f'Dangling inputs produced by no links document: {sorted(missing)}')
    return upstream


def _merge_links(contents: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    """A bundle's own links document, or one merged from its stitched subgraphs."""
    if len(contents) == 1:
        return contents[0]
    # The original pins the merged document to this schema whatever the
    # versions of its parts (it does not check their compatibility either)
    merged = {
        'schema_type': 'links',
        'schema_version': '3.0.0',
        'describedBy': 'https://schema.humancellatlas.org/system/3.0.0/links',
        'links': [link for content in contents for link in content['links']],
    }
    if any(content.keys() != merged.keys() for content in contents):
        raise RepositoryError('Stitched links documents have differing top-level properties')
    return merged


def _drs_uri(file_id: str | None, descriptor: Mapping[str, Any], row_id: str) -> str | None:
    if file_id is None:
        # A file without a TDR file id must say so in its descriptor; an
        # external DRS URI there is not served, as in the original
        if 'drs_uri' not in descriptor:
            raise RepositoryError(f'File {row_id}: `file_id` is null and the '
                                  f'descriptor has no `drs_uri`')
        return None
    if not isinstance(file_id, str) or not file_id.startswith('drs://'):
        raise RepositoryError(f'File {row_id}: `file_id` is not a DRS URI: {file_id!r}')
    return file_id


def _manifest_entry(table: str, row_id: str, row: Row,
                    content: Mapping[str, Any]) -> dict[str, Any]:
    descriptor = _json(_column(row, 'descriptor', table, row_id), 'descriptor', table, row_id)
    file_id = _column(row, 'file_id', table, row_id, nullable=True)
    try:
        name = content['file_core']['file_name']
    except (KeyError, TypeError):
        raise RepositoryError(f'File {row_id} of table {table!r}: no file_core.file_name') from None
    where = f'descriptor of {row_id}'
    entry = {
        'name': name,
        'uuid': _column(descriptor, 'file_id', table, where),
        'version': _column(descriptor, 'file_version', table, where),
        'content-type': _column(descriptor, 'content_type', table, where) + '; dcp-type=data',
        'size': _column(descriptor, 'size', table, where),
        'indexed': False,
        'drs_uri': _drs_uri(file_id, descriptor, row_id),
        'crc32c': _column(descriptor, 'crc32c', table, where),
        'sha256': _column(descriptor, 'sha256', table, where),
    }
    # Older descriptors lack the DSS-era checksums; absent, not null
    for checksum in ('sha1', 's3_etag'):
        if descriptor.get(checksum) is not None:
            entry[checksum] = descriptor[checksum]
    return entry


def build_bundle(tables: HCATables, source: str, uuid: str, version: str) -> Bundle:
    """
    The bundle of links document `uuid` at `version`, with its upstream
    subgraphs stitched in. Raises `NotFoundError` if there is no such links
    row and `RepositoryError` for any row or reference it cannot use.
    """
    entities, own, contents = _stitch(tables, uuid, version)
    links = _merge_links(contents)
    metadata: dict[str, Mapping[str, Any]] = {}
    manifest: dict[str, dict[str, Any]] = {}
    stitched: set[str] = set()
    fetched = tables.entities_of(entities)
    for table in sorted(entities):
        ids = entities[table]
        pk = table + '_id'
        rows: dict[str, Row] = {}
        for i, row in enumerate(fetched[table]):
            row_id = _column(row, pk, table, f'#{i}')
            if row_id in rows:
                raise RepositoryError(f'Row {row_id} occurs twice in table {table!r}')
            if row_id in ids:
                rows[row_id] = row
        missing = ids - rows.keys()
        if missing:
            raise RepositoryError(f'Entities named by links but not in table {table!r}: '
                                  f'{sorted(missing)}')
        for row_id in sorted(rows):
            row = rows[row_id]
            _column(row, 'version', table, row_id)
            content = _json(_column(row, 'content', table, row_id), 'content', table, row_id)
            key = f'{table}/{row_id}'
            metadata[key] = content
            is_stitched = (table, row_id) not in own
            if is_stitched:
                stitched.add(row_id)
            if table.endswith('_file'):
                entry = _manifest_entry(table, row_id, row, content)
                manifest[key] = entry
                if is_stitched:
                    # A stitched file's data file is stitched with it
                    stitched.add(entry['uuid'])
    manifest = dict(sorted(manifest.items(), key=lambda item: item[1]['uuid']))
    return Bundle(fqid=BundleFQID(uuid=uuid, version=version),
                  source=source,
                  manifest=manifest,
                  metadata=metadata,
                  links=links,
                  stitched=frozenset(stitched),
                  kind='tdr')
