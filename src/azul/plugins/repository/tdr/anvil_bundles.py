"""
AnVIL bundles from the tables of a Terra Data Repository (TDR) snapshot.

AnVIL has no bundles of its own: a snapshot is relational, one table per
entity type (`anvil_biosample`, `anvil_file`, ...), rows keyed by business ids
(`<type>_id` without the prefix) that foreign keys refer to. As the original
Azul's `tdr_anvil` plugin did, bundles are made up from the rows:

* primary: one per biosample. From the biosample downstream (activities that
  used it, the files they generated, activities that used those, ...), then
  from everything found so far upstream (the activities that generated each
  file and what they used, each biosample's dataset and donors, each donor's
  diagnoses), each until nothing new turns up;
* supplementary: one per file with `is_supplementary`, the file and the
  snapshot's dataset, linked dataset → file;
* DUOS: one per dataset, only the dataset's `description`, which comes from
  DUOS (`DUOSClient`), not from the tables.

A bundle's uuid is its root row's `datarepo_row_id` with the uuid version
digit set to `a`, its version the fixed `FIXED_VERSION` (snapshots are not
versioned). Entities are keyed `<table>/<datarepo_row_id>`. The builder is
pure over `AnvilTables`, whose methods are one BigQuery query each
(`SQLAnvilTables`).
"""
import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Protocol

from azul.core.documents import BundleFQID
from azul.errors import NotFoundError, RepositoryError
from azul.plugins.repository.base import Bundle
from azul.plugins.repository.tdr.hca_bundles import QueryClient, table_name

Row = Mapping[str, Any]
Key = tuple[str, str]  # (table, business id): what foreign keys name
Link = tuple[frozenset[Key], Key | None, frozenset[Key]]  # inputs, activity, outputs

FIXED_VERSION = '2022-06-01T00:00:00.000000Z'

# The version digit of `datarepo_row_id`s (random uuids) and of bundle uuids;
# changing it keeps a bundle's uuid from colliding with its root entity's
ROW_UUID_VERSION = '4'
BUNDLE_UUID_VERSION = 'a'
_VERSION_DIGIT = 14  # index of the version digit in a uuid's text

BIOSAMPLE, DATASET, DONOR, DIAGNOSIS, FILE = (
    'anvil_biosample', 'anvil_dataset', 'anvil_donor', 'anvil_diagnosis', 'anvil_file')

# Activity tables and the foreign key columns through which they use
# biosamples and files; every one names the files it generated in
# `generated_file_id`
ACTIVITIES: Mapping[str, tuple[str, ...]] = {
    'anvil_activity': ('used_biosample_id', 'used_file_id'),
    'anvil_alignmentactivity': ('used_file_id',),
    'anvil_assayactivity': ('used_biosample_id',),
    'anvil_sequencingactivity': ('used_biosample_id',),
    'anvil_variantcallingactivity': ('used_file_id',),
}
_USED_TYPE = {'used_biosample_id': BIOSAMPLE, 'used_file_id': FILE}


class DUOSClient(Protocol):
    """The Data Use Oversight System, where a dataset's description lives."""

    def description(self, dataset_id: str) -> str | None:
        """The study description of a dataset, by its `dataset_id`, or None."""


class AnvilTables(Protocol):
    """Read access to the tables of one TDR AnVIL snapshot."""

    def row_ids(self, table: str, prefix: str, supplementary: bool = False) -> list[Row]:
        """`datarepo_row_id` of rows whose id starts with `prefix`; only supplementary files."""

    def rows(self, table: str, column: str, values: Collection[str]) -> list[Row]:
        """All columns of the rows whose scalar `column` is one of `values`."""

    def rows_containing(self, table: str, column: str, values: Collection[str]) -> list[Row]:
        """All columns of the rows whose array `column` holds one of `values`."""

    def rows_containing_any(self, requests: Sequence[tuple[str, str, Collection[str]]]
                            ) -> list[list[Row]]:
        """`rows_containing` of each (table, column, values), in as few queries as can be."""

    def all_rows(self, table: str) -> list[Row]:
        """All columns of every row of a (small) table."""


