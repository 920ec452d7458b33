"""
The SQL of a summary (`/index/summary`) on the DuckDB backend: every
aggregation of a request in one statement, rows as `SummarySpec` describes.

Where the time of a summary at 1M documents went (one thread): without
filters, the distinct (term, value) pairs of a terms aggregation with
distinct values (~31 ms of the statement's ~48: unnest of two lists per
row, then hashing the pairs), a counts-table join per part (~2 ms each),
the dictionary keys of the distinct codes in a statement of their own, and
Python turning ~2,000 buckets' codes into values; with filters, the filters
(~30 ms) and, over the ~114,000 matching rows, each aggregation's `unnest`
and per-row sums of lists, computed again by every part (~60 ms). So:

- without filters, a field with a single code column
  (`TableSpec.single_spec`) is read from that integer column where a row
  has one term, and unnested only where it has several: most rows of a
  facet have one;
- with filters, each summed field's per-row sum is computed once, into the
  materialized matching rows, not once per aggregation summing it;
- without filters, the counts table's rows that the parts read are joined
  with the dictionary once (`c`);
- the distinct values of a coded field come as dictionary keys, joined in
  the statement, not looked up by a second one.
"""
import itertools
from collections.abc import Sequence

import attrs

from azul.backends.duckdb import sums
from azul.backends.duckdb.schema import FieldSpec, TableSpec
from azul.backends.duckdb.sql import Codes, Query, where
from azul.core.filters import Filters
from azul.core.search import Aggregation, Cardinality, Count, Sum, Terms
from azul.errors import InvalidFilterError

# The dictionary key of the null term
NULL_KEY = 'null'


@attrs.frozen
class SummarySpec:
    """
    The aggregations of a summary as the columns of one statement's rows:
    `agg` (the aggregation's position, NULL for the totals row), `n` (a
    count), and per Terms aggregation i a term column `t{i}`, per summed
    field a column `s{k}` and per distinct field a column `d{k}`, numbered
    across the request. A row fills the columns of its aggregation only.
    The aggregations in `coded` (keyword and boolean facets of a coded table)
    group the field's codes, not its values: their `t{i}` is a dictionary
    key (JSON). The distinct values `d{k}` of such fields, k in
    `coded_distinct`, are found as codes (hashing integers costs less than
    hashing strings) and listed as their dictionary keys, the null term's
    left out. Without filters, the sums of the fields in `kept` and the
    coded aggregations summing only those come from the counts table
    (`sums`).
    """
    count: bool
    sums: tuple[tuple[int, FieldSpec], ...]           # (column k, field) of the totals row
    cardinalities: tuple[tuple[int, FieldSpec, bool], ...]  # (agg, field, count_null)
    terms: tuple[tuple[int, FieldSpec, tuple[tuple[int, FieldSpec], ...],
                       tuple[tuple[int, FieldSpec], ...]], ...]  # (agg, field, sums, distinct)
    coded: frozenset[int] = frozenset()
    coded_distinct: frozenset[int] = frozenset()
    kept: frozenset[int] = frozenset()  # field ids, see `sums.exact`

    @classmethod
    def of(cls, table: TableSpec, aggregations: Sequence[Aggregation],
           kept: frozenset[int] = frozenset()) -> 'SummarySpec':
        k = itertools.count()
        count, sums_, cardinalities, terms = False, [], [], []
        for i, agg in enumerate(aggregations):
            if isinstance(agg, Count):
                count = True
            elif isinstance(agg, Sum):
                sums_.append((next(k), table.spec(agg.field)))
            elif isinstance(agg, Cardinality):
                cardinalities.append((i, table.spec(agg.field), agg.count_null))
            elif isinstance(agg, Terms):
                terms.append((i, table.spec(agg.field),
                              tuple((next(k), table.spec(f)) for f in agg.sums),
                              tuple((next(k), table.spec(f)) for f in agg.distinct)))
            else:
                raise InvalidFilterError(f'Unknown aggregation {agg!r}')
        coded = frozenset(i for i, agg in enumerate(aggregations)
                          if isinstance(agg, Cardinality | Terms)
                          and table.coded_filter(table.spec(agg.field)))
        coded_distinct = frozenset(k for *_, distinct in terms for k, d in distinct
                                   if table.coded_filter(d))
        return cls(count, tuple(sums_), tuple(cardinalities), tuple(terms), coded,
                   coded_distinct, kept)

    def columns(self) -> list[str]:
        names = ['agg', 'n'] + [f't{i}' for i, *_ in self.terms]
        names += [f's{k}' for k, _ in self.sums]
        for _, _, summed, distinct in self.terms:
            names += [f's{k}' for k, _ in summed] + [f'd{k}' for k, _ in distinct]
        return names


