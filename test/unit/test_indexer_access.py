"""Who may post unsigned notifications: pure logic of `azul.indexer.access`."""
import pytest

from azul.errors import ForbiddenError, UnauthorizedError, UnsupportedMediaTypeError
from azul.indexer.access import check_unsigned, is_loopback_address

JSON = {'content-type': 'application/json'}


@pytest.mark.parametrize('host, expected', [
    ('127.0.0.1', True), ('127.1.2.3', True), ('::1', True), ('[::1]', True),
    ('localhost', True), ('LocalHost', True),
    ('0.0.0.0', False), ('', False), ('::', False), ('10.0.0.1', False),
    ('localhost.evil.example', False), ('evil.example', False), ('127.0.0.1.nip.io', False),
])
def test_is_loopback_address(host, expected):
    assert is_loopback_address(host) is expected


@pytest.mark.parametrize('headers', [
    JSON,
    {'content-type': 'application/json; charset=utf-8', 'host': '127.0.0.1:8000'},
    {**JSON, 'host': 'localhost', 'origin': 'http://localhost:3000'},
    {**JSON, 'host': '[::1]:8000', 'origin': 'http://[::1]:8000'},
])
def test_accepted(headers):
    check_unsigned(True, headers)


@pytest.mark.parametrize('loopback, headers, error, message', [
    (False, JSON, UnauthorizedError,
     'Unsigned notifications are accepted only by a local server bound to a loopback '
     'address; set AZUL_INDEXER_HMAC_KEY and sign notifications (see azul.indexer.signature)'),
    (True, {**JSON, 'origin': 'https://evil.example'}, ForbiddenError,
     "Cross-origin notification from 'https://evil.example' refused: the indexer accepts "
     "unsigned notifications only from the local host"),
    (True, {**JSON, 'origin': 'null'}, ForbiddenError,
     "Cross-origin notification from 'null' refused: the indexer accepts unsigned "
     "notifications only from the local host"),
    (True, {**JSON, 'host': 'evil.example'}, ForbiddenError,
     "Unsigned notification to host 'evil.example' refused: it must be addressed to a "
     "loopback host name (127.0.0.1, localhost or [::1])"),
    (True, {**JSON, 'host': '[::1'}, ForbiddenError,
     "Unsigned notification to host '[::1' refused: it must be addressed to a "
     "loopback host name (127.0.0.1, localhost or [::1])"),
    (True, {'content-type': 'text/plain'}, UnsupportedMediaTypeError,
     "Unsigned notifications must be sent with Content-Type application/json, not "
     "'text/plain': a web page of another origin can post that type in your name"),
    (True, {'content-type': 'text/plain; application/json'}, UnsupportedMediaTypeError,
     "Unsigned notifications must be sent with Content-Type application/json, not "
     "'text/plain': a web page of another origin can post that type in your name"),
    (True, {}, UnsupportedMediaTypeError,
     "Unsigned notifications must be sent with Content-Type application/json, not "
     "'none': a web page of another origin can post that type in your name"),
])
def test_refused(loopback, headers, error, message):
    with pytest.raises(error) as e:
        check_unsigned(loopback, headers)
    assert e.value.message == message
