"""
The `azul.auth` package without I/O beyond a temporary token file: bearer
headers, the token file and its verifier, the caching verifier, readable
sources, restricted sources in the catalog configuration, and `reify`.
"""
import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from azul.auth.access import readable_sources
from azul.auth.identity import (
    ANONYMOUS,
    CachingVerifier,
    Identity,
    LocalVerifier,
    bearer_token,
    parse_token_file,
)
from azul.auth.reify import Access, is_accessible, reify
from azul.config import parse_catalogs
from azul.core.filters import Filters, Is, filter_matches, parse_filters
from azul.errors import (
    ForbiddenError,
    InvalidFilterError,
    ServiceUnavailableError,
    UnauthorizedError,
)
from azul.plugins.metadata.hca.fields import registry


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# 2027-01-01T00:00:00Z
T2027 = datetime(2027, 1, 1, tzinfo=UTC).timestamp()


# Bearer headers


def test_bearer_token_absent_is_none():
    assert bearer_token({}) is None
    assert bearer_token({'host': 'localhost'}) is None


@pytest.mark.parametrize('value, token', [
    ('Bearer abc', 'abc'),
    ('Bearer ya29.A0-b_c~d+e/f==', 'ya29.A0-b_c~d+e/f=='),
])
def test_bearer_token_ok(value, token):
    assert bearer_token({'authorization': value}) == token


@pytest.mark.parametrize('value', [
    'Basic x',
    'Basic dXNlcjpwYXNz',
    'Bearer',
    'Bearer ',
    'Bearer a b',
    'Bearer abc!',
    'Bearer a,b',
    'Bearer =abc',
    'Bearer\tabc',
    'Bearerabc',
    'abc',
    '',
])
def test_bearer_token_malformed(value):
    with pytest.raises(UnauthorizedError, match='Bearer <token>'):
        bearer_token({'authorization': value})


@pytest.mark.parametrize('value', ['bearer abc', 'BEARER abc', 'Bearer  abc'])
def test_bearer_token_rfc_6750_forms(value):
    assert bearer_token({'authorization': value}) == 'abc'


# The token file


def test_token_file_plain_and_digest_keys():
    text = json.dumps({
        'alice-token': {'subject': 'alice@example.org', 'groups': ['g1', 'g2']},
        'sha256:' + _sha('bob-token'): {'subject': 'bob@example.org', 'groups': []},
        # Upper case hex digits are the same digest
        'sha256:' + _sha('carol-token').upper(): {'subject': 'carol@example.org'},
    })
    tokens = parse_token_file(text)
    assert tokens == {
        _sha('alice-token'): Identity('alice@example.org', frozenset({'g1', 'g2'})),
        _sha('bob-token'): Identity('bob@example.org', frozenset()),
        _sha('carol-token'): Identity('carol@example.org', frozenset()),
    }
    # The secret itself is never a key
    assert 'alice-token' not in tokens


@pytest.mark.parametrize('expires, timestamp', [
    ('2027-01-01T00:00:00Z', T2027),
    ('2027-01-01T00:00:00+00:00', T2027),
    ('2027-01-01T02:00:00+02:00', T2027),
    ('2027-01-01T00:00:30.5Z', T2027 + 30.5),
])
def test_token_file_expires(expires, timestamp):
    tokens = parse_token_file(json.dumps({'t': {'subject': 's', 'expires': expires}}))
    assert tokens[_sha('t')].expires == timestamp


def test_token_file_without_expires():
    tokens = parse_token_file(json.dumps({'t': {'subject': 's'}}))
    assert tokens[_sha('t')].expires is None


@pytest.mark.parametrize('text, message', [
    ('{', 'not valid JSON'),
    ('', 'not valid JSON'),
    ('[]', 'must be a JSON object'),
    ('"token"', 'must be a JSON object'),
])
def test_token_file_bad_json(text, message):
    with pytest.raises(ValueError, match=message):
        parse_token_file(text)


_good = {'subject': 's', 'groups': ['g']}


