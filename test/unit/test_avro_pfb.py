"""
The PFB building blocks and the HCA converter, without an index: expected
values are literals written from the original's canned PFB schema and
entities (test/service/data/manifest/terra/ in DataBiosphere/azul).
"""
import io

import fastavro
import pytest

from azul.manifests import avro_pfb
from azul.manifests.avro_pfb import Many, Ranges, Records, Scalar, Uuid, ValueAndUnit
from azul.manifests.formats.pfb import hca_metadata_entity, hca_pfb_entities, hca_pfb_schema


def test_scalar_and_many():
    assert avro_pfb.field_schema('size', Scalar('long'), 'files') == {
        'name': 'size', 'namespace': 'files', 'type': ['null', 'long']}
    assert avro_pfb.field_schema('organ', Many('string'), 'samples') == {
        'name': 'organ', 'namespace': 'samples',
        'type': {'type': 'array', 'items': ['null', 'string']}}


def test_uuid():
    # Never null, and no default: fastavro refuses a null default for it
    assert avro_pfb.field_schema('uuid', Uuid(), 'matrices.file') == {
        'name': 'uuid', 'namespace': 'matrices.file', 'type': ['string'], 'logicalType': 'UUID'}


def test_value_and_unit():
    assert avro_pfb.field_schema('organism_age', ValueAndUnit(), 'donors') == {
        'name': 'organism_age', 'namespace': 'donors',
        'type': {'type': 'array', 'items': ['null', {
            'name': 'organism_age', 'namespace': 'donors', 'type': 'record',
            'fields': [
                {'name': 'value', 'namespace': 'donors.organism_age', 'type': ['null', 'string']},
                {'name': 'unit', 'namespace': 'donors.organism_age', 'type': ['null', 'string']},
            ]}]}}


def test_ranges():
    assert avro_pfb.field_schema('organism_age_range', Ranges(), 'donors') == {
        'name': 'organism_age_range', 'namespace': 'donors',
        'type': {'type': 'array', 'items': {'type': 'array', 'items': 'double'}}}


def test_records():
    type_ = Records({'atlas': Scalar('string'), 'official': Many('boolean')})
    assert avro_pfb.field_schema('tissue_atlas', type_, 'projects') == {
        'name': 'tissue_atlas', 'namespace': 'projects',
        'type': {'type': 'array', 'items': {
            'name': 'tissue_atlas', 'namespace': 'projects', 'type': 'record',
            'fields': [
                {'name': 'atlas', 'namespace': 'projects.tissue_atlas',
                 'type': ['null', 'string']},
                {'name': 'official', 'namespace': 'projects.tissue_atlas',
                 'type': {'type': 'array', 'items': ['null', 'boolean']}},
            ]}}}


def test_entity_schema():
    assert avro_pfb.entity_schema('sequencing_processes', {'document_id': Many('string')}) == {
        'name': 'sequencing_processes', 'namespace': '', 'type': 'record',
        'fields': [{'name': 'document_id', 'namespace': 'sequencing_processes',
                    'type': {'type': 'array', 'items': ['null', 'string']}}]}


def test_boilerplate():
    schema = avro_pfb.pfb_schema([])
    assert schema['name'] == 'Entity' and schema['type'] == 'record'
    id_, name, object_, relations = schema['fields']
    assert id_ == {'name': 'id', 'type': ['null', 'string'], 'default': None}
    assert name == {'name': 'name', 'type': 'string'}
    assert relations == {'name': 'relations', 'default': [], 'type': {
        'type': 'array', 'items': {'type': 'record', 'name': 'Relation', 'fields': [
            {'name': 'dst_id', 'type': 'string'}, {'name': 'dst_name', 'type': 'string'}]}}}
    metadata, = object_['type']
    string_map = {'type': 'map', 'values': 'string'}
    assert metadata == {'type': 'record', 'name': 'Metadata', 'fields': [
        {'name': 'nodes', 'type': {'type': 'array', 'items': {
            'type': 'record', 'name': 'Node', 'fields': [
                {'name': 'name', 'type': 'string'},
                {'name': 'ontology_reference', 'type': 'string'},
                {'name': 'values', 'type': string_map},
                {'name': 'links', 'type': {'type': 'array', 'items': {
                    'type': 'record', 'name': 'Link', 'fields': [
                        {'name': 'multiplicity', 'type': {
                            'type': 'enum', 'name': 'Multiplicity',
                            'symbols': ['ONE_TO_ONE', 'ONE_TO_MANY', 'MANY_TO_ONE',
                                        'MANY_TO_MANY']}},
                        {'name': 'dst', 'type': 'string'},
                        {'name': 'name', 'type': 'string'}]}}},
                {'name': 'properties', 'type': {'type': 'array', 'items': {
                    'type': 'record', 'name': 'Property', 'fields': [
                        {'name': 'name', 'type': 'string'},
                        {'name': 'ontology_reference', 'type': 'string'},
                        {'name': 'values', 'type': string_map}]}}}]}}},
        {'name': 'misc', 'type': string_map}]}


