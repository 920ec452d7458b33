"""The filter AST, its parser and reference semantics; the field projection."""
import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openapi_schema_validator import OAS30Validator

from azul.core.fields import Field, FieldRegistry, FieldType, ObjectShape
from azul.core.filters import (
    Contains,
    Is,
    Within,
    filter_matches,
    filters_schema,
    parse_filters,
)
from azul.errors import InvalidFilterError

registry = FieldRegistry((
    Field('organ', FieldType.keyword, 'contents.samples.organ', facet=True),
    Field('cellCount', FieldType.long, 'contents.cell_suspensions.total_estimated_cells'),
    Field('pairedEnd', FieldType.boolean, 'contents.protocols.paired_end', facet=True),
    Field('organismAge', FieldType.object, 'contents.donors.organism_age'),
    Field('organismAgeRange', FieldType.range, 'contents.donors.organism_age_range'),
    Field('lastModifiedDate', FieldType.date, 'contents.dates.last_modified_date'),
    # As the original's HCA fields: the source id and `accessible` refuse
    # null, accessions match partially (`nested`), organism ages are
    # {value, unit} objects
    Field('sourceId', FieldType.keyword, 'sources', nullable=False),
    Field('accessible', FieldType.boolean, 'sources', nullable=False, sortable=False),
    Field('accessions', FieldType.object, 'contents.projects.accessions', sortable=False,
          shape=ObjectShape(('namespace', 'accession'), nullable=('namespace', 'accession'),
                            partial=True)),
    Field('age', FieldType.object, 'contents.donors.organism_age',
          shape=ObjectShape(('value', 'unit'), required=('value', 'unit'))),
    # A name that is not an identifier, for the JSON paths of messages
    Field("odd-name's\\", FieldType.long, 'contents.odd'),
))


def test_parse_every_relation():
    filters = parse_filters({
        'organ': {'is': ['brain', None]},
        'cellCount': {'within': [[1, 10]]},
        'pairedEnd': {'is': [True, 'false']},
        'organismAge': {'is': [{'value': '20', 'unit': 'year'}]},
        'organismAgeRange': {'contains': [5, [1, 2]]},
    }, registry)
    organ, cells, paired, age, age_range = filters.terms
    assert organ == Is(registry['organ'], ('brain', None))
    assert cells == Within(registry['cellCount'], ((1.0, 10.0),))
    assert paired.values == (True, False)
    assert age.values == ('{"unit":"year","value":"20"}',)
    assert age_range == Contains(registry['organismAgeRange'], ((5.0, 5.0), (1.0, 2.0)))


def test_filters_round_trip_through_json():
    text = ('{"organ": {"is": ["brain", null]}, "pairedEnd": {"is": [true]}, '
            '"organismAgeRange": {"intersects": [[0, 100]]}}')
    filters = parse_filters(text, registry)
    assert parse_filters(filters.to_json(), registry) == filters


SCHEMA = 'The value of the `filters` parameter is invalid against the schema: '