@pytest.mark.parametrize('key, value, message', [
    ('', _good, 'a token must be a non-empty string'),
    ('sha256:abc', _good, '`sha256:` must be followed by 64 hex digits'),
    ('sha256:' + 'g' * 64, _good, '`sha256:` must be followed by 64 hex digits'),
    ('sha256:' + 'a' * 65, _good, '`sha256:` must be followed by 64 hex digits'),
    ('a b', _good, 'not a token a Bearer header can carry'),
    ('tok!', _good, 'not a token a Bearer header can carry'),
    ('tok', 'alice', 'must be an object with `subject` and `groups`'),
    ('tok', ['alice'], 'must be an object with `subject` and `groups`'),
    ('tok', {**_good, 'role': 'admin'}, r"unknown keys \['role'\]"),
    ('tok', {'groups': ['g']}, '`subject` must be a non-empty string'),
    ('tok', {'subject': '', 'groups': ['g']}, '`subject` must be a non-empty string'),
    ('tok', {'subject': 1}, '`subject` must be a non-empty string'),
    ('tok', {'subject': 's', 'groups': 'g'}, '`groups` must be a list of non-empty strings'),
    ('tok', {'subject': 's', 'groups': ['']}, '`groups` must be a list of non-empty strings'),
    ('tok', {'subject': 's', 'groups': [1]}, '`groups` must be a list of non-empty strings'),
    ('tok', {'subject': 's', 'groups': None}, '`groups` must be a list of non-empty strings'),
    ('tok', {**_good, 'expires': 1798761600}, '`expires` must be an ISO 8601'),
    ('tok', {**_good, 'expires': 'tomorrow'}, "`expires` 'tomorrow' is not an ISO 8601"),
    ('tok', {**_good, 'expires': '2027-01-01T00:00:00'},
     "`expires` '2027-01-01T00:00:00' needs a time zone"),
])
def test_token_file_bad_entry_is_named(key, value, message):
    # The bad entry is the third: the message must say which
    text = json.dumps({'first': _good, 'second': _good, key: value})
    with pytest.raises(ValueError, match='^entry 3: ' + message):
        parse_token_file(text)


def test_token_file_bad_entry_does_not_show_the_token():
    with pytest.raises(ValueError) as e:
        parse_token_file(json.dumps({'s3cr3t-token': {'subject': ''}}))
    assert 's3cr3t-token' not in str(e.value)


# LocalVerifier


