"""
Aggregate documents as the aggregate tables store them: each document's JSON
compressed on its own with zlib, in a BLOB column that DuckDB does not
compress (`PACKED_COLUMN`).

A column that DuckDB compresses makes a point lookup decompress more than the
row it wants: ZSTD compresses each vector of 2,048 strings as one frame and
decompresses it up to the row, DICT_FSST decodes a vector's dictionary; 25
documents of a page cost 39 to 48 ms (ZSTD) and 22 ms (DICT_FSST) of CPU
where an uncompressed column takes 4.6 ms. Compressed one by one, a
document takes microseconds to inflate and is a third to a half of its
size (synthetic HCA file aggregates: 4.6 kB to 1.8 kB), and a checkpoint
copies the bytes as they are.

What one document alone lacks is the repetition between documents (their
keys, their common values), which DuckDB's ZSTD finds over 2,048 of them: a
table's documents are packed with a preset dictionary (`zdicts`), sample
documents of the table, which zlib's header names by its Adler-32 (FDICT).
Documents packed without one (before a table had one, or before
dictionaries) have no such header and inflate as they are.

Tables made before packing hold JSON text (a VARCHAR column, see
`TableSpec.packed`); `unpack` reads both.
"""

import zlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import orjson

# The column of packed documents
PACKED_COLUMN = 'document BLOB NOT NULL USING COMPRESSION uncompressed'

# zlib's level: on synthetic HCA file aggregates of 4.6 kB, level 3 costs
# what level 1 does and 6 half as much again, for 3% less than 3's size
# (1,815 and 1,751 bytes).
_LEVEL = 3

# The second byte of zlib's header: its FDICT bit, set when a preset
# dictionary was used, whose Adler-32 the next four bytes hold (RFC 1950)
_FDICT = 0x20

# Looks a dictionary up by its Adler-32 (`zdicts.Dictionaries.get` with a cursor)
ZdictLookup = Callable[[int], bytes]


def pack(document: Any, zdict: bytes | None = None) -> bytes:
    """A JSON document as stored in a packed table, with the table's dictionary if any."""
    if zdict is None:
        return zlib.compress(orjson.dumps(document), _LEVEL)
    compressor = _primed(zdict).copy()
    return compressor.compress(orjson.dumps(document)) + compressor.flush()


@lru_cache(maxsize=16)
def _primed(zdict: bytes) -> Any:
    # Priming hashes the whole dictionary (about 60 µs for 32 kB); a copy of
    # a primed compressor costs less than packing without one
    return zlib.compressobj(_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS, 8,
                            zlib.Z_DEFAULT_STRATEGY, zdict)


def dictionary_id(value: bytes) -> int | None:
    """The Adler-32 of the dictionary a packed document needs, if any."""
    return int.from_bytes(value[2:6], 'big') if value[1] & _FDICT else None


def inflate(value: bytes, zdicts: ZdictLookup) -> bytes:
    """The JSON of a packed document."""
    zdict_id = dictionary_id(value)
    if zdict_id is None:
        return zlib.decompress(value)
    # The deflate stream between zlib's header and its Adler-32 of the
    # document: zlib would check the dictionary's Adler-32 against the
    # header's with every document, which costs more than inflating it (10
    # of 15 µs for a 32 kB dictionary); `zdicts` checked it once
    inflater = zlib.decompressobj(-zlib.MAX_WBITS, zdict=zdicts(zdict_id))
    text = inflater.decompress(value[6:-4])
    if not inflater.eof or zlib.adler32(text).to_bytes(4, 'big') != value[-4:]:
        raise zlib.error('Packed document incomplete or damaged')
    return text


def unpack(value: str | bytes, zdicts: ZdictLookup) -> Any:
    """A stored document: packed (bytes) or, in tables made before, JSON text."""
    return orjson.loads(inflate(value, zdicts) if isinstance(value, bytes) else value)


def json_text(value: str | bytes, zdicts: ZdictLookup) -> str:
    """A stored document as JSON text."""
    return inflate(value, zdicts).decode() if isinstance(value, bytes) else value