# BigQuery SQL of the queries behind `AnvilTables`. `{table}` is a backticked
# table name, `{column}` a column name from this module, never from data;
# values are named parameters.
ROW_IDS_SQL = 'SELECT datarepo_row_id FROM {table} WHERE STARTS_WITH(datarepo_row_id, @prefix)'
SUPPLEMENTARY_ROW_IDS_SQL = ROW_IDS_SQL + ' AND is_supplementary'
# `SELECT *`: a row lacking a column is then reported naming the row
ROWS_SQL = 'SELECT * FROM {table} WHERE {column} IN UNNEST(@values)'
ROWS_CONTAINING_SQL = '''
SELECT * FROM {table}
WHERE EXISTS (SELECT 1 FROM UNNEST({column}) AS ref WHERE ref IN UNNEST(@values))
'''
ALL_ROWS_SQL = 'SELECT * FROM {table}'
# One of several `ROWS_CONTAINING_SQL`, each row as JSON (see `rows_containing_any`)
ROWS_CONTAINING_JSON_SQL = '''
SELECT {{i}} AS azul_request, TO_JSON_STRING(t) AS azul_row FROM {table} AS t
WHERE EXISTS (SELECT 1 FROM UNNEST(t.{column}) AS ref WHERE ref IN UNNEST(@values{{i}}))'''


class SQLAnvilTables:
    """`AnvilTables` over any client that runs BigQuery SQL with named parameters."""

    def __init__(self, client: QueryClient, dataset: str):
        self.client = client
        self.dataset = dataset

    def _sql(self, query: str, table: str, column: str = '') -> str:
        if column:
            table_name(self.dataset, column)  # refuses anything but an identifier
        return query.format(table=table_name(self.dataset, table), column=column)

    def row_ids(self, table: str, prefix: str, supplementary: bool = False) -> list[Row]:
        sql = SUPPLEMENTARY_ROW_IDS_SQL if supplementary else ROW_IDS_SQL
        return self.client.query(self._sql(sql, table), {'prefix': prefix})

    def rows(self, table: str, column: str, values: Collection[str]) -> list[Row]:
        return self.client.query(self._sql(ROWS_SQL, table, column), {'values': sorted(values)})

    def rows_containing(self, table: str, column: str, values: Collection[str]) -> list[Row]:
        return self.client.query(self._sql(ROWS_CONTAINING_SQL, table, column),
                                 {'values': sorted(values)})

    def rows_containing_any(self, requests: Sequence[tuple[str, str, Collection[str]]]
                            ) -> list[list[Row]]:
        # One query for the activity tables of a traversal step: each query
        # costs a round trip and a job, far more than its few rows. Rows of
        # different tables differ in columns, so each travels as JSON.
        result: list[list[Row]] = [[] for _ in requests]
        if not requests:
            return result
        sql = '\nUNION ALL\n'.join(
            self._sql(ROWS_CONTAINING_JSON_SQL, table, column).replace('{i}', str(i))
            for i, (table, column, _) in enumerate(requests))
        params = {f'values{i}': sorted(values) for i, (_, _, values) in enumerate(requests)}
        for row in self.client.query(sql, params):
            try:
                entity = json.loads(row['azul_row'])
            except (TypeError, ValueError):
                raise RepositoryError(f'A row of {requests[row["azul_request"]][0]!r} is '
                                      f'not a JSON object') from None
            result[int(row['azul_request'])].append(entity)
        return result

    def all_rows(self, table: str) -> list[Row]:
        return self.client.query(self._sql(ALL_ROWS_SQL, table), {})


def bundle_uuid(row_id: str) -> str:
    """
    >>> bundle_uuid('826dea02-e274-4ffe-aabc-eb3db63ad068')
    '826dea02-e274-affe-aabc-eb3db63ad068'
    """
    if len(row_id) != 36 or row_id[_VERSION_DIGIT] != ROW_UUID_VERSION:
        # Its bundle could not be fetched: the row id is found from the uuid
        raise RepositoryError(f'Row {row_id}: datarepo_row_id is not a version 4 uuid')
    return _swap(row_id, BUNDLE_UUID_VERSION)


