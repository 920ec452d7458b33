"""
Limits on one request (azul.core.limits): the filter parser, JSON parameters
and bodies, the settings, and OpenSearch bounds beyond a long. Expectations
are literal.
"""
import json
from pathlib import Path

import pytest

from azul import envfiles
from azul.backends.opensearch.queries import MATCH_NONE, term_query
from azul.config import Config
from azul.core.fields import Field, FieldRegistry, FieldType
from azul.core.filters import Within, decode_filters, parse_filters
from azul.core.limits import Limits, json_depth
from azul.errors import BadRequestError, InvalidFilterError
from azul.service.request import Request, json_body, json_param, parameters

ROOT = Path(__file__).resolve().parents[2]

registry = FieldRegistry((
    Field('organ', FieldType.keyword, 'contents.samples.organ', facet=True),
    Field('donorDisease', FieldType.keyword, 'contents.donors.diseases', facet=True),
    Field('fileSize', FieldType.long, 'contents.files.size'),
    Field('cellCount', FieldType.double, 'contents.cells.count'),
    Field('organismAgeRange', FieldType.range, 'contents.donors.organism_age_range'),
))

SMALL = Limits(filter_terms=3, filter_ranges=2, filter_values=4, json_depth=8, body_size=200)


@pytest.mark.parametrize('text, depth', [
    ('1', 0), ('"[{"', 0), ('[]', 1), ('{}', 1), ('[1, [2, {"a": [3]}]]', 4),
    # Brackets in strings, escaped quotes included, do not count
    (r'["a\"[[", {"b": "]]\\"}]', 2),
    # Neither do they in an unterminated string
    ('["[[[', 1),
    ('[' * 100_000 + ']' * 100_000, 100_000),
])
def test_json_depth(text, depth):
    assert json_depth(text) == depth
    assert json_depth(text.encode()) == depth


def test_json_depth_is_linear():
    # A failed match at every escaped quote would make this quadratic (minutes)
    assert json_depth('"' + '\\"' * 1_000_000) == 0


@pytest.mark.parametrize('filters, message', [
    ({'organ': {'is': ['a', 'b', 'c', 'd']}},
     'Too many values in the `is` filter of field `organ`: 4, more than the limit of 3 '
     '(setting AZUL_MAX_FILTER_TERMS)'),
    ({'fileSize': {'within': [[0, 1], [0, 2]]}, 'organismAgeRange': {'contains': [1]}},
     'Too many ranges in the `filters` parameter, all fields together: 3, more than the '
     'limit of 2 (setting AZUL_MAX_FILTER_RANGES)'),
    ({'organ': {'is': ['a', 'b', 'c']}, 'donorDisease': {'is': ['x', 'y']}},
     'Too many values in the `filters` parameter, all fields together: 5, more than the '
     'limit of 4 (setting AZUL_MAX_FILTER_VALUES)'),
    # Counted before validation, so that validation too is bounded
    ({'nope': {'is': list(range(10))}},
     'Too many values in the `is` filter of field `nope`: 10, more than the limit of 3 '
     '(setting AZUL_MAX_FILTER_TERMS)'),
])
def test_filter_limits(filters, message):
    for parse in (decode_filters, lambda f, r, limits: parse_filters(json.dumps(f), r, limits)):
        with pytest.raises(InvalidFilterError) as e:
            parse(filters, registry, limits=SMALL)
        assert e.value.message == message


def test_filters_at_the_limits_parse():
    filters = {'organ': {'is': ['a', None]},
               'fileSize': {'within': [[0, 1]]}, 'organismAgeRange': {'intersects': [[1, 2]]}}
    assert len(decode_filters(filters, registry, SMALL).terms) == 3
    # Not shaped like filters: the schema's message, not a limit's
    with pytest.raises(InvalidFilterError, match=r"\[1\] is not of type 'object'"):
        decode_filters([1], registry, SMALL)


def test_filter_text_nested_too_deeply():
    text = '{"organ": {"is": [' + '[' * 10 + ']' * 10 + ']}}'
    with pytest.raises(InvalidFilterError) as e:
        parse_filters(text, registry, SMALL)
    assert e.value.message == ("The 'filters' parameter is nested too deeply: 13 levels, more "
                               "than the limit of 8 levels (setting AZUL_MAX_JSON_DEPTH)")


def _post(body: bytes) -> Request:
    return Request(method='POST', path='/index/files', body=body)


@pytest.mark.parametrize('body, message', [
    (b'{"filters": ' + b'[' * 90 + b']' * 90 + b'}',
     'The request body is nested too deeply: 91 levels, more than the limit of 8 levels '
     '(setting AZUL_MAX_JSON_DEPTH)'),
    (b'{"size": "' + b'x' * 300 + b'"}',
     'The request body is too large: 312 bytes, more than the limit of 200 bytes '
     '(setting AZUL_MAX_BODY_SIZE)'),
])
def test_body_limits(body, message):
    with pytest.raises(BadRequestError) as e:
        parameters(_post(body), ('filters', 'size'), body_allowed=True, limits=SMALL)
    assert e.value.message == message