class _Source:
    """
    The rows a summary's parts read: the table, or with filters the matching
    rows, materialized as `m` with the columns the parts ask for.
    """

    def __init__(self, table: TableSpec, filtered: bool):
        self.table = table
        self.filtered = filtered
        self.name = 'm' if filtered else table.table
        # m's columns: name -> its expression over the table
        self.columns: dict[str, str] = {}

    def column(self, name: str) -> str:
        self.columns[name] = name
        return name

    def row_sum(self, spec: FieldSpec) -> str:
        """The sum of a field's values in a row; with filters computed once, in `m`."""
        if not self.filtered:
            return row_sum(spec)
        name = f'r{spec.id}'
        self.columns[name] = f'{row_sum(spec)} AS {name}'
        return name

    def single(self, spec: FieldSpec, coded: bool) -> bool:
        # Not with filters: materializing the single columns beside the
        # lists and reading `m` twice per field cost more than the `unnest`
        # of the ~114,000 matching rows saved (1M documents: the statement
        # 144 against 113 ms of CPU, min of 13)
        return not self.filtered and coded and self.table.single_spec(spec)

    def terms(self, spec: FieldSpec, coded: bool, extra: Sequence[str] = ()) -> str:
        """
        A row `v` per term of every row (its code if `coded`), with the
        row's `extra` columns: rows with one term give their single code,
        the others unnest their list.
        """
        more = ''.join(f', {e}' for e in extra)
        if self.single(spec, coded):
            single, codes = self.column(spec.single), self.column(spec.codes)
            return (f'SELECT {single} AS v{more} FROM {self.name} WHERE {single} IS NOT NULL '
                    f'UNION ALL SELECT unnest({codes}) AS v{more} FROM {self.name} '
                    f'WHERE {single} IS NULL')
        column = self.column(spec.codes if coded else spec.values)
        return f'SELECT unnest({column}) AS v{more} FROM {self.name}'

    def pairs(self, spec: FieldSpec, coded: bool, distinct: FieldSpec,
              distinct_coded: bool) -> str:
        """
        The distinct (term, value) pairs `v`, `x` of two fields over the rows
        (codes where coded), NULL values dropped as `list_distinct` drops
        them. Rows with one term of each give one pair of single codes.
        """
        x = distinct.codes if distinct_coded else distinct.values
        v = spec.codes if coded else spec.values
        every = (f'SELECT v, unnest(x) AS x FROM (SELECT unnest({self.column(v)}) AS v, '
                 f'{self.column(x)} AS x FROM {self.name}{{}})')
        if self.single(spec, coded) and self.single(distinct, distinct_coded):
            a, b = self.column(spec.single), self.column(distinct.single)
            rows = (f'SELECT {a} AS v, {b} AS x FROM {self.name} '
                    f'WHERE {a} IS NOT NULL AND {b} IS NOT NULL UNION ALL '
                    + every.format(f' WHERE {a} IS NULL OR {b} IS NULL'))
        else:
            rows = every.format('')
        return f'SELECT DISTINCT v, x FROM ({rows}) WHERE x IS NOT NULL'