def _swap(uuid: str, digit: str) -> str:
    return uuid[:_VERSION_DIGIT] + digit + uuid[_VERSION_DIGIT + 1:]


def _is_placeholder(row: Row) -> bool:
    # Empty tables hold one row of empty values and no `datarepo_row_id`,
    # only to define the table's columns
    return row.get('datarepo_row_id') is None


def _real(rows: Iterable[Row]) -> list[Row]:
    return [row for row in rows if not _is_placeholder(row)]


def _name(table: str, row: Row) -> str:
    row_id = row.get('datarepo_row_id') if isinstance(row, Mapping) else None
    return f'{table}/{row_id}' if row_id else f'a row of {table}'


def _column(row: Row, column: str, table: str, nullable: bool = False) -> Any:
    try:
        value = row[column]
    except KeyError:
        raise RepositoryError(f'Row {_name(table, row)} lacks column {column!r}') from None
    if value is None and not nullable:
        raise RepositoryError(f'Row {_name(table, row)} has no value in {column!r}')
    return value


def _keys(row: Row, column: str, table: str) -> list[str]:
    values = _column(row, column, table)
    if not isinstance(values, list):
        raise RepositoryError(f'Row {_name(table, row)}: {column!r} is not an array')
    return values


def _pk(table: str) -> str:
    return table.removeprefix('anvil_') + '_id'


def list_bundles(tables: AnvilTables, prefix: str = '', duos: bool = False) -> list[str]:
    """The uuids of the bundles under `prefix`, DUOS bundles only if `duos`."""
    if len(prefix) > _VERSION_DIGIT:
        if prefix[_VERSION_DIGIT] != BUNDLE_UUID_VERSION:
            return []
        prefix = _swap(prefix, ROW_UUID_VERSION)
    roots = [(BIOSAMPLE, False), (FILE, True)] + ([(DATASET, False)] if duos else [])
    uuids = {
        bundle_uuid(_column(row, 'datarepo_row_id', table))
        for table, supplementary in roots
        for row in tables.row_ids(table, prefix, supplementary)
    }
    return sorted(uuids)


def build_bundle(tables: AnvilTables,
                 source: str,
                 uuid: str,
                 version: str,
                 duos: DUOSClient | None = None
                 ) -> Bundle:
    """
    The bundle of that uuid. Raises `NotFoundError` if no row roots it and
    `RepositoryError` for any row or reference it cannot use.
    """
    if version != FIXED_VERSION or len(uuid) != 36 or uuid[_VERSION_DIGIT] != BUNDLE_UUID_VERSION:
        raise NotFoundError(f'No AnVIL bundle {uuid} version {version}')
    row_id = _swap(uuid, ROW_UUID_VERSION)
    if biosample := _root(tables, BIOSAMPLE, row_id):
        entities, links = _primary(tables, biosample)
    elif (file := _root(tables, FILE, row_id)) and _column(file, 'is_supplementary', FILE):
        entities, links = _supplementary(tables, file)
    elif duos is not None and (dataset := _root(tables, DATASET, row_id)):
        dataset_id = _column(dataset, _pk(DATASET), DATASET)
        entities = {f'{DATASET}/{row_id}': {'description': duos.description(dataset_id),
                                            'version': FIXED_VERSION}}
        links = []
    else:
        raise NotFoundError(f'No AnVIL bundle {uuid} version {version}')
    return Bundle(fqid=BundleFQID(uuid=uuid, version=version),
                  source=source,
                  manifest={},
                  metadata=entities,
                  links={'links': links},
                  stitched=frozenset(),
                  kind='tdr')


def _root(tables: AnvilTables, table: str, row_id: str) -> Row | None:
    rows = _real(tables.rows(table, 'datarepo_row_id', [row_id]))
    if len(rows) > 1:
        raise RepositoryError(f'Row {table}/{row_id} occurs {len(rows)} times')
    return rows[0] if rows else None


def _entity(table: str, row: Row) -> dict[str, Any]:
    entity = dict(row, version=FIXED_VERSION)
    if table == FILE:
        drs_uri = _column(row, 'file_ref', table)
        if not isinstance(drs_uri, str) or not drs_uri.startswith('drs://'):
            raise RepositoryError(f'Row {_name(table, row)}: file_ref is not a DRS URI')
        # The original's manifest entries had these checksums empty: TDR
        # tables hold only the MD5 (`file_md5sum`)
        entity.update(drs_uri=drs_uri, sha256='', crc32='')
    return entity


