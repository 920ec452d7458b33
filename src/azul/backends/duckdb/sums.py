"""
The per-term sums of the summed fields (`TableSpec.summed_fields`), kept in
the counts table by every write beside the term counts, so that the
unfiltered summary reads its terms aggregations with sums and its totals
from a small table instead of summing a million rows per aggregation.

The sums are exact: HUGEINT sums of the rows' values, added and subtracted
as Python integers, so that deleting a row takes away exactly what adding it
added. A summary computed afresh sums `Long` values as HUGEINT, exactly too,
so the kept sums of a `Long` field always answer the same. It sums `Double`
values as doubles, which is exact only while every partial sum is an
integer a double holds: so a `Double` field's kept sums are used only while
none of the field's values in the table is a non-integer (or beyond 2 ** 53)
and the sum of
their magnitudes is at most 2 ** 53 (which bounds every partial sum in any
order); otherwise the summary sums afresh, as before. Both conditions are
kept as counts that deletes subtract, in rows of field -1.
"""
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import attrs
import duckdb

from azul.backends.duckdb.columnar import registered
from azul.backends.duckdb.schema import FieldSpec, TableSpec
from azul.core.fields import FieldType, Value

# The field of the counts table's rows that are no term's
FIELD = -1

# Their codes (a term's code is positive): the sums of all rows (`n` the
# number of rows), the sums of the magnitudes of the values, and the number
# of rows with a value of a `Double` field that is not an integer of at most
# `EXACT_LIMIT`
TOTALS, MAGNITUDES, INEXACT = -1, -2, -3

# Integers up to this magnitude are doubles, and so are their sums up to it
EXACT_LIMIT = 2 ** 53


@attrs.define
class Tally:
    """What rows add to the counts table: term counts, per-term sums and field -1's rows."""
    specs: tuple[FieldSpec, ...]
    counts: Counter = attrs.field(factory=Counter)
    rows: int = 0
    # Per summed field, the sum per code (absent: zero)
    sums: list[dict[int, int]] = attrs.field(init=False)
    totals: list[int] = attrs.field(init=False)
    magnitudes: list[int] = attrs.field(init=False)
    inexact: list[int] = attrs.field(init=False)

    def __attrs_post_init__(self):
        self.sums = [{} for _ in self.specs]
        self.totals = [0] * len(self.specs)
        self.magnitudes = [0] * len(self.specs)
        self.inexact = [0] * len(self.specs)

    def add(self, codes: Iterable[Iterable[int]],
            values: Iterable[Sequence[Sequence[Value]]]) -> None:
        """Rows: the codes of each row's terms and its values of every summed field."""
        doubles = [spec.field.type is FieldType.double for spec in self.specs]
        counts, totals = self.counts, self.totals
        width = len(self.specs)
        # The sums of the rows with the same codes, added to those codes
        # once: the files of a bundle mostly have the same terms (the
        # fixtures' 1,278 file aggregates have 103 distinct sets of codes)
        by_codes: dict[tuple[int, ...], list[int]] = {}
        for row_codes, row_values in zip(codes, values, strict=True):
            row_codes = tuple(row_codes)
            counts.update(row_codes)
            self.rows += 1
            row = [0] * width
            for j, (field_values, double) in enumerate(zip(row_values, doubles, strict=True)):
                total = magnitude = 0
                for v in field_values:
                    if v is None:
                        continue
                    if double and not (float(v).is_integer() and abs(v) <= EXACT_LIMIT):
                        # Contributes nothing but its mark: the field is summed afresh.
                        # (Larger integers would break the limit anyway, and 1e300
                        # would not fit a HUGEINT.)
                        self.inexact[j] += 1
                        total = magnitude = 0
                        break
                    v = int(v)
                    total += v
                    magnitude += abs(v)
                row[j] = total
                totals[j] += total
                self.magnitudes[j] += magnitude
            if any(row):
                group = by_codes.get(row_codes)
                if group is None:
                    by_codes[row_codes] = row
                else:
                    for j, v in enumerate(row):
                        group[j] += v
        for row_codes, row in by_codes.items():
            for field_sums, v in zip(self.sums, row, strict=True):
                if v:
                    # One dict per field: a list per code cost twice the CPU
                    for code in row_codes:
                        field_sums[code] = field_sums.get(code, 0) + v

    def changes(self, fields: Mapping[int, int]) -> tuple[list, ...]:
        """
        Parameters of `upsert` and `subtract`: per counts row its field,
        code, count and sums (the latter as lists per summed field), field
        -1's rows included. `fields` maps each code to its field.
        """
        codes = list(self.counts)
        columns = [[fields[c] for c in codes], codes, list(self.counts.values())]
        columns += [[field_sums.get(c, 0) for c in codes] for field_sums in self.sums]
        if self.rows and self.specs:
            extra = [(TOTALS, self.rows, self.totals), (MAGNITUDES, 0, self.magnitudes),
                     (INEXACT, 0, self.inexact)]
            for code, n, values in extra:
                for column, value in zip(columns, [FIELD, code, n, *values], strict=True):
                    column.append(value)
        return tuple(columns)


