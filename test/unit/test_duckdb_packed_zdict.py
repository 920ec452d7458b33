"""
Packed documents with and without a preset dictionary: zlib's header names
the dictionary by its Adler-32, documents packed without one (as before
dictionaries) inflate without, and a wrong or missing dictionary is an error.
"""
import zlib

import orjson
import pytest

from azul.backends.duckdb import zdicts
from azul.backends.duckdb.packed import dictionary_id, json_text, pack, unpack

DOCUMENT = {'files': [{'name': 'SRR3562314_1.fastq.gz', 'format': 'fastq.gz', 'size': 64}],
            'projects': [{'title': 'A title', 'laboratory': ['John Dear']}]}

ZDICT = orjson.dumps({'files': [{'name': 'SRR3562315_2.fastq.gz', 'format': 'fastq.gz'}],
                      'projects': [{'title': 'Another title'}]}) * 3


def _none(zdict_id: int) -> bytes:
    raise AssertionError(f'Asked for dictionary {zdict_id}')


def test_without_a_dictionary():
    packed = pack(DOCUMENT)
    assert dictionary_id(packed) is None
    # What the eighth session wrote: plain zlib at level 3
    assert packed == zlib.compress(orjson.dumps(DOCUMENT), 3)
    assert unpack(packed, _none) == DOCUMENT
    assert json_text(packed, _none) == orjson.dumps(DOCUMENT).decode()
    # Tables made before packing: JSON text
    assert unpack(orjson.dumps(DOCUMENT).decode(), _none) == DOCUMENT


def test_with_a_dictionary():
    packed = pack(DOCUMENT, ZDICT)
    # The FDICT flag and the dictionary's Adler-32 after the two header bytes (RFC 1950)
    assert packed[1] & 0x20
    assert packed[2:6] == zlib.adler32(ZDICT).to_bytes(4, 'big')
    assert dictionary_id(packed) == zlib.adler32(ZDICT)
    asked = []
    assert unpack(packed, lambda i: asked.append(i) or ZDICT) == DOCUMENT
    assert asked == [zlib.adler32(ZDICT)]
    assert json_text(packed, {zlib.adler32(ZDICT): ZDICT}.__getitem__) == orjson.dumps(
        DOCUMENT).decode()
    # Shorter than without: the dictionary has the keys and most values
    assert len(packed) < len(pack(DOCUMENT)) - 40
    # Packed again (a copy of the primed compressor): the same bytes
    assert pack(DOCUMENT, ZDICT) == packed


def test_a_wrong_dictionary_fails():
    packed = pack(DOCUMENT, ZDICT)
    # Its last bytes differ: every match in it points elsewhere
    with pytest.raises(zlib.error):
        unpack(packed, lambda i: ZDICT[:-1])
    # A document packed with one cannot be inflated without
    with pytest.raises(zlib.error):
        zlib.decompress(packed)


def test_choose_keeps_the_last_documents():
    documents = [f'{{"n": {i}, "pad": "{"x" * 1000}"}}'.encode() for i in range(100)]
    zdict = zdicts.choose(documents)
    assert len(zdict) == zdicts.SIZE == 32506
    assert zdict.endswith(documents[-1])
    assert b'"n": 99,' in zdict and b'"n": 70,' in zdict and b'"n": 60,' not in zdict
    # Fewer bytes than a dictionary holds: all of them
    assert zdicts.choose(documents[:3]) == b''.join(documents[:3])