def summary(table: TableSpec, filters: Filters, spec: SummarySpec,
            codes: Codes | None = None) -> Query:
    """
    Every aggregation of a summary in one statement, rows as `SummarySpec`
    describes. With filters the matching rows are found once, into a
    materialized CTE of the columns the aggregations read: evaluating the
    filters costs more than any single aggregation of the matching rows.
    Without filters the parts read the table, and cardinalities of facet
    fields, coded terms aggregations and sums of `SummarySpec.kept` fields
    read the counts table. `codes` as for `where`.
    """
    source = _Source(table, bool(filters))
    parts: list[str] = []
    kept = frozenset() if filters else spec.kept
    # Without filters: the counts table's rows of these fields, with their keys
    counted: dict[int, None] = {}
    counted_sums: dict[str, None] = {}
    totals = ['NULL::SMALLINT AS agg', 'count(*) AS n']
    for k, f in spec.sums:
        if f.id in kept:
            totals.append(f'{sums.total(table, f)} AS s{k}')
        else:
            totals.append(f'sum({source.row_sum(f)}) AS s{k}')
    parts.append(f'SELECT {", ".join(totals)} FROM {source.name}')
    for i, f, count_null in spec.cardinalities:
        null = '' if count_null else f" WHERE t.value <> '{NULL_KEY}'"
        if not filters and f.field.facet:
            counted[f.id] = None
            null = '' if count_null else f" AND value <> '{NULL_KEY}'"
            parts.append(f'SELECT {i}::SMALLINT AS agg, count(*) AS n FROM c '
                         f'WHERE field = {f.id}{null}')
        elif i in spec.coded:
            # A code per value, the null term's included
            parts.append(f'SELECT {i}::SMALLINT AS agg, count(*) AS n FROM '
                         f'(SELECT DISTINCT v FROM ({source.terms(f, True)})) d '
                         f'JOIN {table.terms_table} t ON t.code = d.v{null}')
        else:
            # count(DISTINCT v) skips NULL; bool_or(v IS NULL) adds it back if wanted
            null = ' + coalesce(bool_or(v IS NULL), FALSE)::INTEGER' if count_null else ''
            parts.append(f'SELECT {i}::SMALLINT AS agg, count(DISTINCT v){null} AS n '
                         f'FROM ({source.terms(f, False)})')
    for i, f, summed, distinct in spec.terms:
        coded = i in spec.coded
        if not filters and coded and all(s.id in kept for _, s in summed):
            # The term counts and sums kept by every write, with their keys
            counted[f.id] = None
            counted_sums.update((s.sum, None) for _, s in summed)
            columns = ''.join(f', {s.sum} AS s{k}' for k, s in summed)
            part = (f'SELECT {i}::SMALLINT AS agg, n, code AS v, value AS t{i}{columns} '
                    f'FROM c WHERE field = {f.id}')
        else:
            # Values are distinct within a document, so count(*) counts documents
            extra = [f'{source.row_sum(s)} AS x{k}' for k, s in summed]
            outer = ''.join(f', sum(x{k}) AS s{k}' for k, _ in summed)
            part = (f'SELECT {i}::SMALLINT AS agg, count(*) AS n, v{outer} '
                    f'FROM ({source.terms(f, coded, extra)}) GROUP BY v')
            if coded:
                # Grouped by the integer code; the term is its dictionary key
                names = ''.join(f', g.s{k}' for k, _ in summed)
                part = (f'SELECT g.agg, g.n, g.v, t.value AS t{i}{names} FROM ({part}) g '
                        f'JOIN {table.terms_table} t ON t.code = g.v')
            else:
                part = f'SELECT *, v AS t{i} FROM ({part})'
        for k, d in distinct:
            d_coded = k in spec.coded_distinct
            pairs = source.pairs(f, coded, d, d_coded)
            if d_coded:
                pairs = (f'SELECT p.v, list(t.value) AS d{k} FROM ({pairs}) p '
                         f'JOIN {table.terms_table} t ON t.code = p.x '
                         f"WHERE t.value <> '{NULL_KEY}' GROUP BY p.v")
            else:
                pairs = f'SELECT v, list(x) AS d{k} FROM ({pairs}) GROUP BY v'
            part = (f'SELECT g.*, coalesce(p.d{k}, []) AS d{k} FROM ({part}) g '
                    f'LEFT JOIN ({pairs}) p ON g.v IS NOT DISTINCT FROM p.v')
        # Without `v`, whose type differs between parts
        parts.append(f'SELECT * EXCLUDE (v) FROM ({part})')
    text = (f'SELECT {", ".join(spec.columns())} FROM ('
            + ' UNION ALL BY NAME '.join(f'({part})' for part in parts) + ')')
    params: list = []
    if filters:
        condition = where(table, filters, codes)
        columns = ', '.join(source.columns.values()) or '1'
        text = (f'WITH m AS MATERIALIZED (SELECT {columns} FROM {table.table} '
                f'WHERE {condition.text}) ' + text)
        params += condition.params
    elif counted:
        ids = ', '.join(map(str, counted))
        columns = ''.join(f', c.{s}' for s in counted_sums)
        text = (f'WITH c AS MATERIALIZED (SELECT c.field, c.code, c.n{columns}, t.value '
                f'FROM {table.counts_table} c JOIN {table.terms_table} t ON t.code = c.code '
                f'WHERE c.field IN ({ids}) AND c.n > 0) ' + text)
    return Query(text, tuple(params))


def row_sum(spec: FieldSpec) -> str:
    """
    `list_sum` of a field's values in a row, the same value: one value is
    taken as it is (plus zero, which `list_sum` adds it to: -0.0 becomes 0.0),
    which at 1M mostly single-valued rows cost a third less than
    `list_sum`, a generic aggregate per list.
    """
    column = spec.values
    if spec.field.type.duckdb_type not in ('BIGINT', 'DOUBLE'):
        return f'list_sum({column})'
    return f'CASE WHEN len({column}) = 1 THEN {column}[1] + 0 ELSE list_sum({column}) END'