# The messages the original gives (its `jsonschema` validation of `filters`):
# those marked * are literally in the original's test_request_validation.py,
# the others follow from the same schema and jsonschema's wording, by hand.
INVALID = [
    ('{', "The 'filters' parameter is not valid JSON"),
    ('""', SCHEMA + "'' is not of type 'object' at path $"),  # *
    ('[]', SCHEMA + "[] is not of type 'object' at path $"),
    ({'colour': {'is': ['red']}},
     SCHEMA + "Additional properties are not allowed ('colour' was unexpected) at path $"),
    ({'bad-field': {'is': ['x']}, 'organ': {'is': ['x']}, 'bad-field2': {'is': ['y']}},
     SCHEMA + "Additional properties are not allowed ('bad-field', 'bad-field2' were "
              "unexpected) at path $"),  # *
    ({'organ': ['brain']}, SCHEMA + "['brain'] is not of type 'object' at path $.organ"),  # *
    ({'organ': {'is': 'brain'}}, SCHEMA + "'brain' is not of type 'array' at path $.organ.is"),
    ({'organ': {'was': 'x'}}, SCHEMA + "'is' is a required property at path $.organ"),  # *
    ({'organ': {'within': [[1, 2]]}}, SCHEMA + "'is' is a required property at path $.organ"),
    ({'organ': {'is': ['a'], 'within': []}},
     SCHEMA + "Additional properties are not allowed ('within' was unexpected) at path $.organ"),
    ({'organ': {'is': [['x']]}},
     SCHEMA + "['x'] is not of type 'null', 'string' at path $.organ.is[0]"),  # *
    ({'organ': {'is': []}}, SCHEMA + '[] should be non-empty at path $.organ.is'),
    ({'organ': {'is': 'x'}, 'zzz': {}}, SCHEMA + "'x' is not of type 'array' at path $.organ.is"),
    ({'cellCount': {'is': [1.5]}},
     SCHEMA + "{'is': [1.5]} is not valid under any of the given schemas at path $.cellCount"),
    ({'cellCount': {'within': [[5, 1]]}}, 'the lower bound exceeds the upper bound'),
    ({'pairedEnd': {'is': ['yes']}},
     SCHEMA + "'yes' is not of type 'null', 'boolean' at path $.pairedEnd.is[0]"),
    ({'sourceId': {'is': [None]}},
     SCHEMA + "None is not of type 'string' at path $.sourceId.is[0]"),  # *
    ({'accessible': {'is': [None]}},
     SCHEMA + "None is not of type 'boolean' at path $.accessible.is[0]"),  # *
    ({'accessions': {'is': []}}, SCHEMA + '[] should be non-empty at path $.accessions.is'),  # *
    ({'accessions': {'within': ['foo']}},
     SCHEMA + "'is' is a required property at path $.accessions"),  # *
    ({'accessions': {'is': ['foo']}},
     SCHEMA + "'foo' is not of type 'object' at path $.accessions.is[0]"),  # *
    ({'accessions': {'is': [None]}},
     SCHEMA + "None is not of type 'object' at path $.accessions.is[0]"),
    ({'accessions': {'is': [{'foo': 'geostudies'}]}},
     SCHEMA + "Additional properties are not allowed ('foo' was unexpected) "
              "at path $.accessions.is[0]"),  # *
    ({'accessions': {'is': [{'namespace': 'baz', 'foo': 'bar'}]}},
     SCHEMA + "Additional properties are not allowed ('foo' was unexpected) "
              "at path $.accessions.is[0]"),  # *
    ({'accessions': {'is': [{'namespace': 'x', 'accession': 'y'}] * 2}},
     SCHEMA + "[{'namespace': 'x', 'accession': 'y'}, {'namespace': 'x', 'accession': 'y'}] "
              "is too long at path $.accessions.is"),  # *
    ({'accessions': {'is': [{'namespace': 1}]}},
     SCHEMA + "1 is not of type 'null', 'string' at path $.accessions.is[0].namespace"),
    ({'age': {'is': []}}, SCHEMA + '[] should be non-empty at path $.age.is'),  # *
    ({'age': {'is': ['']}},
     SCHEMA + "'' is not valid under any of the given schemas at path $.age.is[0]"),  # *
    ({'age': {'contains': [{'value': '1', 'unit': 'year'}]}},
     SCHEMA + "'is' is a required property at path $.age"),  # *
    ({'age': {'is': [{}]}},
     SCHEMA + '{} is not valid under any of the given schemas at path $.age.is[0]'),  # *
    ({'age': {'is': [{'value': '1'}]}},
     SCHEMA + "{'value': '1'} is not valid under any of the given schemas "
              "at path $.age.is[0]"),  # *
    ({'age': {'is': [{'value': '1', 'unit': 'year', 'foo': 'year'}]}},
     SCHEMA + "{'value': '1', 'unit': 'year', 'foo': 'year'} is not valid under any of the "
              "given schemas at path $.age.is[0]"),  # *
    ({'age': {'is': [{'value': '1', 'unit': 'year'}, {}]}},
     SCHEMA + '{} is not valid under any of the given schemas at path $.age.is[1]'),  # *
    ({'organismAgeRange': {'intersects': [7]}},
     SCHEMA + "{'intersects': [7]} is not valid under any of the given schemas "
              "at path $.organismAgeRange"),
    ('{"organismAgeRange": {"contains": [1e400]}}',
     SCHEMA + "{'contains': [inf]} is not valid under any of the given schemas "
              "at path $.organismAgeRange"),
    ({'cellCount': {'within': [[0, float('inf')]]}},
     SCHEMA + "{'within': [[0, inf]]} is not valid under any of the given schemas "
              "at path $.cellCount"),
    ({'lastModifiedDate': {'within': [[1, 2]]}},
     SCHEMA + "{'within': [[1, 2]]} is not valid under any of the given schemas "
              "at path $.lastModifiedDate"),
    ({'lastModifiedDate': {'within': [['2020', '2021-01-01T00:00:00.000000Z']]}},
     "'2020' is not a date of the form 2021-01-31T23:59:59.000000Z "
     "at path $.lastModifiedDate.within[0][0]"),
]


