"""Packing contributions for DuckDB: each distinct inner entity stored once."""
from uuid import UUID

import pytest

from azul.backends.duckdb.contributions import (
    contribution_inner_table,
    key_of,
    pack,
    parse_docs,
    referenced_keys,
    unpack,
)
from azul.core.documents import BundleFQID, Contribution

# Keys checked by hand with coreutils, independently of hashlib:
#   printf '%s' '{"document_id":"d1","sex":"female"}' | b2sum -l 128
DONOR_KEY = '8f53a026ccf6f2a29f483d701cae7f35'
#   printf '%s' '{"document_id":"p1","title":"T"}' | b2sum -l 128
PROJECT_KEY = 'ccb207fcd8cf828bb3f90067abea22ab'


def contribution(entity_id: str, **contents) -> Contribution:
    return Contribution(entity_type='files', entity_id=entity_id,
                        bundle=BundleFQID('b1', '2020-01-01T00:00:00.000000Z'), source='s',
                        deleted=False, contents=contents)


def test_the_key_is_the_blake2b_hash_of_the_text():
    assert key_of(b'{"document_id":"d1","sex":"female"}') == DONOR_KEY


def test_shared_and_equal_inner_entities_are_stored_once():
    donor = {'document_id': 'd1', 'sex': 'female'}
    # One object in both contributions, as a transform hands them out, and a
    # project that is an equal copy in the second
    a = contribution('f1', donors=[donor], projects=[{'document_id': 'p1', 'title': 'T'}])
    b = contribution('f2', projects=[{'document_id': 'p1', 'title': 'T'}], donors=[donor])
    packed = pack([a, b])
    assert packed.docs == {DONOR_KEY: '{"document_id":"d1","sex":"female"}',
                           PROJECT_KEY: '{"document_id":"p1","title":"T"}'}
    # Inner types keep their order: the fold depends on it
    assert packed.contents == [
        f'[{{"donors":["{DONOR_KEY}"],"projects":["{PROJECT_KEY}"]}}]',
        f'[{{"projects":["{PROJECT_KEY}"],"donors":["{DONOR_KEY}"]}}]',
    ]


def test_contents_that_are_not_lists_of_dicts_are_stored_whole():
    packed = pack([contribution('f1', donors={'document_id': 'd1'}),
                   contribution('f2', donors=['d1']),
                   Contribution('files', 'f3', BundleFQID('b1', 'v'), 's', True, {})])
    assert packed.contents == ['{"donors":{"document_id":"d1"}}', '{"donors":["d1"]}', '[{}]']
    assert packed.docs == {}


def test_unpacking_restores_the_contents_and_shares_equal_entities():
    donor = {'document_id': 'd1', 'sex': 'female'}
    values = [[{'donors': [DONOR_KEY], 'projects': [PROJECT_KEY]}],
              [{'projects': [PROJECT_KEY], 'donors': [DONOR_KEY, DONOR_KEY]}],
              {'donors': [donor]}]
    assert referenced_keys(values) == {DONOR_KEY, PROJECT_KEY}
    rows = [(UUID(DONOR_KEY), '{"document_id":"d1","sex":"female"}'),
            (UUID(PROJECT_KEY), '{"document_id":"p1","title":"T"}'),
            # Stored twice by two batches of a bulk load: equal copies
            (UUID(DONOR_KEY), '{"document_id":"d1","sex":"female"}')]
    docs = parse_docs(rows)
    first, second, whole = (unpack(value, docs) for value in values)
    assert first == {'donors': [donor], 'projects': [{'document_id': 'p1', 'title': 'T'}]}
    assert list(second) == ['projects', 'donors']
    assert second['donors'] == [donor, donor]
    assert first['donors'][0] is second['donors'][0] is second['donors'][1]
    # Stored whole before inner entities had a table of their own
    assert whole == {'donors': [donor]}


def test_a_missing_inner_entity_is_an_error():
    with pytest.raises(LookupError, match=DONOR_KEY):
        unpack([{'donors': [DONOR_KEY]}], {})


def test_the_inner_table_keeps_the_generation_last():
    assert contribution_inner_table('azul_d_c_files_contribution') == \
        'azul_d_c_files_contribution_inner'
    assert contribution_inner_table('azul_d_c_files_contribution__g20261202150000abcdef') == \
        'azul_d_c_files_contribution_inner__g20261202150000abcdef'
