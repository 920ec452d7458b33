"""
The field-type classes on their own: what each accepts and refuses, and how
each describes itself to the OpenAPI document and to both backends. The
literals here are the client-visible and stored forms, so that a change to
them is a deliberate one.
"""
import pickle

import pytest

from azul.core.field_types import SchemaViolation
from azul.core.fields import Field, FieldRegistry, FieldType, ObjectShape
from azul.core.filters import decode_filters, field_filter_schema
from azul.errors import InvalidFilterError

K, L, D, B, T, J, R = (FieldType.keyword, FieldType.long, FieldType.double, FieldType.boolean,
                       FieldType.date, FieldType.object, FieldType.range)


def test_members():
    assert list(FieldType) == [K, L, D, B, T, J, R]
    assert [t.value for t in FieldType] == ['keyword', 'long', 'double', 'boolean', 'date',
                                            'object', 'range']
    for kind in FieldType:
        assert FieldType(kind.value) is kind
        assert pickle.loads(pickle.dumps(kind)) is kind
    with pytest.raises(ValueError, match="'text' is not a valid FieldType"):
        FieldType('text')


@pytest.mark.parametrize('kind, relations', [
    (K, {'is'}),
    (L, {'is', 'within'}),
    (D, {'is', 'within'}),
    (B, {'is'}),
    (T, {'is', 'within'}),
    (J, {'is'}),
    (R, {'is', 'within', 'contains', 'intersects'}),
])
def test_relations(kind, relations):
    assert kind.relations == relations


@pytest.mark.parametrize('kind, value, expected', [
    (K, 'a', 'a'),
    (K, 1, '1'),
    (K, 1.5, '1.5'),
    (L, 3, 3),
    (L, 3.0, 3),
    (L, 2 ** 63 - 1, 2 ** 63 - 1),
    (D, 1, 1.0),
    (D, -0.5, -0.5),
    (B, False, False),
    (T, '2021-01-31T23:59:59.000000Z', '2021-01-31T23:59:59.000000Z'),
    (J, {'value': '1', 'unit': 'year'}, '{"unit":"year","value":"1"}'),
    (R, [1, 2], (1.0, 2.0)),
    (R, {'gte': 0, 'lte': 5.5}, (0.0, 5.5)),
])
def test_normalize(kind, value, expected):
    actual = kind.normalize(value)
    assert actual == expected and type(actual) is type(expected)


@pytest.mark.parametrize('kind, value, message', [
    (K, True, 'expected a string, got True'),
    (K, ['a'], "expected a string, got ['a']"),
    (K, '\ud800', "'\\ud800' is not valid Unicode"),
    (L, 1.5, 'expected an integer, got 1.5'),
    (L, True, 'expected an integer, got True'),
    (L, float('inf'), 'expected an integer, got inf'),
    (L, 2 ** 63, '9223372036854775808 is outside the range of a 64-bit integer'),
    (D, '1', "expected a finite number, got '1'"),
    (D, float('nan'), 'expected a finite number, got nan'),
    (B, 'true', "expected a boolean, got 'true'"),
    (B, 1, 'expected a boolean, got 1'),
    (J, 'x', "expected an object, got 'x'"),
    (R, [1], 'expected a range [lo, hi], got [1]'),
    (R, [1, 'x'], "expected finite numeric range bounds, got [1, 'x']"),
    (R, [2, 1], 'lower bound exceeds upper bound in [2, 1]'),
])
def test_normalize_refused(kind, value, message):
    with pytest.raises(ValueError) as e:
        kind.normalize(value)
    assert str(e.value) == message


@pytest.mark.parametrize('kind, value, term', [
    (K, 'a', 'a'),
    (L, 3, 3),
    (B, True, 'true'),
    (B, False, 'false'),
    (J, '{"a":"b"}', {'a': 'b'}),
    (R, (1.0, 2.0), [1.0, 2.0]),
])
def test_term(kind, value, term):
    assert kind.term(value) == term


registry = FieldRegistry((
    Field('k', K, 'k'),
    Field('n', L, 'n'),
    Field('d', D, 'd'),
    Field('b', B, 'b'),
    Field('t', T, 't'),
    Field('o', J, 'o'),
    Field('r', R, 'r'),
    Field('kk', K, 'kk', nullable=False),
    Field('nn', L, 'nn', nullable=False),
    Field('age', J, 'age', shape=ObjectShape(('value', 'unit'), required=('value', 'unit'))),
))


