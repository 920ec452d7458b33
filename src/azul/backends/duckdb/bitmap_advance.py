"""
The term bitmaps of a new content version from those of an older one
(issue 16): what a write changed, applied to the bitmaps it left behind.

Why: a build reads every row (~2 s of CPU at 1M bench rows), so under a
trickle of notifications (a write every few seconds) the bitmaps were never
of the current version, and every filtered request took the SQL path (~200
ms at 1M instead of ~50). A write adds rows and deletes others; it never
changes a row in place (`writes`: a new `doc` for every new state of an
entity, drawn from a sequence under the write lock). So the rows written
since the old bitmaps are those numbered above the old largest `doc`, read
through the zone maps of `doc` without touching older rows, and the rows
deleted since are the old rows that are gone, known from their number alone.

Added rows join their terms' bitmaps (new objects: a request may be reading
the old ones). Deleted rows stay in the term bitmaps, whose other terms are
unknown without the rows, and leave `rows`; the filters' groups are cut to
`rows` (`TermBitmaps.stale`). When deleted rows pile up beyond a share of
the table, or many rows were written, or the table was made again, a full
build runs instead.
"""
from collections.abc import Mapping, Sequence

import attrs
import duckdb
import numpy as np
from pyroaring import BitMap

from azul.backends.duckdb import bitmap_queries
from azul.backends.duckdb.bitmap_io import args, size_of, unsigned
from azul.backends.duckdb.bitmaps import FacetTerm, SortOrder, TermBitmaps
from azul.backends.duckdb.doc_values import advance_values
from azul.backends.duckdb.schema import TableSpec, decode_term
from azul.backends.duckdb.sql import PageSpec

# Rows written or deleted since the old bitmaps, as a share of their rows,
# beyond which a full build runs instead (and at least this many rows)
ADVANCE_SHARE = 0.05
ADVANCE_MIN = 10_000


def advance(cursor: duckdb.DuckDBPyConnection, table: TableSpec, old: TermBitmaps,
            version: str, limit: int, reported: BitMap | None = None) -> TermBitmaps | None:
    """
    The bitmaps of `version` (the cursor's snapshot's) from `old`; None if
    a full build is needed. `reported`: rows that writes said they deleted.
    """
    oid = cursor.execute(*args(bitmap_queries.table_oid(table))).fetchall()
    if old.oid is None or [(old.oid,)] != oid:
        return None
    [(count, top)] = cursor.execute(*args(bitmap_queries.extent(table))).fetchall()
    if top is not None and top >= 2 ** 32:
        return None
    after = old.rows.max() if old.rows else -1
    added = BitMap(unsigned(cursor, bitmap_queries.documents_after(table, after)))
    removed = len(old.rows) + len(added) - count
    bound = max(ADVANCE_MIN, ADVANCE_SHARE * len(old.rows))
    if removed < 0 or len(added) + removed > bound or old.stale + removed > bound:
        return None
    if removed:
        gone = old.rows & reported if reported else BitMap()
        # The rows the writes said they deleted are the deleted ones if they
        # are as many, and none of them is here: a look for a few rows
        # instead of reading every `doc`. Otherwise (a write this object did
        # not see, or one committed after this snapshot) every `doc`
        if len(gone) == removed and not cursor.execute(
                *args(bitmap_queries.present(table, gone))).fetchall()[0][0]:
            rows = (old.rows - gone) | added
        else:
            rows = BitMap(unsigned(cursor, bitmap_queries.documents(table)))
            # Nothing but the rows above `after` is new
            if rows - old.rows != added:
                return None
    else:
        rows = old.rows | added
    rows.run_optimize()
    # The bitmaps' bytes; the values' are counted anew below
    nbytes = (old.nbytes - (0 if old.values is None else old.values.nbytes)
              - size_of(old.rows) + size_of(rows))
    fields, keys = dict(old.fields), dict(old.keys)
    added_terms: dict[int, list[tuple[int, np.ndarray]]] = {}
    if added:
        rows_codes = cursor.execute(*args(bitmap_queries.added_codes(table, after))).fetchall()
        # Per facet field, per code, the new documents having it
        found: list[dict[int, list[int]]] = [{} for _ in table.facets]
        for doc, *codes in rows_codes:
            for by_code, field_codes in zip(found, codes, strict=True):
                for code in field_codes:
                    by_code.setdefault(code, []).append(doc)
        wanted = {code for by_code in found for code in by_code}
        value_of = dict(cursor.execute(*args(bitmap_queries.values_of(table, sorted(wanted))))
                        .fetchall())
        for spec, by_code in zip(table.facets, found, strict=True):
            if not by_code:
                continue
            terms = list(fields.get(spec.id, ()))
            position = {id(term.docs): j for j, term in enumerate(terms)}
            pairs = added_terms[spec.id] = []
            for code, docs in by_code.items():
                value = value_of[code]
                key = (spec.id, value)
                bitmap = BitMap(docs)
                held = keys.get(key)
                if held is None:
                    j = len(terms)
                    terms.append(FacetTerm(bitmap, decode_term(spec.field, value)))
                else:
                    j = position[id(held)]
                    bitmap |= held
                    bitmap.run_optimize()
                    terms[j] = FacetTerm(bitmap, terms[j].value)
                    nbytes -= size_of(held)
                nbytes += size_of(bitmap)
                keys[key] = bitmap
                pairs.append((j, np.array(docs, dtype=np.uint32)))
            fields[spec.id] = tuple(terms)
            if nbytes > limit:
                return None
    values = _values(cursor, table, old, after, added, added_terms, limit - nbytes)
    if values is not None:
        nbytes += values.nbytes
    return attrs.evolve(old, version=version, rows=rows, fields=fields, keys=keys,
                        nbytes=nbytes, values=values, stale=old.stale + removed)


