"""
Names and links of manifests: tokens, signed keys, file names and the local
store's download links. Expected values are literals: the wait sequence and
file name rules are the original's (its async_manifest_service.Token and
ManifestGenerator.file_name), read off its source.
"""
import base64
import json
from datetime import datetime

import pytest

from azul.errors import BadRequestError, ForbiddenError
from azul.manifests.keys import (
    InvalidToken,
    ManifestKey,
    SignedKey,
    Token,
    canonical_filters,
    file_name,
)
from azul.manifests.links import BlobLinks
from azul.signing import Signer

DIGEST = 'd2b0ce3c-46f0-57fe-b9d4-2e38d8934fd4'


def test_wait_times_follow_the_original():
    # Token.first waits _next_wait_time(0); each next() waits the wait time
    # of the index it leaves: [1, 1, 4, 6, 10], the last repeating
    token = Token(DIGEST)
    waits = []
    for _ in range(8):
        waits.append(token.retry_after)
        token = token.next()
    assert waits == [1, 1, 1, 4, 6, 10, 10, 10]


def test_token_round_trip_and_garbage():
    token = Token(DIGEST, 3)
    assert Token.decode(token.encode()) == token
    for bad in ('', 'garbage', 'x' * 600, 'é',
                base64.urlsafe_b64encode(b'[1,2]').decode(),
                base64.urlsafe_b64encode(json.dumps({'j': 'not-a-uuid', 'i': 0}).encode()).decode(),
                base64.urlsafe_b64encode(json.dumps({'j': DIGEST, 'i': -1}).encode()).decode(),
                base64.urlsafe_b64encode(json.dumps({'j': DIGEST, 'i': True}).encode()).decode()):
        with pytest.raises(InvalidToken):
            Token.decode(bad)


def test_signed_key_detects_tampering():
    secret = b'secret'
    encoded = SignedKey(DIGEST, 'curl').encode(secret)
    assert SignedKey.decode(encoded, secret) == SignedKey(DIGEST, 'curl')
    with pytest.raises(InvalidToken):
        SignedKey.decode(encoded, b'other secret')
    forged = json.loads(base64.urlsafe_b64decode(encoded + '=' * (-len(encoded) % 4)))
    forged['f'] = 'compact'
    forged = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode()
    with pytest.raises(InvalidToken):
        SignedKey.decode(forged, secret)
    # A token is not a key
    with pytest.raises(InvalidToken):
        SignedKey.decode(Token(DIGEST).encode(), secret)


def test_manifest_key_depends_on_every_part():
    base = dict(catalog='dcp', format='compact', filters=canonical_filters({}),
                content='c1', code='g1', service_url='http://azul.test')
    digest = ManifestKey(**base).digest
    for name, value in (('catalog', 'dcp2'), ('format', 'curl'), ('content', 'c2'),
                        ('code', 'g2'), ('service_url', 'http://other'),
                        ('filters', canonical_filters({'organ': {'is': ['brain']}}))):
        assert ManifestKey(**{**base, name: value}).digest != digest, name
    assert ManifestKey(**base).digest == digest
    # Filters that differ only in key order are the same manifest
    a = {'organ': {'is': ['brain']}, 'fileFormat': {'is': ['bam']}}
    assert canonical_filters(a) == canonical_filters(dict(reversed(a.items())))
    assert ManifestKey(**base).object_key('tsv') == f'manifests/{digest}.tsv'


def test_file_names_as_the_original_makes_them():
    now = datetime(2024, 5, 6, 7, 8)
    # The project's short name, cleaned, with the time of preparation
    assert file_name('hca', DIGEST, 'tsv', 'Single cell transcriptome', now) == \
        'Single cell transcriptome 2024-05-06 07.08.tsv'
    # NFKD first ("ﬁ" → "fi", "é" → "e" + a combining accent, which is no
    # word character), then the accent, ":" and "*" become "_", then the
    # blanks around are stripped
    assert file_name('hca', DIGEST, 'tsv', ' ﬁlé:name* ', now) == \
        'file__name_ 2024-05-06 07.08.tsv'
    # No base name: the atlas and the digest
    assert file_name('hca', DIGEST, 'zip', None, now) == f'hca-manifest-{DIGEST}.zip'


def test_blob_links():
    links = BlobLinks(Signer(b'secret'))
    url = links.url('http://azul.test', 'manifests/a b.tsv', 'x y.tsv', 2_000_000_000)
    assert url.startswith('http://azul.test/blobs/manifests/a%20b.tsv?name=x%20y.tsv'
                          '&expires=2000000000&signature=')
    signature = url.rsplit('=', 1)[1]
    query = {'expires': '2000000000', 'name': 'x y.tsv', 'signature': signature}
    link = links.verify('manifests/a b.tsv', query, now=1_000_000_000)
    assert (link.key, link.file_name) == ('manifests/a b.tsv', 'x y.tsv')
    for key, changed, now in (('manifests/other.tsv', {}, 1e9),
                              ('manifests/a b.tsv', {'name': 'evil.sh'}, 1e9),
                              ('manifests/a b.tsv', {'expires': '2000000001'}, 1e9),
                              ('manifests/a b.tsv', {}, 2_000_000_001),
                              ('manifests/a b.tsv', {'signature': 'é'}, 1e9)):
        with pytest.raises(ForbiddenError):
            links.verify(key, {**query, **changed}, now=now)
    with pytest.raises(BadRequestError):
        links.verify('manifests/a b.tsv', {**query, 'expires': 'soon'}, now=1e9)
