"""Pure tests of request parsing, links and cursors of the service."""
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from azul.core.fields import Field, FieldType
from azul.errors import BadRequestError
from azul.service import pagination
from azul.service.request import (
    Request,
    choice_param,
    int_param,
    json_param,
    link,
    parameters,
    size_param,
)


def request(query=None, method='GET', body=None, headers=None) -> Request:
    return Request(method=method, path='/index/files',
                   query={k: tuple(v) if isinstance(v, list) else (v,)
                          for k, v in (query or {}).items()},
                   headers=headers or {}, body=body)


def test_parameters_merges_query_and_body():
    params = parameters(request({'size': '5'}, method='POST',
                                body=json.dumps({'filters': {'organ': {'is': ['x']}}}).encode()),
                        ('size', 'filters'), body_allowed=True)
    assert params == {'size': '5', 'filters': {'organ': {'is': ['x']}}}


@pytest.mark.parametrize('req, message', [
    # The original's wording: `validate_params` in its service app
    (request({'bogus': '1'}), 'Unknown query parameter `bogus`'),
    (request({'b': '1', 'a': '2'}), 'Unknown query parameters `a`, `b`'),
    (request(method='POST', body=b'{"bogus": 2}'), 'Unknown query parameter `bogus`'),
    (request(method='POST', body=b'{nope'), 'The request body is not valid JSON'),
    (request(method='POST', body=b'{"size": NaN}'), 'The request body is not valid JSON'),
    (request(method='POST', body=b'[1]'), 'must be a JSON object'),
    (request({'size': '1'}, method='POST', body=b'{"size": 2}'), 'both in the query string'),
])
def test_parameters_rejects(req, message):
    with pytest.raises(BadRequestError) as e:
        parameters(req, ('size', 'filters'), body_allowed=True)
    assert message in e.value.message


def test_parameters_missing_and_repeated():
    with pytest.raises(BadRequestError) as e:
        parameters(request({}), ('a', 'b', 'c'), required=('b', 'a'))
    assert e.value.message == 'Missing required query parameters `a`, `b`'
    with pytest.raises(BadRequestError) as e:
        parameters(request({'a': '1'}), ('a', 'b'), required=('b',))
    assert e.value.message == 'Missing required query parameter `b`'
    # A repeated parameter: the last value, as Chalice's MultiDict gives it
    assert parameters(request({'size': ['1', '2']}), ('size',)) == {'size': '2'}
    # The health routes ignore what they do not read
    assert parameters(request({'x': '1'}), (), ignore_unknown=True) == {'x': '1'}


def test_body_ignored_for_get():
    # A GET body is not a way to pass parameters; it must not be parsed either
    assert parameters(request(method='GET', body=b'{nope'), ('size',), body_allowed=True) == {}


@pytest.mark.parametrize('value, expected', [(None, 10), ('7', 7), (' 8 ', 8), (1000, 1000)])
def test_size_param(value, expected):
    assert size_param({'size': value}, 'size', 10, 1000) == expected


# The original's three messages for `size` (validate_size)
@pytest.mark.parametrize('value, message', [
    ('1001', 'Invalid value for parameter `size`, must not be greater than 1000'),
    ('0', 'Invalid value for parameter `size`, must be greater than 0'),
    ('-1', 'Invalid value for parameter `size`, must be greater than 0'),
    ('ten', 'Invalid value for parameter `size`'),
    ('1.5', 'Invalid value for parameter `size`'),
    (True, 'Invalid value for parameter `size`'),
    (2.5, 'Invalid value for parameter `size`'),
])
def test_size_param_rejects(value, message):
    with pytest.raises(BadRequestError) as e:
        size_param({'size': value}, 'size', 10, 1000)
    assert e.value.message == message


def test_int_param():
    assert int_param({'requestIndex': '3'}, 'requestIndex', 0, 0, 9) == 3
    for value in ('x', '10', True):
        with pytest.raises(BadRequestError) as e:
            int_param({'requestIndex': value}, 'requestIndex', 0, 0, 9)
        # The original's message when a parameter's validator refuses it
        assert e.value.message == 'Invalid value for `requestIndex`'