class Clock:

    def __init__(self, now: float = 0.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _write(path: Path, body: dict | str, mtime_ns: int | None = None) -> None:
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    if mtime_ns is not None:
        # A distinct modification time, whatever the file system's granularity
        os.utime(path, ns=(mtime_ns, mtime_ns))


def test_local_verifier_known_and_unknown(tmp_path):
    path = tmp_path / 'tokens.json'
    _write(path, {'alice-token': {'subject': 'alice@example.org', 'groups': ['g1']},
                  'sha256:' + _sha('bob-token'): {'subject': 'bob@example.org'}})
    verifier = LocalVerifier(path)
    assert verifier.verify('alice-token') == Identity('alice@example.org', frozenset({'g1'}))
    assert verifier.verify('bob-token') == Identity('bob@example.org')
    for token in ('carol-token', 'alice-toke', _sha('alice-token'), 'sha256:' + _sha('bob-token')):
        with pytest.raises(UnauthorizedError, match='not valid'):
            verifier.verify(token)


def test_local_verifier_expiry_uses_the_clock(tmp_path):
    path = tmp_path / 'tokens.json'
    _write(path, {'t': {'subject': 's', 'expires': '2027-01-01T00:00:00Z'}})
    clock = Clock(T2027 - 1)
    verifier = LocalVerifier(path, clock=clock)
    assert verifier.verify('t').subject == 's'
    clock.now = T2027
    with pytest.raises(UnauthorizedError, match='expired'):
        verifier.verify('t')
    clock.now = T2027 + 3600
    with pytest.raises(UnauthorizedError, match='expired'):
        verifier.verify('t')


def test_local_verifier_rereads_a_changed_file(tmp_path):
    path = tmp_path / 'tokens.json'
    _write(path, {'old': {'subject': 'alice', 'groups': ['g1']}}, mtime_ns=10 ** 18)
    verifier = LocalVerifier(path)
    assert verifier.verify('old').groups == {'g1'}
    # Revoke `old`, issue `new` and change alice's groups
    _write(path, {'new': {'subject': 'alice', 'groups': ['g2']}}, mtime_ns=10 ** 18 + 10 ** 9)
    with pytest.raises(UnauthorizedError):
        verifier.verify('old')
    assert verifier.verify('new').groups == {'g2'}


def test_local_verifier_without_file(tmp_path):
    for verifier in (LocalVerifier(None), LocalVerifier(tmp_path / 'missing.json')):
        with pytest.raises(UnauthorizedError):
            verifier.verify('anything')


def test_local_verifier_file_removed(tmp_path):
    path = tmp_path / 'tokens.json'
    _write(path, {'t': {'subject': 's'}})
    verifier = LocalVerifier(path)
    assert verifier.verify('t').subject == 's'
    path.unlink()
    with pytest.raises(UnauthorizedError):
        verifier.verify('t')


def test_local_verifier_invalid_file(tmp_path):
    path = tmp_path / 'tokens.json'
    _write(path, '{"t": {"subject": "s"', mtime_ns=10 ** 18)
    verifier = LocalVerifier(path)
    with pytest.raises(ServiceUnavailableError, match='The token file is invalid'):
        verifier.verify('t')
    # Still invalid on the next request, not an empty set of tokens
    with pytest.raises(ServiceUnavailableError):
        verifier.verify('t')
    # Once fixed, tokens are valid again
    _write(path, {'t': {'subject': 's'}}, mtime_ns=10 ** 18 + 10 ** 9)
    assert verifier.verify('t').subject == 's'
    # A valid file broken later refuses every token, the once valid ones too
    _write(path, {'t': {'subject': ''}}, mtime_ns=10 ** 18 + 2 * 10 ** 9)
    with pytest.raises(ServiceUnavailableError, match='entry 1'):
        verifier.verify('t')


def test_local_verifier_unreadable_file(tmp_path):
    with pytest.raises(ServiceUnavailableError):
        LocalVerifier(tmp_path).verify('t')


# CachingVerifier


class CountingVerifier:
    """A fake of the `TokenVerifier` seam that counts the calls it gets."""

    def __init__(self, identities: dict[str, Identity]):
        self.identities = identities
        self.calls: list[str] = []

    def verify(self, token: str) -> Identity:
        self.calls.append(token)
        try:
            return self.identities[token]
        except KeyError:
            raise UnauthorizedError('The bearer token is not valid') from None


ALICE = Identity('alice', frozenset({'g1'}))
BOB = Identity('bob', frozenset({'g2'}))
CAROL = Identity('carol')


def test_caching_within_and_after_ttl():
    inner = CountingVerifier({'a': ALICE})
    clock = Clock(1000.0)
    verifier = CachingVerifier(inner, ttl=60, clock=clock)
    assert verifier.verify('a') == ALICE
    assert inner.calls == ['a']
    clock.now += 59.9
    assert verifier.verify('a') == ALICE
    assert inner.calls == ['a']
    clock.now = 1060.0
    assert verifier.verify('a') == ALICE
    assert inner.calls == ['a', 'a']
    # The second verification starts a new period
    clock.now = 1119.0
    assert verifier.verify('a') == ALICE
    assert inner.calls == ['a', 'a']


def test_caching_per_token():
    inner = CountingVerifier({'a': ALICE, 'b': BOB})
    verifier = CachingVerifier(inner, ttl=60, clock=Clock())
    assert verifier.verify('a') == ALICE
    assert verifier.verify('b') == BOB
    assert verifier.verify('a') == ALICE
    assert verifier.verify('b') == BOB
    assert inner.calls == ['a', 'b']


def test_caching_does_not_remember_refusals():
    inner = CountingVerifier({})
    verifier = CachingVerifier(inner, ttl=60, clock=Clock())
    with pytest.raises(UnauthorizedError):
        verifier.verify('a')
    # The token becomes valid a moment later
    inner.identities['a'] = ALICE
    assert verifier.verify('a') == ALICE
    assert inner.calls == ['a', 'a']


def test_caching_size_evicts_the_oldest():
    inner = CountingVerifier({'a': ALICE, 'b': BOB, 'c': CAROL})
    verifier = CachingVerifier(inner, ttl=60, size=2, clock=Clock())
    verifier.verify('a')
    verifier.verify('b')
    verifier.verify('c')
    assert inner.calls == ['a', 'b', 'c']
    # b and c are remembered, a was evicted
    assert verifier.verify('b') == BOB
    assert verifier.verify('c') == CAROL
    assert inner.calls == ['a', 'b', 'c']
    assert verifier.verify('a') == ALICE
    assert inner.calls == ['a', 'b', 'c', 'a']


def test_caching_ttl_zero_caches_nothing():
    inner = CountingVerifier({'a': ALICE})
    verifier = CachingVerifier(inner, ttl=0, clock=Clock())
    for _ in range(3):
        assert verifier.verify('a') == ALICE
    assert inner.calls == ['a', 'a', 'a']


def test_caching_not_past_the_tokens_expiry():
    # A token that expired (by the wall clock) is verified again each time
    expired = Identity('alice', frozenset({'g1'}), expires=1.0)
    inner = CountingVerifier({'a': expired})
    verifier = CachingVerifier(inner, ttl=60, clock=Clock())
    verifier.verify('a')
    verifier.verify('a')
    assert inner.calls == ['a', 'a']


# Readable sources


def _catalog_json(sources: list) -> str:
    return json.dumps({'dcp': {
        'atlas': 'hca', 'internal': False,
        'plugins': {'metadata': {'name': 'hca'}, 'repository': {'name': 'canned'}},
        'sources': sources,
    }})


PUBLIC = 'file:///tmp/public'
SECRET1 = 'file:///tmp/secret1'
SECRET2 = 'file:///tmp/secret2'


@pytest.fixture
def catalog():
    [catalog] = parse_catalogs(_catalog_json([
        PUBLIC,
        {'spec': SECRET1, 'group': 'g1'},
        {'spec': SECRET2, 'group': 'g2'},
    ]))
    return catalog


@pytest.mark.parametrize('groups, readable', [
    ((), {PUBLIC}),
    (('g1',), {PUBLIC, SECRET1}),
    (('g2',), {PUBLIC, SECRET2}),
    (('g1', 'g2'), {PUBLIC, SECRET1, SECRET2}),
    (('other',), {PUBLIC}),
    # A group is not a source
    ((SECRET1,), {PUBLIC}),
])
def test_readable_sources(catalog, groups, readable):
    identity = Identity('alice', frozenset(groups))
    assert readable_sources(catalog, identity) == readable


def test_readable_sources_anonymous(catalog):
    assert readable_sources(catalog, ANONYMOUS) == {PUBLIC}


def test_readable_sources_of_a_public_catalog():
    [catalog] = parse_catalogs(_catalog_json([PUBLIC, SECRET1]))
    assert readable_sources(catalog, ANONYMOUS) == {PUBLIC, SECRET1}


# Restricted sources in the configuration


def test_config_restricted_sources(catalog):
    assert catalog.sources == (PUBLIC, SECRET1, SECRET2)
    assert dict(catalog.groups) == {SECRET1: 'g1', SECRET2: 'g2'}
    assert catalog.group(PUBLIC) is None
    assert catalog.group(SECRET1) == 'g1'
    assert catalog.group(SECRET2) == 'g2'
    assert catalog.group('file:///tmp/unknown') is None
    assert catalog.restricted is True


def test_config_public_sources():
    [catalog] = parse_catalogs(_catalog_json([PUBLIC, SECRET1]))
    assert catalog.sources == (PUBLIC, SECRET1)
    assert catalog.groups == ()
    assert catalog.group(SECRET1) is None
    assert catalog.restricted is False


@pytest.mark.parametrize('sources, message', [
    ([{'spec': SECRET1}], 'a restricted source must be an object with `spec` and `group`'),
    ([{'spec': SECRET1, 'group': ''}], 'a restricted source must be an object'),
    ([{'spec': SECRET1, 'group': 1}], 'a restricted source must be an object'),
    ([{'spec': SECRET1, 'group': ['g1']}], 'a restricted source must be an object'),
    ([{'spec': SECRET1, 'group': 'g1', 'role': 'x'}], 'a restricted source must be an object'),
    ([{'group': 'g1'}], 'every source must be a non-empty string'),
    ([{'spec': '', 'group': 'g1'}], 'every source must be a non-empty string'),
    ([{'spec': 1, 'group': 'g1'}], 'every source must be a non-empty string'),
    ([''], 'every source must be a non-empty string'),
    ([1], 'every source must be a non-empty string'),
    ([None], 'every source must be a non-empty string'),
    ([{'spec': 's3://bucket', 'group': 'g1'}], "canned source 's3://bucket' must be"),
    ([PUBLIC, PUBLIC], f'source {PUBLIC!r} is listed twice'),
    ([PUBLIC, {'spec': PUBLIC, 'group': 'g1'}], f'source {PUBLIC!r} is listed twice'),
    ([{'spec': SECRET1, 'group': 'g1'}, {'spec': SECRET1, 'group': 'g2'}],
     f'source {SECRET1!r} is listed twice'),
])
def test_config_bad_sources(sources, message):
    with pytest.raises(ValueError) as e:
        parse_catalogs(_catalog_json(sources))
    assert str(e.value).startswith("catalog 'dcp': ")
    assert message in str(e.value)


# reify
#
# The expectations below are literals, checked by hand against the original
# Azul's `Filters.reify`:
#
#   With limit_access:
#     - no explicit sources: sources = readable if True in accessible else []
#     - explicit sources containing an unreadable one: 403
#       ForbiddenError('Cannot filter by inaccessible sources', forbidden_set)
#     - else: explicit if True in accessible else []
#   Without limit_access:
#     - accessible == {}: []
#     - {False, True}: the explicit sources (no term if none)
#     - {True}: readable (∩ explicit)
#     - {False}: without explicit sources NOT readable, with explicit sources:
#                explicit − readable
#
# Deviations, on purpose: with the limit, the readable sources bound the
# request through `Filters.scope` (which no facet skips), not through the
# `sourceId` term; with the limit, no explicit `sourceId` and True in
# accessible there is no `sourceId` term. An entity of several sources is
# accessible only if the caller may read all of them.
#
# The expectations are the entities the reified filters select, by the
# reference semantics (`filter_matches`), so that equivalent ways of writing
# the same selection are all right. Every entity has one source and an organ;
# the client's filters always ask for the brain, which must pass through.

S1, S2, S3 = 's1', 's2', 's3'
READABLE = frozenset({S1, S2})
UNREADABLE = frozenset({S3})

ENTITIES = {
    'a1': {'sourceId': (S1,), 'organ': ('brain',)},
    'a2': {'sourceId': (S1,), 'organ': ('heart',)},
    'b1': {'sourceId': (S2,), 'organ': ('brain',)},
    'c1': {'sourceId': (S3,), 'organ': ('brain',)},
    'c2': {'sourceId': (S3,), 'organ': ('heart',)},
}


def _selected(filters: Filters, entities=ENTITIES) -> set[str]:
    return {name for name, fields in entities.items()
            if filter_matches(filters, {'accessible': (True,), **fields})}


def _filters(sources=None, accessible=None, organ=True) -> Filters:
    body = {}
    if organ:
        body['organ'] = {'is': ['brain']}
    if sources is not None:
        body['sourceId'] = {'is': sources}
    if accessible is not None:
        body['accessible'] = {'is': accessible}
    return parse_filters(json.dumps(body), registry)


def _access(limited: bool, readable=READABLE, unreadable=UNREADABLE) -> Access:
    return Access(readable=frozenset(readable), unreadable=frozenset(unreadable),
                  limited=limited)


# (explicit sources, accessible, selected)
limited_cases = [
    # No explicit sources: readable if True in accessible ...
    (None, None, {'a1', 'b1'}),
    (None, [True], {'a1', 'b1'}),
    (None, [False, True], {'a1', 'b1'}),
    (None, [True, False], {'a1', 'b1'}),
    # ... else []
    (None, [False], set()),
    # Explicit readable sources: explicit if True in accessible ...
    ([S1], None, {'a1'}),
    ([S1, S2], [True], {'a1', 'b1'}),
    ([S2], [False, True], {'b1'}),
    # ... else []
    ([S1], [False], set()),
    ([S1, S2], [False], set()),
]


@pytest.mark.parametrize('sources, accessible, selected', limited_cases)
def test_reify_limited(sources, accessible, selected):
    result = reify(_filters(sources, accessible), registry, _access(limited=True))
    assert _selected(result) == selected


@pytest.mark.parametrize('sources, accessible', [
    (None, None),
    (None, [True]),
    ([S1], None),
    ([S1, S2], [False, True]),
])
def test_reify_limited_scope(sources, accessible):
    # Deviation: the limit is in the scope, so that a facet which skips its
    # own field's terms (`sourceId`, `accessible`) still counts only what the
    # caller may read
    result = reify(_filters(sources, accessible), registry, _access(limited=True))
    for field in ('sourceId', 'accessible', 'organ'):
        assert not _selected(result.without(field)) & {'c1', 'c2'}, field
    assert _selected(result.without('sourceId').without('organ')) >= (
        {'a1', 'a2'} if sources == [S1] else {'a1', 'a2', 'b1'})


def test_reify_limited_has_no_implied_source_term():
    # Deviation: with the limit, no explicit sourceId and True in accessible,
    # the readable sources are the scope's, not a `sourceId` term
    for accessible in (None, [True], [False, True]):
        result = reify(_filters(None, accessible), registry, _access(limited=True))
        assert result.fields() == ('organ',)
        assert result.scope


@pytest.mark.parametrize('sources, accessible, forbidden', [
    ([S3], None, {S3}),
    ([S1, S3], None, {S3}),
    ([S3, 's4'], [True], {S3, 's4'}),
    # Refused whatever `accessible` says
    ([S1, S3], [False], {S3}),
    ([S3], [False, True], {S3}),
])
def test_reify_limited_forbidden(sources, accessible, forbidden):
    with pytest.raises(ForbiddenError) as e:
        reify(_filters(sources, accessible), registry, _access(limited=True))
    assert e.value.args == ('Cannot filter by inaccessible sources', forbidden)


@pytest.mark.parametrize('sources, accessible, selected', [
    (None, None, {'a1', 'b1', 'c1'}),
    (None, [True], {'a1', 'b1', 'c1'}),
    (None, [False], set()),
    ([S3], None, {'c1'}),
    ([S3], [False], set()),
])
def test_reify_limited_everything(sources, accessible, selected):
    # A caller who may read every source of the catalog: no scope at all
    access = _access(limited=True, readable={S1, S2, S3}, unreadable=())
    result = reify(_filters(sources, accessible), registry, access)
    assert _selected(result) == selected
    assert result.scope == ()


def test_reify_limited_without_readable_sources():
    access = _access(limited=True, readable=(), unreadable={S1, S2, S3})
    assert _selected(reify(_filters(), registry, access)) == set()
    assert _selected(reify(_filters(None, [True]), registry, access)) == set()
    with pytest.raises(ForbiddenError):
        reify(_filters([S1]), registry, access)


unlimited_cases = [
    # {False, True}: the explicit sources, no term without any
    (None, None, {'a1', 'b1', 'c1'}),
    (None, [False, True], {'a1', 'b1', 'c1'}),
    ([S1, S3], None, {'a1', 'c1'}),
    ([S3], [True, False], {'c1'}),
    # {True}: readable ∩ explicit
    (None, [True], {'a1', 'b1'}),
    ([S1, S3], [True], {'a1'}),
    ([S3], [True], set()),
    # {False}: NOT readable, or explicit − readable
    (None, [False], {'c1'}),
    ([S1, S3], [False], {'c1'}),
    ([S2, S3], [False], {'c1'}),
    ([S1], [False], set()),
]


@pytest.mark.parametrize('sources, accessible, selected', unlimited_cases)
def test_reify_unlimited(sources, accessible, selected):
    result = reify(_filters(sources, accessible), registry, _access(limited=False))
    assert _selected(result) == selected
    # Nothing is out of scope: every entity is listed and marked
    assert result.scope == ()
    assert 'accessible' not in result.fields()


@pytest.mark.parametrize('accessible, selected', [
    (None, {'a1', 'b1', 'c1'}),
    ([True], {'a1', 'b1', 'c1'}),
    ([False], set()),
])
def test_reify_unlimited_everything(accessible, selected):
    access = _access(limited=False, readable={S1, S2, S3}, unreadable=())
    assert _selected(reify(_filters(None, accessible), registry, access)) == selected


def test_reify_unlimited_no_accessible_value():
    # accessible == {}: []; no client can send it (`is` needs a value), but
    # two terms whose values have nothing in common are just that
    accessible = registry['accessible']
    organ = Is(registry['organ'], ('brain',))
    for terms in ((Is(accessible, (True,)), Is(accessible, (False,))), (Is(accessible, ()),)):
        result = reify(Filters((organ, *terms)), registry, _access(limited=False))
        assert _selected(result) == set()


def test_reify_several_source_terms_intersect():
    # Not a client's (one key per field), but the values of two terms are ANDed
    source = registry['sourceId']
    organ = Is(registry['organ'], ('brain',))
    filters = Filters((organ, Is(source, (S1, S3)), Is(source, (S3, S2))))
    assert _selected(reify(filters, registry, _access(limited=False))) == {'c1'}
    with pytest.raises(ForbiddenError):
        reify(filters, registry, _access(limited=True))
    filters = Filters((organ, Is(source, (S1, S2)), Is(source, (S2,))))
    assert _selected(reify(filters, registry, _access(limited=True))) == {'b1'}


def test_reify_several_sources():
    # Deviation: an entity of a readable and an unreadable source is not
    # accessible
    entities = {**ENTITIES, 'm1': {'sourceId': (S1, S3), 'organ': ('brain',)}}
    cases = [
        (True, None, {'a1', 'b1'}),
        (False, [True], {'a1', 'b1'}),
        (False, [False], {'c1', 'm1'}),
        (False, None, {'a1', 'b1', 'c1', 'm1'}),
    ]
    for limited, accessible, selected in cases:
        result = reify(_filters(None, accessible), registry, _access(limited=limited))
        assert _selected(result, entities) == selected, (limited, accessible)


def test_reify_keeps_other_terms_and_scope():
    organ = registry['organ']
    given = Is(organ, ('brain', 'heart'))
    prior = Is(organ, ('heart',))
    filters = Filters((given,), scope=(prior,))
    result = reify(filters, registry, _access(limited=True))
    assert result.terms == (given,)
    assert prior in result.scope
    assert _selected(result) == {'a2'}
    result = reify(filters, registry, _access(limited=False))
    assert result == filters


def test_reify_without_filters():
    result = reify(Filters(), registry, _access(limited=False))
    assert result == Filters()
    result = reify(Filters(), registry, _access(limited=True))
    assert _selected(result) == {'a1', 'a2', 'b1'}


def test_reify_refuses_negated_terms():
    for name, value in (('sourceId', S1), ('accessible', True)):
        filters = Filters((Is(registry[name], (value,), negated=True),))
        with pytest.raises(InvalidFilterError, match=name):
            reify(filters, registry, _access(limited=False))


@pytest.mark.parametrize('sources, accessible', [
    ([S1], True),
    ([S1, S2], True),
    ([S2, S3], False),
    ([S3], False),
    ([], False),
])
def test_is_accessible(sources, accessible):
    assert is_accessible(sources, READABLE) is accessible