@pytest.mark.parametrize('filters, message', INVALID)
def test_invalid_filters_answer_as_the_original(filters, message):
    with pytest.raises(InvalidFilterError) as e:
        parse_filters(filters, registry)
    if message.startswith(SCHEMA) or message.startswith('The '):
        assert str(e.value) == message
    else:
        assert message in str(e.value)


# Each is accepted by the original's schema
VALID = [
    {'accessions': {'is': [{'namespace': 'geo'}]}},
    {'accessions': {'is': [{'accession': 'GSE1'}]}},
    {'accessions': {'is': [{}]}},
    {'age': {'is': [None, {'value': '20', 'unit': 'year'}]}},
    {'sourceId': {'is': ['s1']}},
    {'accessible': {'is': [True]}},
    {'cellCount': {'is': [1, None]}},
    {'lastModifiedDate': {'within': [['2020-01-01T00:00:00.000000Z',
                                      '2021-01-01T00:00:00.000000Z']]}},
]


def test_valid_filters_of_the_original():
    for filters in VALID:
        assert parse_filters(filters, registry).fields() == tuple(filters)
    # 1.0 is an integer to JSON schema (but not to OpenAPI 3.0's draft 4)
    assert parse_filters({'cellCount': {'is': [1.0]}}, registry).terms[0].values == (1,)


def test_schema_accepts_what_the_parser_accepts():
    validator = OAS30Validator(filters_schema(list(registry)))
    cases = [(f, m) for f, m in INVALID if not isinstance(f, str)] + [(f, None) for f in VALID]
    for filters, message in cases:
        try:
            parse_filters(filters, registry)
        except InvalidFilterError:
            accepted = False
        else:
            accepted = True
        # The one check JSON schema cannot express
        semantic = message is not None and 'lower bound' in message
        assert validator.is_valid(filters) == (accepted or semantic), filters


def test_without_drops_only_the_facets_own_term():
    filters = parse_filters({'organ': {'is': ['brain']}, 'pairedEnd': {'is': [True]}}, registry)
    assert filters.without('organ').fields() == ('pairedEnd',)
    assert filters.without('cellCount') == filters


def test_extract_flattens_and_keeps_nulls():
    document = {'contents': {
        'samples': [{'organ': ['brain', None]}, {'organ': ['heart', 'brain']}],
        'cell_suspensions': [{'total_estimated_cells': 10}],
        'donors': [{'organism_age': [{'value': '20', 'unit': 'year'}],
                    'organism_age_range': [{'gte': 1, 'lte': 2}]}],
    }}
    fields = registry.extract(document)
    assert fields['organ'] == ('brain', None, 'heart')
    assert fields['cellCount'] == (10,)
    assert fields['pairedEnd'] == (None,)
    assert fields['organismAge'] == ('{"unit":"year","value":"20"}',)
    assert fields['organismAgeRange'] == ((1.0, 2.0),)


