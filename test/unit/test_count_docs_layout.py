"""
The pure parts of the kept counts' layout (`azul.backends.opensearch.count_docs`):
counts from count documents, deltas applied to them, and the documents a
recount writes, against values worked out by hand.
"""
from azul.backends.opensearch.count_docs import (
    applied,
    assembled,
    base_docs,
    delta_of,
    delta_source,
    doc_id,
    size,
)
from azul.backends.opensearch.kept import EXACT, Delta

SPEC = ['sum\tformat\tsize', 'distinct\torgan\tformat']
COUNTS = {'total': 3,
          'terms': {'format\t"bam"': 2, 'format\tnull': 1, 'organ\t"brain"': 3},
          'sums': {'size': 40, 'cells': None},
          'grouped': {SPEC[0]: {'format\t"bam"': 40, 'format\tnull': 0},
                      SPEC[1]: {'organ\t"brain"\nformat\t"bam"': 2}}}


def test_counts_from_their_documents():
    docs = base_docs('counts', 'files', 7, COUNTS)
    # The total, 3 terms, 2 sums, 3 grouping entries
    assert len(docs) == size(COUNTS) == 9
    assert all(d['_id'].startswith('files.7.') for d in docs)
    assert len({d['_id'] for d in docs}) == 9
    assert assembled(SPEC, [d['_source'] for d in docs]) == COUNTS
    # A grouping no longer kept is left out
    assert assembled(SPEC[:1], [d['_source'] for d in docs])['grouped'] == {
        SPEC[0]: COUNTS['grouped'][SPEC[0]]}


def test_ids_of_long_terms_fit():
    long_id = doc_id('files', 2 ** 61, 'grouped', SPEC[1], 'organ\t"' + 'x' * 2000 + '"')
    assert len(long_id) < 100


def test_deltas_add_up():
    # A bam file of size 5 in brain deleted; a loom file of size 7, no organ, added
    first = Delta(0, {'format\t"bam"': -1, 'format\t"loom"': 1, 'organ\t"brain"': -1,
                      'organ\tnull': 1},
                  {'size': 2, 'cells': 3},
                  {SPEC[0]: {'format\t"bam"': -5, 'format\t"loom"': 7},
                   SPEC[1]: {'organ\t"brain"\nformat\t"bam"': -1}})
    # The other bam file (size 35) deleted
    second = Delta(-1, {'format\t"bam"': -1, 'organ\t"brain"': -1}, {'size': -35},
                   {SPEC[0]: {'format\t"bam"': -35},
                    SPEC[1]: {'organ\t"brain"\nformat\t"bam"': -1}})
    deltas = [delta_of(delta_source('files', d)) for d in (first, second)]
    expected = {'total': 2,
                'terms': {'format\tnull': 1, 'format\t"loom"': 1, 'organ\t"brain"': 1,
                          'organ\tnull': 1},
                # A sum not kept stays so
                'sums': {'size': 7, 'cells': None},
                # bam has no documents left: no bucket, whatever its sum
                'grouped': {SPEC[0]: {'format\tnull': 0, 'format\t"loom"': 7},
                            SPEC[1]: {}}}
    assert applied(COUNTS, deltas, 100) == expected
    # In any order
    assert applied(COUNTS, deltas[::-1], 100) == expected
    # The counts applied to are not changed
    assert COUNTS['terms']['format\t"bam"'] == 2


def test_deltas_that_cannot_apply():
    below_zero = Delta(0, {'format\t"loom"': -1}, {}).params()
    assert applied(COUNTS, [below_zero], 100) is None
    unkept = Delta(0, {}, {}, {'sum\torgan\tsize': {'organ\t"brain"': 1}}).params()
    assert applied(COUNTS, [unkept], 100) is None
    too_many = Delta(1, {'organ\t"liver"': 1}, {}).params()
    # 4 terms then
    assert applied(COUNTS, [too_many], 3) is None
    assert applied(COUNTS, [too_many], 4) is not None
    beyond = Delta(0, {}, {'size': EXACT - 40}).params()
    assert applied(COUNTS, [beyond], 100)['sums']['size'] is None
