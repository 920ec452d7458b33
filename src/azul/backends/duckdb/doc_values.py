"""
Per-document values kept beside the term bitmaps of a content version
(`bitmaps`), so that a filtered summary sums and groups the passing
documents in memory (`bitmap_summaries`) instead of reading the matching
rows in DuckDB (issue 16).

Why: at a million documents the SQL path of the bench's filtered summary
spent ~40 ms of CPU finding the ~114,000 matching rows and ~60 ms more on
their sums per term and the distinct projects per project title; the
bitmaps give the passing documents in ~0.1 ms, but hold no values.

Arrays are indexed by `doc` (the bitmaps' document numbers), with zero or
-1 for numbers of no document: a gather by the passing documents' numbers
needs no lookup of positions. So their size follows the largest `doc`, not
the number of documents; it is counted in the bitmaps' size limit.

The sums are exact, as the SQL path's: a field's values are kept only if
each row's sum (`summaries.row_sum`, the same expression DuckDB sums) is an
integer and the magnitudes of all rows add up to at most 2 ** 63 - 1
(`Long`) or 2 ** 53 (`Double`), so that every partial sum of any subset in
any order is exact in a 64-bit integer and, for doubles, in a double. The
SQL path's HUGEINT sum of `Long` values is then the same integer, and its
double sum of `Double` values too, whatever order DuckDB adds them in.
Other fields are summed by SQL.
"""
from collections.abc import Mapping, Sequence

import attrs
import duckdb
import numpy as np
from pyroaring import BitMap

from azul.backends.duckdb.schema import TableSpec
from azul.backends.duckdb.summaries import row_sum

# Magnitudes up to which every partial sum is exact
LONG_LIMIT = 2 ** 63 - 1
DOUBLE_LIMIT = 2 ** 53


@attrs.frozen(eq=False)
class DocValues:
    """The per-document values of one aggregate table at one content version."""
    # Field id -> each document's row sum (int64, by `doc`), of the fields whose sums are exact
    sums: Mapping[int, np.ndarray]
    # Field id -> the sum of the magnitudes of all rows' sums: at most 2 ** 53, a
    # double's sums are exact too
    magnitudes: Mapping[int, int]
    # Facet field id -> each document's term (its position in `TermBitmaps.fields`, by
    # `doc`, -1 for no document), of the fields of which every document has exactly one
    terms: Mapping[int, np.ndarray]
    nbytes: int


def build_values(cursor: duckdb.DuckDBPyConnection, table: TableSpec, rows: BitMap,
                 fields: Mapping[int, Sequence], budget: int) -> DocValues | None:
    """
    The values of the table's rows, read in the cursor's snapshot; `fields`
    are the bitmaps' terms of each facet field. None if they would take more
    than `budget` bytes.
    """
    if not rows:
        return DocValues({}, {}, {}, 0)
    size = rows.max() + 1
    docs = np.frombuffer(rows.to_array(), dtype=np.uint32)
    nbytes = 0
    sums, magnitudes = {}, {}
    for spec in table.fields:
        kind = spec.field.type.duckdb_type
        if kind not in ('BIGINT', 'DOUBLE') or nbytes + 8 * size > budget:
            continue
        magnitude = _magnitude(cursor, table, spec, None)
        if magnitude is None:
            continue
        values = np.zeros(size, dtype=np.int64)
        _gather(cursor, table, spec, None, values)
        sums[spec.id] = values
        magnitudes[spec.id] = magnitude
        nbytes += values.nbytes
    terms = {}
    for field_id, facet_terms in fields.items():
        if sum(len(t.docs) for t in facet_terms) != len(docs):
            # Some document has several terms
            continue
        kind = np.int16 if len(facet_terms) < 2 ** 15 else np.int32
        if nbytes + size * np.dtype(kind).itemsize > budget:
            continue
        term_of = np.full(size, -1, dtype=kind)
        for j, term in enumerate(facet_terms):
            term_of[np.frombuffer(term.docs.to_array(), dtype=np.uint32)] = j
        # As many terms as documents, and every document has one: one each
        if (term_of[docs] >= 0).all():
            terms[field_id] = term_of
            nbytes += term_of.nbytes
    return DocValues(sums, magnitudes, terms, nbytes)