@pytest.mark.parametrize('filters, expected', [
    ({'organ': {'is': ['heart']}}, True),
    ({'organ': {'is': [None]}}, True),
    ({'organ': {'is': ['liver']}}, False),
    ({'cellCount': {'within': [[0, 10]]}}, True),
    ({'cellCount': {'within': [[11, 20]]}}, False),
    ({'pairedEnd': {'is': [None]}}, True),
    ({'organismAgeRange': {'within': [[0, 5]]}}, True),
    ({'organismAgeRange': {'within': [[1.5, 5]]}}, False),
    ({'organismAgeRange': {'contains': [[1.2, 1.8]]}}, True),
    ({'organismAgeRange': {'contains': [[0, 1.8]]}}, False),
    ({'organismAgeRange': {'intersects': [[2, 3]]}}, True),
    ({'organismAgeRange': {'intersects': [[2.1, 3]]}}, False),
    ({'organ': {'is': ['heart']}, 'cellCount': {'within': [[11, 20]]}}, False),
    # The ranges of one relation are ANDed, as in the original
    ({'cellCount': {'within': [[0, 10], [10, 20]]}}, True),
    ({'cellCount': {'within': [[0, 5], [10, 20]]}}, False),
    ({'organismAgeRange': {'intersects': [[0, 1], [2, 3]]}}, True),
    ({'organismAgeRange': {'intersects': [[0, 1], [3, 4]]}}, False),
    # Dates compare as strings of the original's form
    ({'lastModifiedDate': {'within': [['2020-01-01T00:00:00.000000Z',
                                       '2020-12-31T23:59:59.999999Z']]}}, True),
    ({'lastModifiedDate': {'within': [['2020-05-02T00:00:00.000000Z',
                                       '2020-12-31T23:59:59.999999Z']]}}, False),
    # Partial object matches: the accession {"namespace": "geo", "accession": "GSE1"}
    ({'accessions': {'is': [{'namespace': 'geo'}]}}, True),
    ({'accessions': {'is': [{'accession': 'GSE1'}]}}, True),
    ({'accessions': {'is': [{'namespace': 'geo', 'accession': 'GSE1'}]}}, True),
    ({'accessions': {'is': [{}]}}, True),
    ({'accessions': {'is': [{'namespace': 'geo', 'accession': 'PRJ9'}]}}, False),
    ({'accessions': {'is': [{'namespace': 'insdc'}]}}, False),
])
def test_reference_semantics(filters, expected):
    document = {'contents': {
        'samples': [{'organ': ['brain', None, 'heart']}],
        'cell_suspensions': [{'total_estimated_cells': 10}],
        'donors': [{'organism_age_range': [{'gte': 1, 'lte': 2}]}],
        'dates': [{'last_modified_date': '2020-05-01T12:00:00.000000Z'}],
        'projects': [{'accessions': [{'namespace': 'geo', 'accession': 'GSE1'},
                                     {'namespace': 'ega', 'accession': 'PRJ9'}]}],
    }}
    fields = registry.extract(document)
    assert filter_matches(parse_filters(filters, registry), fields) is expected


def test_extract_default_value():
    # The original's cell counts are sums, 0 rather than null without any count
    reg = FieldRegistry((Field('cellCount', FieldType.long, 'c.n', default=0),))
    assert reg.extract({'c': []})['cellCount'] == (0,)
    assert reg.extract({'c': [{'n': None}]})['cellCount'] == (0,)
    assert reg.extract({'c': [{'n': 5}, {'n': None}]})['cellCount'] == (5, None)