def test_deep_body_with_the_default_limits():
    body = b'{"filters": ' + b'[' * 100_000 + b']' * 100_000 + b'}'
    with pytest.raises(BadRequestError) as e:
        json_body(body, Limits(body_size=1024 * 1024))
    assert e.value.message == ('The request body is nested too deeply: 100001 levels, more '
                               'than the limit of 32 levels (setting AZUL_MAX_JSON_DEPTH)')


def test_numbers_of_thousands_of_digits_are_refused():
    # Python refuses more than 4,300 digits with a ValueError of its own
    with pytest.raises(BadRequestError) as e:
        json_body(b'{"n": 1' + b'0' * 5000 + b'}', Limits())
    assert e.value.message == ('The request body is not valid JSON: a number of 5001 '
                               'characters is out of range')
    with pytest.raises(BadRequestError) as e:
        json_param({'filters': '[-1' + '0' * 4300 + ']'}, 'filters')
    assert e.value.message == "The 'filters' parameter is not valid JSON"
    # Python's limit is 4,300 digits
    assert json_body(b'[1' + b'0' * 4299 + b']', Limits()) == [10 ** 4299]


def test_json_param_depth():
    with pytest.raises(BadRequestError) as e:
        json_param({'search_after': '[' * 9 + ']' * 9}, 'search_after', SMALL)
    assert e.value.message == ("The 'search_after' parameter is nested too deeply: 9 levels, "
                               "more than the limit of 8 levels (setting AZUL_MAX_JSON_DEPTH)")
    value = json_param({'search_after': '[' * 8 + ']' * 8}, 'search_after', SMALL)
    assert value == [[[[[[[[]]]]]]]]


def _env(**overrides) -> dict[str, str]:
    env = envfiles.evaluate({}, ROOT)
    env.update(overrides)
    return env


def test_limit_settings():
    # environment.py's defaults are the code's
    assert Config.from_env(_env()).limits == Limits()
    assert Limits() == Limits(filter_terms=100, filter_ranges=16, filter_values=256,
                              json_depth=32, body_size=262144)
    env = _env(AZUL_MAX_FILTER_TERMS='5', AZUL_MAX_FILTER_RANGES='6',
               AZUL_MAX_FILTER_VALUES='7', AZUL_MAX_JSON_DEPTH='9', AZUL_MAX_BODY_SIZE='2048')
    assert Config.from_env(env).limits == Limits(5, 6, 7, 9, 2048)
    # Unset: the defaults
    env = {k: v for k, v in _env().items() if not k.startswith('AZUL_MAX_')}
    assert Config.from_env(env).limits == Limits()


@pytest.mark.parametrize('name, value, message', [
    ('AZUL_MAX_FILTER_TERMS', '0', 'AZUL_MAX_FILTER_TERMS: 0 is not between 1 and 100000'),
    ('AZUL_MAX_JSON_DEPTH', '2', 'AZUL_MAX_JSON_DEPTH: 2 is not between 8 and 500'),
    ('AZUL_MAX_BODY_SIZE', 'big', "AZUL_MAX_BODY_SIZE: 'big' is not an integer"),
])
def test_bad_limit_settings(name, value, message):
    with pytest.raises(Exception) as e:
        Config.from_env(_env(**{name: value}))
    assert str(e.value) == message


LONG_MAX = 2 ** 63 - 1


@pytest.mark.parametrize('ranges, query', [
    # OpenSearch fails the query for a bound beyond a long; every long is below 1e300
    (((0.0, 1e300),), {'range': {'fields.fileSize': {'gte': 0, 'lte': LONG_MAX}}}),
    (((-1e300, 5.0),), {'range': {'fields.fileSize': {'gte': -2 ** 63, 'lte': 5}}}),
    # No long lies in these
    (((1e19, 1e20),), MATCH_NONE),
    (((-1e30, -1e19),), MATCH_NONE),
    (((3.0, 7.0), (1e19, 1e20)), {'bool': {'filter': [
        {'range': {'fields.fileSize': {'gte': 3, 'lte': 7}}}, MATCH_NONE]}}),
])
def test_opensearch_long_bounds(ranges, query):
    assert term_query(Within(registry['fileSize'], ranges)) == query


def test_opensearch_double_bounds_pass_as_they_are():
    assert term_query(Within(registry['cellCount'], ((0.0, 1e300),))) == \
        {'range': {'fields.cellCount': {'gte': 0.0, 'lte': 1e300}}}