def advance_values(cursor: duckdb.DuckDBPyConnection, table: TableSpec, values: DocValues,
                   after: int, added: np.ndarray,
                   added_terms: Mapping[int, Sequence[tuple[int, np.ndarray]]],
                   budget: int) -> DocValues:
    """
    The values with those of the documents numbered above `after` (`added`,
    read in the cursor's snapshot), given each facet field's terms of them
    as (position in `TermBitmaps.fields`, documents). A field whose sums
    are no longer exact, or of which some document has no or several
    terms, is left out, as `build_values` would. Documents deleted since
    keep their entries: no passing document reads them. Entries of the new
    documents are written in place where the arrays have room: no older
    version's document reads them either.
    """
    if not len(added):
        return values
    size = int(added.max()) + 1
    nbytes = 0
    sums, magnitudes = {}, {}
    for spec in table.fields:
        if spec.id not in values.sums:
            continue
        magnitude = _magnitude(cursor, table, spec, after)
        kind = spec.field.type.duckdb_type
        limit = LONG_LIMIT if kind == 'BIGINT' else DOUBLE_LIMIT
        if magnitude is None or values.magnitudes[spec.id] + magnitude > limit:
            continue
        array = _room(values.sums[spec.id], size, 0)
        if nbytes + array.nbytes > budget:
            continue
        _gather(cursor, table, spec, after, array)
        sums[spec.id] = array
        magnitudes[spec.id] = values.magnitudes[spec.id] + magnitude
        nbytes += array.nbytes
    terms = {}
    for field_id, term_of in values.terms.items():
        pairs = added_terms.get(field_id, ())
        if (sum(len(docs) for _, docs in pairs) != len(added)
                or any(j > np.iinfo(term_of.dtype).max for j, _ in pairs)):
            continue
        array = _room(term_of, size, -1)
        if nbytes + array.nbytes > budget:
            continue
        for j, docs in pairs:
            array[docs] = j
        # As many terms as documents, and every document has one: one each
        if (array[added] >= 0).all():
            terms[field_id] = array
            nbytes += array.nbytes
    return DocValues(sums, magnitudes, terms, nbytes)


def _room(array: np.ndarray, size: int, fill: int) -> np.ndarray:
    """The array itself if it holds `size` entries, else a copy with room for a quarter more."""
    if size <= len(array):
        return array
    grown = np.full(max(size, len(array) + len(array) // 4), fill, dtype=array.dtype)
    grown[:len(array)] = array
    return grown


def _where(after: int | None) -> tuple[str, list]:
    return ('', []) if after is None else (' WHERE doc > ?', [after])


def _magnitude(cursor: duckdb.DuckDBPyConnection, table: TableSpec, spec, after: int | None
               ) -> int | None:
    """
    The sum of the magnitudes of the rows' sums of a field (those numbered
    above `after`, if given); None unless they are all whole numbers within
    the field's limit.
    """
    r = row_sum(spec)
    where, params = _where(after)
    # Whole numbers only; a magnitude beyond 2 ** 53 as one beyond the limit
    [(whole, magnitude)] = cursor.execute(
        f'SELECT coalesce(bool_and(r IS NULL OR (isfinite(r) AND r = trunc(r))), TRUE), '
        f'coalesce(sum(CASE WHEN r IS NULL THEN 0 WHEN abs(r) <= {DOUBLE_LIMIT} '
        f'THEN abs(r::HUGEINT) ELSE {LONG_LIMIT + 1}::HUGEINT END), 0) '
        f'FROM (SELECT {r} AS r FROM {table.table}{where})', params).fetchall()
    limit = LONG_LIMIT if spec.field.type.duckdb_type == 'BIGINT' else DOUBLE_LIMIT
    return int(magnitude) if whole and magnitude <= limit else None


def _gather(cursor: duckdb.DuckDBPyConnection, table: TableSpec, spec, after: int | None,
            values: np.ndarray) -> None:
    """Each row's sum of the field into `values` at its `doc`."""
    where, params = _where(after)
    found = cursor.execute(f'SELECT doc::UINTEGER AS doc, coalesce({row_sum(spec)}, 0)::BIGINT '
                           f'AS r FROM {table.table}{where}', params).fetchnumpy()
    values[found['doc']] = found['r']
