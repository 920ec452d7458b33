"""
The spill of a reindex: contributions come back grouped by entity, entities
in order of their ids and each entity's contributions in the order they
were added, whether held in memory or written out (also when a spill that
began in memory outgrows it).
"""
import orjson
import pytest

from azul.core.documents import BundleFQID, Contribution
from azul.indexer.reindex import _Spill


def _contribution(entity_type: str, entity_id: str, bundle: str) -> Contribution:
    return Contribution(entity_type=entity_type, entity_id=entity_id,
                        bundle=BundleFQID(bundle, '2020-01-01T00:00:00.000000Z'),
                        source='src', deleted=False,
                        contents={'files': [{'document_id': f'{entity_id}-{bundle}'}]})


BATCHES = [
    [_contribution('files', 'f2', 'b1'), _contribution('files', 'f1', 'b1'),
     _contribution('projects', 'p', 'b1')],
    [_contribution('files', 'f1', 'b2'), _contribution('projects', 'p', 'b2'),
     _contribution('files', 'f2', 'b0')],
]


def _folded(spill: _Spill) -> dict[str, list[tuple[str, list[str]]]]:
    result = {}
    for entity_type in spill.entity_types():
        entities = []
        for chunk in spill.fold_chunks('cat', entity_type):
            assert chunk.catalog == 'cat' and chunk.entity_type == entity_type
            for entity_id, items in chunk.entities:
                contributions = [item if isinstance(item, Contribution)
                                 else Contribution.from_json(orjson.loads(item))
                                 for item in items]
                assert {c.entity_id for c in contributions} == {entity_id}
                entities.append((entity_id, [c.bundle.uuid for c in contributions]))
        result[entity_type] = entities
    return result


@pytest.mark.parametrize('in_memory', [0, 4, 100])
def test_spill_groups_by_entity(tmp_path, in_memory):
    spill = _Spill(str(tmp_path), in_memory)
    try:
        for batch in BATCHES:
            spill.add(batch)
        assert _folded(spill) == {
            'files': [('f1', ['b1', 'b2']), ('f2', ['b1', 'b0'])],
            'projects': [('p', ['b1', 'b2'])],
        }
        # Held in memory only while the contributions fit
        assert bool(list(tmp_path.iterdir())) == (in_memory < 6)
    finally:
        spill.close()


def test_spilled_contributions_fold_as_held_ones(tmp_path):
    from azul import envfiles
    from azul.config import Config
    from azul.indexer.reindex_pool import FoldChunk, fold_chunk
    from azul.runtime import Runtime

    runtime = Runtime(Config.from_env({**envfiles.evaluate({}), 'AZUL_DATA_DIR': str(tmp_path)}))

    def contribution(file_id: str, bundle: str) -> Contribution:
        # Each its own objects, as parsed from two bundles
        donor = {'document_id': 'd1', 'biological_sex': 'female', 'biomaterial_id': 'D1'}
        return Contribution(entity_type='files', entity_id=file_id,
                            bundle=BundleFQID(bundle, '2020-01-01T00:00:00.000000Z'),
                            source='src', deleted=False,
                            contents={'files': [{'document_id': file_id}], 'donors': [donor]})

    held = [contribution('f1', 'b1'), contribution('f2', 'b2')]
    spilled = [orjson.dumps(c.to_json()).decode() for c in held]
    results = [fold_chunk(runtime, FoldChunk('dcp', 'files', (('f1', (c1,)), ('f2', (c2,)))))
               for c1, c2 in (held, spilled)]
    assert results[0].documents == results[1].documents
    assert [r.contributions for r in results] == [2, 2]
    f1, f2 = results[1].documents
    assert f1.aggregate.contents['donors'] == [{'document_id': ['d1'],
                                                'biological_sex': ['female'],
                                                'biomaterial_id': ['D1'], 'donor_count': 1}]
    assert f1.fields['biologicalSex'] == ('female',)
    # Parsed, the equal donors became one object, folded once for both files
    assert f1.aggregate.contents['donors'][0] is f2.aggregate.contents['donors'][0]
    # Held, they are the objects of two bundles
    f1, f2 = results[0].documents
    assert f1.aggregate.contents['donors'][0] is not f2.aggregate.contents['donors'][0]