def test_choice_and_json_params():
    assert choice_param({}, 'wait', ('0', '1'), '0') == '0'
    with pytest.raises(BadRequestError) as e:
        choice_param({'wait': '2'}, 'wait', ('0', '1'))
    assert e.value.message == 'Invalid value for `wait`'
    assert json_param({'filters': '{"a": 1}'}, 'filters') == {'a': 1}
    assert json_param({'filters': {'a': 1}}, 'filters') == {'a': 1}
    # validate_json_param of the original
    # (and ours, for what Python's parser takes but RFC 8259 does not, or a
    # double cannot hold)
    for text in ('{', '', '{"a": NaN}', '[Infinity]', '-Infinity', '[1e400]', '-1.5e999'):
        with pytest.raises(BadRequestError) as e:
            json_param({'filters': text}, 'filters')
        assert e.value.message == "The 'filters' parameter is not valid JSON"
    # Integers of any size are JSON; it is for the filters to refuse them
    assert json_param({'filters': '[1e300, 100000000000000000000000]'}, 'filters') \
        == [1e300, 10 ** 23]


def test_base_url():
    assert request(headers={'host': 'h:1'}).base_url(None) == 'http://h:1'
    assert request(headers={'host': 'h', 'x-forwarded-proto': 'https'}).base_url(None) \
        == 'https://h'
    # A spoofed scheme cannot inject anything into links
    assert request(headers={'host': 'h', 'x-forwarded-proto': 'javascript'}).base_url(None) \
        == 'http://h'
    assert request(headers={'host': 'h'}).base_url('https://azul.org/') == 'https://azul.org'


def test_link_is_form_encoded_and_round_trips():
    params = {'filters': '{"projectTitle": {"is": ["a + b & c"]}}', 'size': '3', 'x': None}
    url = link('http://h', '/index/files', params)
    assert ' ' not in url and '&c' not in url
    query = urlsplit(url).query
    assert parse_qs(query) == {'filters': [params['filters']], 'size': ['3']}


keyword = Field('organ', FieldType.keyword, 'p')
long_ = Field('size', FieldType.long, 'p')
double = Field('cells', FieldType.double, 'p')
boolean = Field('flag', FieldType.boolean, 'p')
range_ = Field('age', FieldType.range, 'p')


@pytest.mark.parametrize('field, value', [
    (keyword, 'brain'), (keyword, None), (long_, 12), (double, 1.5), (boolean, False),
    (range_, 0.0), (keyword, 'with "quotes" and, commas'),
])
def test_cursor_round_trip(field, value):
    cursor = (value, 'id-1')
    assert pagination.decode_cursor('search_after', pagination.encode_cursor(cursor),
                                    None, field) == cursor


def test_cursor_coerces_json_numbers():
    assert pagination.decode_cursor('search_after', '[3, "i"]', None, double) == (3.0, 'i')
    assert pagination.decode_cursor('search_after', '[3.0, "i"]', None, long_) == (3, 'i')


def test_legacy_cursor():
    assert pagination.decode_cursor('search_before', '"brain"', 'i', keyword) == ('brain', 'i')
    assert pagination.decode_cursor('search_before', 'null', 'i', keyword) == (None, 'i')


@pytest.mark.parametrize('field, text, message', [
    (keyword, '[1', 'not valid JSON'),
    (keyword, '"brain"', 'must be a JSON array'),
    (keyword, '["a", "b", "c"]', 'must be a JSON array'),
    (keyword, '["a", 1]', 'entity id'),
    (keyword, '["a", ""]', 'entity id'),
    (keyword, '[1, "i"]', 'does not fit the sort field'),
    (long_, '[1.5, "i"]', 'does not fit the sort field'),
    (long_, '["1", "i"]', 'does not fit the sort field'),
    (boolean, '[1, "i"]', 'does not fit the sort field'),
    (double, '[true, "i"]', 'does not fit the sort field'),
])
def test_cursor_rejects(field, text, message):
    with pytest.raises(BadRequestError) as e:
        pagination.decode_cursor('search_after', text, None, field)
    assert message in e.value.message and "'search_after'" in e.value.message