def _the_dataset(tables: AnvilTables) -> Row:
    rows = _real(tables.all_rows(DATASET))
    if len(rows) != 1:
        raise RepositoryError(f'The snapshot has {len(rows)} rows in {DATASET}; expected one')
    return rows[0]


def _supplementary(tables: AnvilTables, file: Row) -> tuple[dict, list]:
    dataset = _the_dataset(tables)
    dataset_ref, file_ref = _name(DATASET, dataset), _name(FILE, file)
    # Supplementary files have no foreign keys; the link to the dataset is made
    # up so that the file's dataset shows in the service's answers
    entities = {dataset_ref: _entity(DATASET, dataset), file_ref: _entity(FILE, file)}
    return entities, [{'inputs': [dataset_ref], 'activity': None, 'outputs': [file_ref]}]


class _Graph:
    """The keys and links found from one biosample, and who referred to each key."""

    def __init__(self, root: Key):
        self.keys: set[Key] = {root}
        self.links: set[Link] = set()
        self.referrers: dict[Key, str] = {}

    def link(self, referrer: str, inputs: Iterable[Key], activity: Key | None,
             outputs: Iterable[Key]) -> None:
        link = (frozenset(inputs), activity, frozenset(outputs))
        for key in _link_keys(link):
            self.referrers.setdefault(key, referrer)
        self.links.add(link)

    def by_type(self, keys: Iterable[Key]) -> dict[str, set[str]]:
        result: dict[str, set[str]] = defaultdict(set)
        for table, key in keys:
            result[table].add(key)
        return result

    def expand(self, step) -> None:
        """Apply `step` to the newly found keys until it finds none."""
        frontier = set(self.keys)
        while frontier:
            step(self.by_type(frontier))
            frontier = {key for link in self.links for key in _link_keys(link)} - self.keys
            self.keys |= frontier


def _link_keys(link: Link) -> set[Key]:
    inputs, activity, outputs = link
    return {*inputs, *outputs, *([activity] if activity else [])}


def _downstream(tables: AnvilTables, graph: _Graph, keys: Mapping[str, set[str]]) -> None:
    requests = [(table, column, keys[_USED_TYPE[column]])
                for table, used_columns in ACTIVITIES.items()
                for column in used_columns
                if keys.get(_USED_TYPE[column])]
    for (table, column, _), rows in zip(requests, tables.rows_containing_any(requests),
                                        strict=True):
        used_type = _USED_TYPE[column]
        for row in _real(rows):
            activity = (table, _column(row, _pk(table), table))
            outputs = [(FILE, f) for f in _keys(row, 'generated_file_id', table)]
            for used in set(_keys(row, column, table)) & keys[used_type]:
                graph.link(_name(table, row), [(used_type, used)], activity, outputs)


def _upstream(tables: AnvilTables, graph: _Graph, keys: Mapping[str, set[str]]) -> None:
    if keys.get(FILE):
        requests = [(table, 'generated_file_id', keys[FILE]) for table in ACTIVITIES]
        for table, rows in zip(ACTIVITIES, tables.rows_containing_any(requests), strict=True):
            used_columns = ACTIVITIES[table]
            for row in _real(rows):
                activity = (table, _column(row, _pk(table), table))
                # Only the generated files in the bundle: the link is not the
                # whole activity
                inputs = [(_USED_TYPE[c], k) for c in used_columns for k in _keys(row, c, table)]
                for file in set(_keys(row, 'generated_file_id', table)) & keys[FILE]:
                    graph.link(_name(table, row), inputs, activity, [(FILE, file)])
    if keys.get(BIOSAMPLE):
        for row in _real(tables.rows(BIOSAMPLE, _pk(BIOSAMPLE), keys[BIOSAMPLE])):
            name = _name(BIOSAMPLE, row)
            output = [(BIOSAMPLE, _column(row, 'biosample_id', BIOSAMPLE))]
            datasets = _keys(row, 'part_of_dataset_id', BIOSAMPLE)
            if len(datasets) != 1:
                raise RepositoryError(f'Row {name} is part of {len(datasets)} datasets')
            graph.link(name, [(DATASET, datasets[0])], None, output)
            for donor in _keys(row, 'donor_id', BIOSAMPLE):
                graph.link(name, [(DONOR, donor)], None, output)
    if keys.get(DONOR):
        # Diagnoses upstream of donors, as in the original: so that a directed
        # path leads from each diagnosis to the donor's biosamples and files
        for row in _real(tables.rows(DIAGNOSIS, 'donor_id', keys[DONOR])):
            diagnosis = (DIAGNOSIS, _column(row, 'diagnosis_id', DIAGNOSIS))
            donor = (DONOR, _column(row, 'donor_id', DIAGNOSIS))
            graph.link(_name(DIAGNOSIS, row), [diagnosis], None, [donor])