def _unnested(specs: Sequence[FieldSpec]) -> tuple[list[str], str]:
    """
    The columns of the counts table that `Tally.changes` gives, without
    `field`, and the select list that unnests them from its lists, one
    parameter each.
    """
    columns = ['code', 'n', *(spec.sum for spec in specs)]
    types = ['INTEGER', 'BIGINT', *('HUGEINT' for _ in specs)]
    return columns, ', '.join(f'unnest(?::{t}[])' for t in types)


def upsert(cursor: duckdb.DuckDBPyConnection, table: TableSpec, tally: Tally,
           fields: Mapping[int, int]) -> None:
    """Add the tally to the counts table, making rows for new codes."""
    changes = tally.changes(fields)
    if not changes[0]:
        return
    counts = table.counts_table
    sums = [spec.sum for spec in tally.specs]
    # As Arrow columns: DuckDB converts list parameters value by value. The
    # sums as text, which the query casts, as Arrow has no 128-bit integer
    kinds = {'field': 'SMALLINT', 'code': 'INTEGER', 'n': 'BIGINT', **{s: 'VARCHAR' for s in sums}}
    values = dict(zip(['field', 'code', 'n'], changes[:3], strict=True))
    values.update((s, list(map(str, column))) for s, column in zip(sums, changes[3:], strict=True))
    selected = ', '.join(['field', 'code', 'n', *(f'{s}::HUGEINT' for s in sums)])
    added = ', '.join(f'{c} = {counts}.{c} + excluded.{c}' for c in ['n', *sums])
    with registered(cursor, kinds, values, len(changes[0])) as view:
        cursor.execute(f'INSERT INTO {counts} ({", ".join(kinds)}) SELECT {selected} '
                       f'FROM {view} ON CONFLICT (field, code) DO UPDATE SET {added}')


def subtract(cursor: duckdb.DuckDBPyConnection, table: TableSpec, docs: Sequence[int]) -> None:
    """Take the rows of the given versions out of the counts table, before deleting them."""
    specs = table.summed_fields
    columns = ', '.join(['codes', *(spec.values for spec in specs)])
    rows = cursor.execute(f'SELECT {columns} FROM {table.table} '
                          f'WHERE doc IN (SELECT unnest(?::BIGINT[]))', [list(docs)]).fetchall()
    # Tallied as `upsert` tallied the rows' documents, so that exactly what
    # was added is taken away. (One SQL aggregate would cost less: 0.05 ms
    # rather than 0.3 to 0.5 of CPU per bundle when half the live path's
    # aggregate writes replace a row; but it would have to repeat the
    # tally's rules for `Double` values in SQL.)
    tally = Tally(specs)
    tally.add((row[0] for row in rows), (row[1:] for row in rows))
    # Every code and field -1's rows are in the table already: the field does not matter
    changes = tally.changes({code: 0 for code in tally.counts})
    if not changes[0]:
        return
    counts = table.counts_table
    names, values = _unnested(specs)
    taken = ', '.join(f'{c} = {counts}.{c} - d.{c}' for c in names[1:])
    cursor.execute(f'UPDATE {counts} SET {taken} FROM (SELECT {values}) AS d({", ".join(names)}) '
                   f'WHERE {counts}.code = d.code', list(changes[1:]))


def kept_fields(table: TableSpec, specs: Iterable[FieldSpec]) -> str | None:
    """
    The query of field -1's rows that tells which of the `Double` fields
    among `specs` have exact kept sums (see `exact`); None if none of them
    is a `Double` field.
    """
    doubles = [s for s in specs if s.field.type is FieldType.double]
    if not table.summed or not doubles:
        return None
    columns = ', '.join(spec.sum for spec in doubles)
    return (f'SELECT code, {columns} FROM {table.counts_table} '
            f'WHERE field = {FIELD} AND code IN ({MAGNITUDES}, {INEXACT})')


def exact(table: TableSpec, specs: Iterable[FieldSpec], rows: Sequence[tuple]) -> frozenset[int]:
    """
    The ids of the fields among `specs` whose kept sums equal those summed
    afresh: every `Long` field of a summed table, and the `Double` fields
    without a non-integer value whose magnitudes add up to at most
    `EXACT_LIMIT`, by the rows of `kept_fields`.
    """
    if not table.summed:
        return frozenset()
    summed = {spec.id for spec in table.summed_fields}
    specs = [s for s in specs if s.id in summed]
    doubles = [s for s in specs if s.field.type is FieldType.double]
    by_code = {row[0]: row[1:] for row in rows}
    magnitudes = by_code.get(MAGNITUDES, (0,) * len(doubles))
    inexact = by_code.get(INEXACT, (0,) * len(doubles))
    good = {s.id for s, m, i in zip(doubles, magnitudes, inexact, strict=True)
            if i == 0 and m <= EXACT_LIMIT}
    return frozenset(s.id for s in specs if s.field.type is not FieldType.double or s.id in good)


def total(table: TableSpec, spec: FieldSpec) -> str:
    """The kept sum of a field over all rows, as a scalar subquery (NULL for no rows)."""
    return (f'(SELECT {spec.sum} FROM {table.counts_table} '
            f'WHERE field = {FIELD} AND code = {TOTALS})')
