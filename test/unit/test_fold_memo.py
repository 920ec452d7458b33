"""`shared_folds`: the same inner entity objects folded once across aggregates."""
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from azul.core.aggregation import InnerAggregator, KeepWhole, aggregate, shared_folds
from azul.core.documents import BundleFQID, Contribution

V1, V2 = '2020-01-01T00:00:00.000000Z', '2021-01-01T00:00:00.000000Z'


@attrs.define
class Counting(InnerAggregator):
    """The sexes of the entities, counting its calls."""
    calls: int = 0

    def aggregate(self, entities: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        self.calls += 1
        return [{'sex': [e['sex'] for e in entities]}]


def contribution(entity_id: str, version: str = V1, **contents) -> Contribution:
    return Contribution(entity_type='files', entity_id=entity_id,
                        bundle=BundleFQID('b1', version), source='s', deleted=False,
                        contents=contents)


def test_the_same_objects_are_folded_once():
    counting = Counting()
    donor = {'document_id': 'd1', 'sex': 'female'}
    cs = [contribution('f1', donors=[donor]), contribution('f2', donors=[donor]),
          # Equal, but another object: folded again
          contribution('f3', donors=[dict(donor)])]
    with shared_folds():
        results = [aggregate('files', c.entity_id, [c], {'donors': counting}) for c in cs]
    assert counting.calls == 2
    assert [r.contents for r in results] == [{'donors': [{'sex': ['female']}]}] * 3
    # Each aggregate has a list of its own
    assert results[0].contents['donors'] is not results[1].contents['donors']


def test_without_the_block_nothing_is_remembered():
    counting = Counting()
    donor = {'document_id': 'd1', 'sex': 'female'}
    for entity_id in ('f1', 'f2'):
        aggregate('files', entity_id, [contribution(entity_id, donors=[donor])],
                  {'donors': counting})
    assert counting.calls == 2


def test_the_key_is_the_whole_list_in_order_and_the_aggregator():
    counting, other = Counting(), Counting()
    d1 = {'document_id': 'd1', 'sex': 'female'}
    d2 = {'document_id': 'd2', 'sex': 'male'}
    with shared_folds():
        a = aggregate('files', 'f1', [contribution('f1', donors=[d1, d2])],
                      {'donors': counting})
        b = aggregate('files', 'f2', [contribution('f2', donors=[d2, d1])],
                      {'donors': counting})
        c = aggregate('files', 'f3', [contribution('f3', donors=[d1])], {'donors': counting})
        d = aggregate('files', 'f4', [contribution('f4', donors=[d1, d2])], {'donors': other})
    assert counting.calls == 3 and other.calls == 1
    # The order of the entities is what the aggregator saw
    assert a.contents == d.contents == {'donors': [{'sex': ['female', 'male']}]}
    assert b.contents == {'donors': [{'sex': ['male', 'female']}]}
    assert c.contents == {'donors': [{'sex': ['female']}]}


def test_entities_reconciled_from_several_bundles_are_the_chosen_ones():
    counting = Counting()
    old = {'document_id': 'd1', 'sex': 'female'}
    new = {'document_id': 'd1', 'sex': 'male'}
    with shared_folds():
        first = aggregate('projects', 'p1', [contribution('p1', V1, donors=[old]),
                                             contribution('p1', V2, donors=[new])],
                          {'donors': counting})
        # Only V2's copy counts (the bundle's newest version), so the list is
        # the one the first aggregate folded
        second = aggregate('projects', 'p2', [contribution('p2', V2, donors=[new])],
                           {'donors': counting})
    assert counting.calls == 1
    assert first.contents == second.contents == {'donors': [{'sex': ['male']}]}


def test_a_full_memo_starts_over():
    counting = Counting()
    d1 = {'document_id': 'd1', 'sex': 'female'}
    d2 = {'document_id': 'd2', 'sex': 'male'}
    with shared_folds(size=1):
        for entity_id, donor in (('f1', d1), ('f2', d2), ('f3', d1), ('f4', d1)):
            aggregate('files', entity_id, [contribution(entity_id, donors=[donor])],
                      {'donors': counting})
    # d1, d2 (d1 forgotten), d1 again (d2 forgotten), then d1 remembered
    assert counting.calls == 3


def test_whole_entities_are_copied_per_aggregate():
    file = {'document_id': 'f1', 'name': 'a.fastq'}
    with shared_folds():
        a = aggregate('files', 'f1', [contribution('f1', files=[file])], {'files': KeepWhole()})
        b = aggregate('files', 'f1', [contribution('f1', files=[file])], {'files': KeepWhole()})
    assert a.contents == b.contents == {'files': [{'document_id': 'f1', 'name': 'a.fastq'}]}
    assert a.contents['files'][0] is not b.contents['files'][0]


def test_a_nested_block_uses_the_enclosing_memo():
    counting = Counting()
    donor = {'document_id': 'd1', 'sex': 'female'}
    with shared_folds():
        # The indexer's batches each open a block within the worker's round
        for entity_id in ('f1', 'f2'):
            with shared_folds():
                aggregate('files', entity_id, [contribution(entity_id, donors=[donor])],
                          {'donors': counting})
    assert counting.calls == 1
    # Once the enclosing block ended, a block has a memo of its own again
    with shared_folds():
        aggregate('files', 'f3', [contribution('f3', donors=[donor])], {'donors': counting})
    assert counting.calls == 2