@pytest.mark.parametrize('filters, expected', [
    ({'k': {'is': ['a', None]}}, ('a', None)),
    ({'n': {'is': [2, 3.0]}}, (2, 3)),
    ({'d': {'is': [2]}}, (2.0,)),
    ({'b': {'is': [True, 'false']}}, (True, False)),
    ({'o': {'is': [{'b': 1, 'a': 2}]}}, ('{"a":2,"b":1}',)),
    ({'r': {'is': [[1, 2]]}}, ((1.0, 2.0),)),
    ({'t': {'within': [['2021-01-01T00:00:00.000000Z', '2022-01-01T00:00:00.000000Z']]}},
     (('2021-01-01T00:00:00.000000Z', '2022-01-01T00:00:00.000000Z'),)),
    ({'n': {'within': [[1, 2]]}}, ((1.0, 2.0),)),
    ({'r': {'contains': [5]}}, ((5.0, 5.0),)),
    ({'r': {'intersects': [[1, 5]]}}, ((1.0, 5.0),)),
])
def test_filter_values(filters, expected):
    [term] = decode_filters(filters, registry).terms
    actual = getattr(term, 'values', None) or term.ranges
    assert actual == expected


_schema = 'The value of the `filters` parameter is invalid against the schema: '


@pytest.mark.parametrize('filters, message', [
    ({'k': {'is': [1]}}, _schema + "1 is not of type 'null', 'string' at path $.k.is[0]"),
    ({'kk': {'is': [None]}}, _schema + "None is not of type 'string' at path $.kk.is[0]"),
    # The relations of a field with several are a `oneOf` of the original's schema
    ({'n': {'is': [1.5]}},
     _schema + "{'is': [1.5]} is not valid under any of the given schemas at path $.n"),
    ({'n': {'is': [2 ** 63]}},
     "Invalid value for field 'n': 9223372036854775808 is outside the range of a 64-bit "
     "integer"),
    ({'b': {'is': ['yes']}}, _schema + "'yes' is not of type 'null', 'boolean' at path $.b.is[0]"),
    ({'o': {'is': ['x']}}, _schema + "'x' is not of type 'null', 'object' at path $.o.is[0]"),
    ({'age': {'is': [{'value': '1'}]}},
     _schema + "{'value': '1'} is not valid under any of the given schemas at path $.age.is[0]"),
    ({'r': {'within': [[2, 1]]}},
     "Invalid range [2, 1] for field 'r': the lower bound exceeds the upper bound"),
    ({'t': {'within': [['2021', '2022']]}},
     "The value of the `filters` parameter is invalid: '2021' is not a date of the form "
     "2021-01-31T23:59:59.000000Z at path $.t.within[0][0]"),
    ({'t': {'within': [[1, 2]]}},
     _schema + "{'within': [[1, 2]]} is not valid under any of the given schemas at path $.t"),
])
def test_filter_values_refused(filters, message):
    with pytest.raises(InvalidFilterError) as e:
        decode_filters(filters, registry)
    assert str(e.value) == message


@pytest.mark.parametrize('kind, value, expected', [
    (K, 'a', 'a'),
    (T, '2021', '2021'),
    (J, '{}', '{}'),
    (L, 3.0, 3),
    (D, 3, 3.0),
    (R, 3, 3.0),
    (B, True, True),
])
def test_sort_value(kind, value, expected):
    actual = kind.parse_sort_value(value)
    assert actual == expected and type(actual) is type(expected)


@pytest.mark.parametrize('kind, value', [
    (K, 1), (K, '\ud800'), (L, 1.5), (L, 2 ** 63), (L, True), (D, 'x'), (D, float('inf')),
    (R, [1, 2]), (B, 'true'), (B, 1),
])
def test_sort_value_refused(kind, value):
    with pytest.raises(ValueError):
        kind.parse_sort_value(value)


@pytest.mark.parametrize('name, relation, value, message', [
    ('n', 'is', 1.5, '1.5 is not valid under any of the given schemas'),
    ('nn', 'is', 1.5, "1.5 is not of type 'integer'"),
    ('d', 'is', 'x', "'x' is not valid under any of the given schemas"),
    ('r', 'is', [1], '[1] is too short'),
    ('r', 'is', [1, 'x'], "'x' is not of type 'number'"),
    ('r', 'contains', 'x', "'x' is not valid under any of the given schemas"),
    ('r', 'within', [1, 2, 3], '[1, 2, 3] is too long'),
    ('t', 'within', [1, 2], "1 is not of type 'string'"),
    ('n', 'within', [1.5, 2], "1.5 is not of type 'integer'"),
])
def test_check_value(name, relation, value, message):
    field = registry[name]
    with pytest.raises(SchemaViolation) as e:
        if relation == 'is':
            field.type.check_is(field, value, '$')
        else:
            field.type.check_bounds(relation, value, '$')
    assert e.value.message == message


def _is(items, **extra):
    return {'type': 'object',
            'properties': {'is': {'type': 'array', 'items': items, 'minItems': 1, **extra}},
            'required': ['is'], 'additionalProperties': False}


def _within(items, relation='within'):
    return {'type': 'object',
            'properties': {relation: {'type': 'array', 'items': items, 'minItems': 1}},
            'required': [relation], 'additionalProperties': False}


def _pair(bound):
    return {'type': 'array', 'items': bound, 'minItems': 2, 'maxItems': 2}