def test_extract_partial_object_subsets():
    fields = registry.extract({'contents': {'projects': [{'accessions': [
        {'namespace': 'geo', 'accession': 'GSE1'}]}]}})
    assert fields['accessions'] == ('{}', '{"namespace":"geo"}', '{"accession":"GSE1"}',
                                    '{"accession":"GSE1","namespace":"geo"}')
    assert registry.extract({'contents': {}})['accessions'] == (None,)


def test_new_filters_round_trip_through_json():
    # Pagination links repeat the filters in their API form
    filters = parse_filters({
        'lastModifiedDate': {'within': [['2020-01-01T00:00:00.000000Z',
                                         '2021-01-01T00:00:00.000000Z']]},
        'accessions': {'is': [{'namespace': 'geo'}]},
        'age': {'is': [{'value': '20', 'unit': 'year'}, None]},
        'cellCount': {'within': [[1, 5], [5, 10]]},
    }, registry)
    assert filters.to_json() == {
        'lastModifiedDate': {'within': [['2020-01-01T00:00:00.000000Z',
                                         '2021-01-01T00:00:00.000000Z']]},
        'accessions': {'is': [{'namespace': 'geo'}]},
        'age': {'is': [{'unit': 'year', 'value': '20'}, None]},
        'cellCount': {'within': [[1, 5], [5, 10]]},
    }
    assert parse_filters(filters.to_json(), registry) == filters


# The original validates `filters` with `jsonschema` against its schema and
# reports the first error (`Validator.validate`) as `{message} at path
# {json_path}`. Its schema is ours (`filters_schema`) in plain JSON schema
# form, `nullable` spelled as the original's `schema.nullable(...,
# for_openapi=False)` spells it. So `jsonschema` itself tells the original's
# message for any input, and the parser must give the same.

def _original_form(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_original_form(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {k: _original_form(v) for k, v in schema.items() if k != 'pattern'}
    if 'properties' in schema:
        schema['properties'] = {k: _original_form(v) for k, v in schema['properties'].items()}
    if schema.pop('nullable', False):
        if len(schema) == 1 and isinstance(schema.get('type'), str):
            return {'type': ['null', schema['type']]}
        return {'anyOf': [{'type': 'null'}, schema]}
    return schema


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3),
                     st.sampled_from([0.5, 1.0, -2.5, 1e10]),
                     st.sampled_from(['', 'x', 'brain', '2020-01-01T00:00:00.000000Z']))
_objects = st.dictionaries(st.sampled_from(['value', 'unit', 'namespace', 'accession', 'foo']),
                           _scalars, max_size=3)
_items = st.one_of(_scalars, st.lists(_scalars, max_size=3), _objects)
_values = st.one_of(st.lists(_items, max_size=3), _items)
_bodies = st.one_of(st.dictionaries(st.sampled_from(['is', 'within', 'contains',
                                                     'intersects', 'was']),
                                    _values, max_size=2), _items)
_filters = st.one_of(st.dictionaries(st.sampled_from([*(f.name for f in registry), 'bad']),
                                     _bodies, max_size=3), _items)


@settings(max_examples=3000, deadline=None)
@given(filters=_filters)
def test_errors_are_those_of_jsonschema(filters):
    validator = jsonschema.Draft202012Validator(_original_form(filters_schema(list(registry))))
    try:
        validator.validate(filters)
    except jsonschema.ValidationError as e:
        expected = SCHEMA + f'{e.message} at path {e.json_path}'
    else:
        expected = None
    try:
        # As the service passes it: the parameter's text
        parse_filters(json.dumps(filters), registry)
    except InvalidFilterError as e:
        actual = str(e)
    else:
        actual = None
    if expected is None and actual is not None:
        # Valid to the schema, refused for what it cannot say: an empty or
        # reversed range, a date not of the original's form, a number too big
        assert not actual.startswith(SCHEMA), actual
    else:
        assert actual == expected
