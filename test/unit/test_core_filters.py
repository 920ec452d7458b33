"""The filter AST, its parser and reference semantics; the field projection."""
import pytest

from azul.core.fields import Field, FieldRegistry, FieldType
from azul.core.filters import Contains, Is, Within, filter_matches, parse_filters
from azul.errors import InvalidFilterError

registry = FieldRegistry((
    Field('organ', FieldType.keyword, 'contents.samples.organ', facet=True),
    Field('cellCount', FieldType.long, 'contents.cell_suspensions.total_estimated_cells'),
    Field('pairedEnd', FieldType.boolean, 'contents.protocols.paired_end', facet=True),
    Field('organismAge', FieldType.object, 'contents.donors.organism_age'),
    Field('organismAgeRange', FieldType.range, 'contents.donors.organism_age_range'),
    Field('lastModifiedDate', FieldType.date, 'contents.dates.last_modified_date'),
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


@pytest.mark.parametrize('filters, message', [
    ('{', 'The `filters` parameter is not valid JSON'),
    ('[]', 'must be a JSON object'),
    ({'colour': {'is': ['red']}}, "Unknown field 'colour'"),
    ({'organ': {'is': ['a'], 'within': []}}, "Filter for 'organ' must be an object with exactly"),
    ({'organ': ['brain']}, "Filter for 'organ' must be an object"),
    ({'organ': {'equals': ['x']}}, "Unknown relation 'equals' for field 'organ'"),
    ({'organ': {'within': [[1, 2]]}}, "Relation 'within' is not allowed for field 'organ'"),
    ({'organ': {'is': 'brain'}}, "The values of 'organ' 'is' must be a JSON array"),
    ({'organ': {'is': [{'a': 1}]}}, "Invalid value for field 'organ': expected a string"),
    ({'cellCount': {'is': [1.5]}}, "Invalid value for field 'cellCount': expected an integer"),
    ({'cellCount': {'within': [[5, 1]]}}, 'the lower bound exceeds the upper bound'),
    ({'cellCount': {'within': [[1, 'x']]}}, 'expected a range [lo, hi] of two finite numbers'),
    ({'pairedEnd': {'is': ['yes']}}, "Invalid value for field 'pairedEnd': expected a boolean"),
    ({'organismAge': {'is': ['20 years']}}, 'expected an object'),
    ({'organismAgeRange': {'intersects': [7]}}, 'expected a range [lo, hi]'),
])
def test_invalid_filters_name_the_problem(filters, message):
    with pytest.raises(InvalidFilterError) as e:
        parse_filters(filters, registry)
    assert message in str(e.value)


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
])
def test_reference_semantics(filters, expected):
    fields = {'organ': ('brain', None, 'heart'), 'cellCount': (10,), 'pairedEnd': (None,),
              'organismAge': (None,), 'organismAgeRange': ((1.0, 2.0),),
              'lastModifiedDate': (None,)}
    assert filter_matches(parse_filters(filters, registry), fields) is expected