def _primary(tables: AnvilTables, biosample: Row) -> tuple[dict, list]:
    graph = _Graph((BIOSAMPLE, _column(biosample, 'biosample_id', BIOSAMPLE)))
    graph.expand(lambda keys: _downstream(tables, graph, keys))
    graph.expand(lambda keys: _upstream(tables, graph, keys))
    row_ids: dict[Key, str] = {}
    entities: dict[str, dict[str, Any]] = {}
    by_type = graph.by_type(graph.keys)
    datasets = by_type.get(DATASET, set())
    for table, keys in sorted(by_type.items()):
        pk = _pk(table)
        rows: dict[str, Row] = {}
        for row in _real(tables.rows(table, pk, keys)):
            key = _column(row, pk, table)
            if key in rows:
                raise RepositoryError(f'Rows {_name(table, rows[key])} and {_name(table, row)} '
                                      f'share the key {key!r}')
            rows[key] = row
            if table == DONOR:
                _check_donor_dataset(row, datasets)
        for key in sorted(keys - rows.keys()):
            raise RepositoryError(f'Row {graph.referrers.get((table, key), "?")} refers to '
                                  f'{table} {key!r}, which is not in the table')
        for key, row in sorted(rows.items()):
            row_ids[table, key] = _column(row, 'datarepo_row_id', table)
            entities[_name(table, row)] = _entity(table, row)
    return dict(sorted(entities.items())), _links_json(graph.links, row_ids)


def _check_donor_dataset(row: Row, datasets: set[str]) -> None:
    # Donors' `part_of_dataset_id` is not followed: the original takes it to
    # agree with their biosamples', and so does this, checking it
    dataset = _column(row, 'part_of_dataset_id', DONOR)
    if dataset not in datasets:
        raise RepositoryError(f'Row {_name(DONOR, row)} is part of dataset {dataset!r}, '
                              f'not of its biosamples\' {sorted(datasets)}')


def _links_json(links: set[Link], row_ids: Mapping[Key, str]) -> list[dict[str, Any]]:
    # Links that share an activity become one, as in the original
    merged: dict[Key | None, list[Link]] = defaultdict(list)
    for link in links:
        merged[link[1]].append(link)
    result: set[Link] = set(merged.pop(None, []))
    for activity, group in merged.items():
        result.add((frozenset().union(*(link[0] for link in group)), activity,
                    frozenset().union(*(link[2] for link in group))))

    def ref(key: Key) -> tuple[str, str]:
        return key[0], row_ids[key]

    def as_json(link: Link) -> dict[str, Any]:
        inputs, activity, outputs = link
        return {'inputs': sorted('/'.join(ref(k)) for k in inputs),
                'activity': None if activity is None else '/'.join(ref(activity)),
                'outputs': sorted('/'.join(ref(k)) for k in outputs)}

    # The original orders links by their least input entity only, leaving ties
    # in set order (which varies between processes). Ties are broken here by
    # the activity, greatest first, which keeps the canned bundles' order.
    documents = sorted(map(as_json, result), key=lambda link: link['activity'] or '', reverse=True)
    return sorted(documents, key=lambda link: min((tuple(i.split('/')) for i in link['inputs']),
                                                  default=()))
