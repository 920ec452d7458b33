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
        r = row_sum(spec)
        # Whole numbers only; a magnitude beyond 2 ** 53 as one beyond the limit
        [(whole, magnitude)] = cursor.execute(
            f'SELECT coalesce(bool_and(r IS NULL OR (isfinite(r) AND r = trunc(r))), TRUE), '
            f'coalesce(sum(CASE WHEN r IS NULL THEN 0 WHEN abs(r) <= {DOUBLE_LIMIT} '
            f'THEN abs(r::HUGEINT) ELSE {LONG_LIMIT + 1}::HUGEINT END), 0) '
            f'FROM (SELECT {r} AS r FROM {table.table})').fetchall()
        limit = LONG_LIMIT if kind == 'BIGINT' else DOUBLE_LIMIT
        if not whole or magnitude > limit:
            continue
        found = cursor.execute(f'SELECT doc::UINTEGER AS doc, coalesce({r}, 0)::BIGINT AS r '
                               f'FROM {table.table}').fetchnumpy()
        values = np.zeros(size, dtype=np.int64)
        values[found['doc']] = found['r']
        sums[spec.id] = values
        magnitudes[spec.id] = int(magnitude)
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
