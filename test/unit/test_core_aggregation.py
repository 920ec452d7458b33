"""The pure aggregation function and its accumulators."""
import itertools
import logging

from azul.core.aggregation import (
    DistinctSumAccumulator,
    GroupingAggregator,
    MaxAccumulator,
    SetAccumulator,
    SimpleAggregator,
    aggregate,
    live_contributions,
)
from azul.core.documents import BundleFQID, Contribution, normalize_version


def contribution(bundle: str, version: str, deleted=False, **contents) -> Contribution:
    return Contribution(entity_type='projects', entity_id='p1',
                        bundle=BundleFQID(bundle, version), source='s', deleted=deleted,
                        contents=contents)


v1, v2, v3 = '2020-01-01T00:00:00.000000Z', '2021-01-01T00:00:00.000000Z', \
    '2022-01-01T00:00:00.000000Z'


def test_contribution_ids_are_deterministic():
    c = contribution('b1', v1)
    assert c.id == f'p1_b1_{v1}_exists'
    assert contribution('b1', v1, deleted=True).id == f'p1_b1_{v1}_deleted'


def test_only_the_newest_version_of_a_bundle_counts():
    live = live_contributions([contribution('b1', v1), contribution('b1', v2),
                               contribution('b2', v1)])
    assert [(c.bundle.uuid, c.bundle.version) for c in live] == [('b1', v2), ('b2', v1)]


def test_deletion_at_the_newest_version_removes_the_bundle():
    cs = [contribution('b1', v1), contribution('b1', v2), contribution('b1', v2, deleted=True)]
    for permutation in itertools.permutations(cs):
        assert live_contributions(permutation) == []
    # an addition newer than the deletion brings the bundle back
    cs.append(contribution('b1', v3))
    assert [c.bundle.version for c in live_contributions(cs)] == [v3]


def test_no_live_contribution_means_no_aggregate():
    assert aggregate('projects', 'p1', [contribution('b1', v1, deleted=True)], {}) is None


def test_inner_entities_come_from_the_newest_bundle_and_order_does_not_matter():
    cs = [
        contribution('b1', v1, donors=[{'document_id': 'd1', 'sex': 'female'}]),
        contribution('b2', v2, donors=[{'document_id': 'd1', 'sex': 'male'},
                                       {'document_id': 'd2', 'sex': None}]),
        contribution('b3', v1, donors=[{'document_id': 'd3', 'sex': 'female'}]),
    ]
    results = {repr(aggregate('projects', 'p1', p, {}).to_json())
               for p in itertools.permutations(cs)}
    assert len(results) == 1
    result = aggregate('projects', 'p1', cs, {})
    # d1 from b2 (male), d3 female; null sorts last
    assert result.contents['donors'] == [{'document_id': ['d1', 'd2', 'd3'],
                                          'sex': ['female', 'male', None]}]
    assert [b.uuid for b in result.bundles] == ['b1', 'b2', 'b3']
    assert result.num_contributions == 3


def test_redelivery_changes_nothing():
    c = contribution('b1', v1, donors=[{'document_id': 'd1', 'age': 3}])
    assert aggregate('projects', 'p1', [c], {}) == aggregate('projects', 'p1', [c, c, c], {})


def test_grouping_and_accumulators():
    # The original's GroupingAggregator: groups in the order first seen, each
    # file's size counted once per (uuid, version), other fields sets
    files = [{'file_format': 'fastq.gz', 'size': (('f1', 'v'), 10)},
             {'file_format': 'bam', 'size': (('f2', 'v'), 5)},
             {'file_format': 'fastq.gz', 'size': (('f3', 'v'), 7)},
             {'file_format': 'fastq.gz', 'size': (('f3', 'v'), 7)},
             {'file_format': None, 'size': (('f4', 'v'), 1)}]
    aggregator = GroupingAggregator(group=lambda f: f['file_format'],
                                    fields={'size': DistinctSumAccumulator})
    assert aggregator.aggregate(files) == [
        {'file_format': ['fastq.gz'], 'size': 17},
        {'file_format': ['bam'], 'size': 5},
        {'file_format': [None], 'size': 1},
    ]
    simple = SimpleAggregator(fields={'date': MaxAccumulator, 'count': None})
    assert simple.aggregate([{'date': v1, 'count': 1}, {'date': v3}, {'date': None}]) == \
        [{'date': v3}]


def test_set_accumulator_cap_is_logged(caplog):
    acc = SetAccumulator('document_id', max_size=3)
    with caplog.at_level(logging.WARNING):
        for i in range(5):
            acc.add(f'id{i}')
    assert acc.get() == ['id0', 'id1', 'id2']
    assert "'document_id' has more than 3 distinct values" in caplog.text


def test_set_accumulator_takes_a_list_whole_below_the_cap():
    # As the original's SetAccumulator: the cap is checked before each value,
    # so a list may take the set past it; a duplicate at the cap logs nothing
    acc = SetAccumulator('organ', max_size=2)
    acc.add('blood')
    acc.add(['liver', 'brain', None])
    acc.add('eye')
    assert acc.get() == ['blood', 'brain', 'liver', None]


def test_versions_are_normalized():
    assert normalize_version('2018-08-03T082009.272868Z') == '2018-08-03T08:20:09.272868Z'
    assert normalize_version('2021-05-10T23:25:12.412Z') == '2021-05-10T23:25:12.412000Z'
    assert normalize_version('2020-12-10T10:30:00Z') == '2020-12-10T10:30:00.000000Z'


def test_bad_versions_are_rejected():
    import pytest

    from azul.errors import BadRequestError
    for bad in ('yesterday', '2021-13-01T00:00:00.000000Z', '', None):
        with pytest.raises(BadRequestError, match='Invalid bundle version'):
            normalize_version(bad)
