"""
`SortOrder` of the DuckDB backend's term bitmaps: a document's position and
the walk over the passing documents from a position, in both directions,
with its limit; the documents and positions written by hand.
"""
from array import array

from pyroaring import BitMap

from azul.backends.duckdb.bitmaps import SortOrder

# Documents 10 to 16 in this order; the passing ones are 12, 15 and 11
ORDER = SortOrder('v', 'lo0', array('I', [14, 12, 10, 15, 13, 11, 16]).tobytes())
PASSING = BitMap([11, 12, 15])


def test_positions():
    assert len(ORDER) == 7
    assert [ORDER.position(d) for d in (14, 12, 16, 11)] == [0, 1, 6, 5]
    assert ORDER.position(9) is None
    # Bytes of two neighbours are not a document: 12 is 0c 00 00 00, 10 is 0a 00 00 00
    assert ORDER.position(0x0a000000) is None


def test_walks():
    assert ORDER.walk(PASSING, 0, True, 2) == [12, 15]
    assert ORDER.walk(PASSING, 2, True, 5) == [15, 11]
    assert ORDER.walk(PASSING, 6, False, 2) == [11, 15]
    assert ORDER.walk(PASSING, 0, False, 2) == []
    assert ORDER.walk(PASSING, 7, True, 2) == []
    assert ORDER.walk(BitMap(), 0, True, 2) == []
    assert ORDER.walk(PASSING, 0, True, 0) == []


def test_a_walk_gives_up_at_its_limit():
    # Three documents from 0 hold one passing document, not two
    assert ORDER.walk(PASSING, 0, True, 2, limit=3) is None
    assert ORDER.walk(PASSING, 0, True, 1, limit=3) == [12]
    # Fewer documents left than the limit: what there is
    assert ORDER.walk(PASSING, 4, True, 2, limit=3) == [11]