def test_metadata_entity():
    entity = avro_pfb.metadata_entity({'donors': [avro_pfb.link('files')], 'files': []})
    assert entity == {'id': None, 'name': 'Metadata', 'relations': [], 'object': ('Metadata', {
        'misc': {},
        'nodes': [
            {'name': 'donors', 'ontology_reference': '', 'values': {}, 'properties': [],
             'links': [{'multiplicity': 'MANY_TO_MANY', 'dst': 'files', 'name': 'files'}]},
            {'name': 'files', 'ontology_reference': '', 'values': {}, 'properties': [],
             'links': []},
        ]})}
    # The HCA one validates against the HCA schema
    schema = fastavro.parse_schema(hca_pfb_schema())
    assert fastavro.validation.validate(hca_metadata_entity(), schema)


def test_entity_id():
    # Ids from the original's canned entities
    assert avro_pfb.entity_id('files', ['0b34a80b-c818-4010-b193-e44a77036e27']) \
        == 'files.9a9689e4-021b-5cb3-86aa-760324215f76.1'
    assert avro_pfb.entity_id('donors', ['242e38d2-c975-47ee-800a-6645b47e92d2']) \
        == 'donors.7169f434-8d37-5894-8709-707da00dafa0.1'
    two = avro_pfb.entity_id('specimens', ['b', 'a'])
    assert two == avro_pfb.entity_id('specimens', ['a', 'b'])
    assert two.startswith('specimens.') and two.endswith('.2')
    with pytest.raises(ValueError):
        avro_pfb.entity_id('x' * 250, ['a'])
    with pytest.raises(ValueError):
        avro_pfb.entity_id('specimens', ['a_b', 'c'])


def test_conform():
    types = {'a': Scalar('long'), 'b': Many('string'), 'c': Ranges(), 'd': ValueAndUnit(),
             'e': Records({'x': Scalar('string'), 'y': Many('string')})}
    assert avro_pfb.conform(types, {'extra': 1, 'e': [{'x': 'v'}]}) == {
        'a': None, 'b': [None], 'c': [], 'd': [None], 'e': [{'x': 'v', 'y': [None]}]}
    assert avro_pfb.conform(types, {'a': 0, 'b': [], 'e': []})['b'] == []


def _document(file_id: str, related: list[str] = ()) -> dict:
    def file(document_id):
        return {'document_id': document_id, 'uuid': document_id.replace('d', 'u'),
                'name': document_id, 'size': 1, 'source_drs_uri': None}
    return {'entity_id': file_id, 'contents': {
        'files': [{**file(file_id), 'related_files': [file(r) for r in related]}],
        'donors': [{'document_id': ['don2', 'don1'], 'donor_count': 2}],
        'projects': [{'document_id': ['p1'], 'project_title': ['T']}],
        # No document id: no entity; not in the schema: ignored
        'analysis_protocols': [{'protocol_name': ['x']}],
        'cell_counts': [{'total_estimated_cells': 3}],
    }}


def test_hca_entities():
    entities = list(hca_pfb_entities(iter([_document('d1', ['d3']), _document('d2')])))
    names = [(e['name'], e['object'][1].get('document_id')) for e in entities]
    assert names == [
        ('Metadata', None),
        ('donors', ['don2', 'don1']),
        ('projects', ['p1']),
        ('files', 'd1'),
        ('files', 'd3'),
        ('files', 'd2'),
    ]
    donors_id = avro_pfb.entity_id('donors', ['don1', 'don2'])
    projects_id = avro_pfb.entity_id('projects', ['p1'])
    relations = [{'dst_id': donors_id, 'dst_name': 'donors'},
                 {'dst_id': projects_id, 'dst_name': 'projects'}]
    for entity in entities[3:]:
        assert entity['relations'] == relations
    d3 = entities[4]['object'][1]
    assert d3['uuid'] == 'u3' and d3['drs_uri'] is None and 'source_drs_uri' not in d3
    assert 'related_files' not in entities[3]['object'][1]


def test_write_streams():
    written = []

    def entities():
        for e in hca_pfb_entities(iter([_document('d1'), _document('d2')])):
            written.append(e['id'])
            yield e

    output = io.BytesIO()
    avro_pfb.write_entities(output, hca_pfb_schema(), entities())
    output.seek(0)
    records = list(fastavro.reader(output))
    assert [r['id'] for r in records] == written
    assert records[1]['object']['donor_count'] == 2
    assert records[1]['object']['organism_age'] == [None]


def test_ranges_as_pairs():
    # Our documents keep the index's `{gte, lte}`; the original's PFB has pairs
    types = {'organism_age_range': Ranges()}
    document = {'organism_age_range': [{'gte': 1198368000.0, 'lte': 1198368000.0}]}
    assert avro_pfb.conform(types, document) == {
        'organism_age_range': [[1198368000.0, 1198368000.0]]}
