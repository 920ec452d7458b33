"""`shared_projections`: the same nodes of a path prefix projected once across documents."""
from typing import Any

import attrs

from azul.core.fields import Field, FieldRegistry, FieldType, ObjectShape, shared_projections


@attrs.frozen
class CountingField(Field):
    """A long field counting the values it normalized."""
    calls: list = attrs.field(factory=list, eq=False)

    def normalize(self, value: Any) -> Any:
        self.calls.append(value)
        return super().normalize(value)


def registry(counting: CountingField) -> FieldRegistry:
    return FieldRegistry((
        Field(name='entryId', type=FieldType.keyword, path='entity_id'),
        counting,
        Field(name='donorSex', type=FieldType.keyword, path='contents.donors.sex'),
        Field(name='cellCount', type=FieldType.long, path='contents.cells.count', default=0),
        Field(name='accessions', type=FieldType.object, path='contents.projects.accessions',
              shape=ObjectShape(('namespace', 'accession'), partial=True)),
    ))


def document(entity_id: str, donors: list, projects: list = ()) -> dict:
    return {'entity_id': entity_id, 'contents': {'donors': donors, 'projects': list(projects)}}


def test_projections_are_those_without_the_block():
    ages = CountingField(name='donorAge', type=FieldType.long, path='contents.donors.age')
    fields = registry(ages)
    d1 = {'sex': 'female', 'age': 30}
    d2 = {'sex': None, 'age': [40, 30]}
    project = {'accessions': [{'namespace': 'geo', 'accession': 'GSE1'}]}
    docs = [document('f1', [d1, d2], [project]), document('f2', [d1, d2], [project]),
            document('f3', [d2]), document('f4', [])]
    expected = [
        {'entryId': ('f1',), 'donorAge': (30, 40), 'donorSex': ('female', None),
         'cellCount': (0,),
         'accessions': ('{}', '{"namespace":"geo"}', '{"accession":"GSE1"}',
                        '{"accession":"GSE1","namespace":"geo"}')},
        {'entryId': ('f2',), 'donorAge': (30, 40), 'donorSex': ('female', None),
         'cellCount': (0,),
         'accessions': ('{}', '{"namespace":"geo"}', '{"accession":"GSE1"}',
                        '{"accession":"GSE1","namespace":"geo"}')},
        {'entryId': ('f3',), 'donorAge': (40, 30), 'donorSex': (None,), 'cellCount': (0,),
         'accessions': (None,)},
        {'entryId': ('f4',), 'donorAge': (None,), 'donorSex': (None,), 'cellCount': (0,),
         'accessions': (None,)},
    ]
    assert [fields.extract(d) for d in docs] == expected
    with shared_projections():
        assert [fields.extract(d) for d in docs] == expected


def test_the_same_nodes_are_projected_once():
    ages = CountingField(name='donorAge', type=FieldType.long, path='contents.donors.age')
    fields = registry(ages)
    donor = {'sex': 'female', 'age': 30}
    with shared_projections():
        first = fields.extract(document('f1', [donor]))
        second = fields.extract(document('f2', [donor]))
        # Equal, but another object: projected again
        third = fields.extract(document('f3', [dict(donor)]))
    assert ages.calls == [30, 30]
    assert first['donorAge'] == second['donorAge'] == third['donorAge'] == (30,)
    assert (first['entryId'], second['entryId'], third['entryId']) == (('f1',), ('f2',), ('f3',))


def test_the_key_is_every_node_in_order():
    ages = CountingField(name='donorAge', type=FieldType.long, path='contents.donors.age')
    fields = registry(ages)
    d1, d2 = {'age': 30}, {'age': 40}
    with shared_projections():
        a = fields.extract(document('f1', [d1, d2]))
        b = fields.extract(document('f2', [d2, d1]))
        c = fields.extract(document('f3', [d1]))
        d = fields.extract(document('f4', [d1, d2]))
    assert len(ages.calls) == 5
    assert a['donorAge'] == d['donorAge'] == (30, 40)
    assert b['donorAge'] == (40, 30)
    assert c['donorAge'] == (30,)


def test_without_the_block_nothing_is_remembered():
    ages = CountingField(name='donorAge', type=FieldType.long, path='contents.donors.age')
    fields = registry(ages)
    donor = {'age': 30}
    fields.extract(document('f1', [donor]))
    fields.extract(document('f2', [donor]))
    assert ages.calls == [30, 30]


def test_a_full_memo_starts_over():
    ages = CountingField(name='donorAge', type=FieldType.long, path='contents.donors.age')
    fields = registry(ages)
    d1, d2 = {'age': 30}, {'age': 40}
    # Each document fills an entry for its donors and one for its projects
    with shared_projections(size=2):
        for entity_id, donor in (('f1', d1), ('f2', d2), ('f3', d1), ('f4', d1)):
            fields.extract(document(entity_id, [donor], [{'accessions': []}]))
    # d1, d2 (d1 forgotten), d1 again, then d1 remembered
    assert ages.calls == [30, 40, 30]


def test_a_nested_block_uses_the_enclosing_memo():
    ages = CountingField(name='donorAge', type=FieldType.long, path='contents.donors.age')
    fields = registry(ages)
    donor = {'age': 30}
    with shared_projections():
        for entity_id in ('f1', 'f2'):
            with shared_projections():
                fields.extract(document(entity_id, [donor]))
    assert ages.calls == [30]
    with shared_projections():
        fields.extract(document('f3', [donor]))
    assert ages.calls == [30, 30]
