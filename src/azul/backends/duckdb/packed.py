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

Tables made before this hold JSON text (a VARCHAR column, see
`TableSpec.packed`); `unpack` reads both.
"""

import zlib
from typing import Any

import orjson

# The column of packed documents
PACKED_COLUMN = 'document BLOB NOT NULL USING COMPRESSION uncompressed'

# zlib's level: on synthetic HCA file aggregates of 4.6 kB, level 3 costs
# what level 1 does and 6 half as much again, for 3% less than 3's size
# (1,815 and 1,751 bytes). The zlib format (not raw deflate) keeps a header
# that says whether a preset dictionary was used, and which, should one ever
# be added: documents packed before stay readable.
_LEVEL = 3


def pack(document: Any) -> bytes:
    """A JSON document as stored in a packed table."""
    return zlib.compress(orjson.dumps(document), _LEVEL)


def unpack(value: str | bytes) -> Any:
    """A stored document: packed (bytes) or, in tables made before, JSON text."""
    return orjson.loads(zlib.decompress(value) if isinstance(value, bytes) else value)


def json_text(value: str | bytes) -> str:
    """A stored document as JSON text."""
    return zlib.decompress(value).decode() if isinstance(value, bytes) else value