_int = {'type': 'integer', 'format': 'int64'}
_num = {'type': 'number', 'format': 'double'}
_date = {'type': 'string',
         'pattern': r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$'}


@pytest.mark.parametrize('name, schema', [
    ('k', _is({'type': 'string', 'nullable': True})),
    ('kk', _is({'type': 'string'})),
    ('b', _is({'type': 'boolean', 'nullable': True})),
    ('o', _is({'type': 'object', 'nullable': True})),
    ('n', {'oneOf': [_is({**_int, 'nullable': True}), _within(_pair(_int))]}),
    ('d', {'oneOf': [_is({**_num, 'nullable': True}), _within(_pair(_num))]}),
    ('t', {'oneOf': [_is({'type': 'string', 'nullable': True}), _within(_pair(_date))]}),
    ('r', {'oneOf': [_is(_pair(_num)), _within(_pair(_num)),
                     _within({'anyOf': [_num, _pair(_num)]}, 'contains'),
                     _within(_pair(_num), 'intersects')]}),
    ('age', _is({'type': 'object',
                 'properties': {'value': {'type': 'string'}, 'unit': {'type': 'string'}},
                 'additionalProperties': False, 'required': ['value', 'unit'],
                 'nullable': True})),
])
def test_json_schema(name, schema):
    assert field_filter_schema(registry[name]) == schema


@pytest.mark.parametrize('kind, column, sort_column, json', [
    (K, 'VARCHAR', 'VARCHAR', 'v'),
    (L, 'BIGINT', 'BIGINT', 'v'),
    (D, 'DOUBLE', 'DOUBLE', 'v'),
    (B, 'BOOLEAN', 'BOOLEAN', 'v'),
    (T, 'VARCHAR', 'VARCHAR', 'v'),
    (J, 'VARCHAR', 'VARCHAR', 'v'),
    (R, 'STRUCT(lo DOUBLE, hi DOUBLE)', 'DOUBLE', '[v.lo, v.hi]'),
])
def test_duckdb(kind, column, sort_column, json):
    assert (kind.duckdb_type, kind.duckdb_sort_type, kind.duckdb_json) == (column, sort_column,
                                                                            json)


def test_duckdb_values():
    assert R.to_duckdb((1.0, 2.0)) == {'lo': 1.0, 'hi': 2.0}
    assert R.from_duckdb({'lo': 1, 'hi': 2}) == (1.0, 2.0)
    assert R.from_json([1, 2]) == (1.0, 2.0)
    assert R.duckdb_is((1.0, 2.0)) == ('struct_pack(lo := ?::DOUBLE, hi := ?::DOUBLE)',
                                       (1.0, 2.0))
    assert L.duckdb_is(3) == ('?::BIGINT', (3,))
    assert L.duckdb_range_test('within') == ('(x >= ? AND x <= ?)', (0, 1), float)
    assert T.duckdb_range_test('within') == ('(x >= ? AND x <= ?)', (0, 1), str)
    assert R.duckdb_range_test('intersects') == ('(x.lo <= ? AND ? <= x.hi)', (1, 0), float)
    assert K.duckdb_range_test('within') is None
    assert L.duckdb_range_test('contains') is None


@pytest.mark.parametrize('kind, mapping, terms, sort', [
    (K, {'type': 'keyword'}, 'fields', 'fields'),
    (L, {'type': 'long'}, 'fields', 'fields'),
    (D, {'type': 'double'}, 'fields', 'fields'),
    (B, {'type': 'boolean'}, 'fields', 'fields'),
    (T, {'type': 'keyword'}, 'fields', 'fields'),
    (J, {'type': 'keyword'}, 'fields', 'fields'),
    (R, {'type': 'double_range'}, 'range_key', 'range_lower'),
])
def test_opensearch(kind, mapping, terms, sort):
    assert kind.opensearch_mapping() == mapping
    assert (kind.opensearch_terms, kind.opensearch_sort) == (terms, sort)
    companions = {'range_lower': {'type': 'double'}, 'range_key': {'type': 'keyword'}}
    assert kind.opensearch_companions == (companions if kind is R else {})


@pytest.mark.parametrize('kind, value, encoded', [
    (K, 'a"b', '"a\\"b"'),
    (L, 3, '3'),
    (D, 1, '1.0'),
    (D, -0.0, '0.0'),
    (B, True, 'true'),
    (R, (-0.0, 2), '[0.0, 2.0]'),
])
def test_opensearch_facet_terms(kind, value, encoded):
    assert kind.encode_facet_term(value) == encoded


def test_opensearch_values():
    assert L.opensearch_bounds(1.5, 1e300) == (2, 2 ** 63 - 1)
    assert L.opensearch_bounds(2.0 ** 63, 1e300) is None
    assert D.opensearch_bounds(1.5, 2.5) == (1.5, 2.5)
    assert B.opensearch_after(True) == 1
    assert B.from_opensearch(0) is False
    assert R.from_opensearch('[1, 2]') == (1.0, 2.0)
    assert R.from_opensearch_source({'gte': 1, 'lte': 2}) == (1.0, 2.0)
    assert R.opensearch_relations == {'within': 'within', 'contains': 'contains',
                                      'intersects': 'intersects'}
    assert L.opensearch_relations == {'within': None}