def _values(cursor: duckdb.DuckDBPyConnection, table: TableSpec, old: TermBitmaps, after: int,
            added: BitMap, added_terms: Mapping[int, Sequence[tuple[int, np.ndarray]]],
            budget: int):
    if old.values is None:
        return None
    docs = np.frombuffer(added.to_array(), dtype=np.uint32)
    return advance_values(cursor, table, old.values, after, docs, added_terms, budget)


# Documents written since, and documents sharing a key with one of them, up
# to which an order advances (beyond, the order is built again when asked for)
ORDER_ADVANCE_LIMIT = 1000


def advance_order(cursor: duckdb.DuckDBPyConnection, table: TableSpec, order: SortOrder,
                  version: str, removed: BitMap, after: int) -> SortOrder | None:
    """
    The order of `version` from that of the bitmaps advanced to it: without
    the documents deleted since, with those numbered above `after` where
    they sort. A new document's place is found among the keys the order
    keeps; among equal keys, by the sort values and ids of those documents.
    None if the order keeps no keys, or too many documents were written or
    share a key.
    """
    if order.keys is None or order.sort is None:
        return None
    page = PageSpec(order.sort, 0)
    docs = np.frombuffer(order.docs, dtype=np.uint32)
    keys = order.keys
    if removed:
        # The order holds documents numbered up to `after` only
        gone = np.zeros(after + 1, dtype=bool)
        gone[np.frombuffer(removed.to_array(), dtype=np.uint32)] = True
        kept = ~gone[docs]
        docs, keys = docs[kept], keys[kept[:len(keys)]]
    added = cursor.execute(*args(bitmap_queries.order_values(table, page, after))).fetchall()
    if len(added) > ORDER_ADVANCE_LIMIT:
        return None
    places = []
    for doc, key, value, entity_id in added:
        if key is None:
            # Among the documents without a key, by id (the sort value is null too)
            low, high = len(keys), len(docs)
        else:
            low = int(np.searchsorted(keys, key, 'left'))
            high = int(np.searchsorted(keys, key, 'right'))
        if high - low > ORDER_ADVANCE_LIMIT:
            return None
        before = 0
        if high > low:
            equal = cursor.execute(*args(bitmap_queries.order_values(
                table, page, docs=docs[low:high].tolist()))).fetchall()
            before = sum(1 for _, _, v, e in equal if _precedes(v, e, value, entity_id))
        places.append((low + before, _sort_key(key, value, entity_id), doc, key))
    # Documents written together that fall in one place go in their own order
    places.sort(key=lambda place: place[:2])
    positions = [place[0] for place in places]
    docs = np.insert(docs, positions, [place[2] for place in places])
    keyed = [(position, key) for position, _, _, key in places if key is not None]
    # Both keep their types: `np.insert` casts the values to the array's
    keys = np.insert(keys, [p for p, _ in keyed], [k for _, k in keyed])
    return attrs.evolve(order, version=version, docs=docs.tobytes(), keys=keys)


def _sort_key(key, value, entity_id: str) -> tuple:
    # Ascending, nulls last (`PageSpec.order`)
    return (key is None, key if key is not None else 0, value is None,
            value if value is not None else 0, entity_id)


def _precedes(value, entity_id: str, other_value, other_id: str) -> bool:
    """Whether a document with an equal key comes before another, by sort value then id."""
    if value != other_value:
        if value is None or other_value is None:
            return other_value is None
        return value < other_value
    return entity_id < other_id
