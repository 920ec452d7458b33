"""Signed, expiring links (`azul.service.signing`)."""
import stat
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from azul.errors import BadRequestError, ForbiddenError
from azul.signing import Signer, canonical, signing_key

PATH = '/repository/blobs/7b07f99e-4a8a-4ad0-bd4f-db0d7a00c7bb'
PARAMS = {'catalog': 'dcp', 'version': '2018-11-02T11:33:44.698028Z', 'fileName': 'a b/c'}


def test_canonical():
    assert canonical(PATH, PARAMS) == (
        PATH + '?catalog=dcp&fileName=a%20b%2Fc&version=2018-11-02T11%3A33%3A44.698028Z')


def test_signature_is_hmac_sha256():
    # printf '1700000000\n/x?a=1' | openssl dgst -sha256 -hmac secret
    signer = Signer(b'secret')
    assert signer.sign('/x?a=1', 1700000000) == (
        '80122e1e560a6d68cdfa9e9ba3ff1bfca44cedb594f88c69c3304d94bc5c46c1')


def test_signed_query_round_trip():
    signer = Signer(b'secret')
    query = signer.signed_query(PATH, PARAMS, 2_000_000_000)
    params = dict(parse_qsl(query))
    assert params['expires'] == '2000000000' and len(params['signature']) == 64
    signer.verify_query(PATH, params, now=1_999_999_999)
    with pytest.raises(ForbiddenError, match='The link has expired'):
        signer.verify_query(PATH, params, now=2_000_000_001)
    with pytest.raises(ForbiddenError, match='invalid'):
        signer.verify_query(PATH, {**params, 'fileName': 'x'}, now=0)
    with pytest.raises(ForbiddenError, match='invalid'):
        Signer(b'other').verify_query(PATH, params, now=0)
    with pytest.raises(ForbiddenError, match='invalid'):
        signer.verify_query(PATH + 'x', params, now=0)
    # Unicode digits that int() refuses (found by schemathesis as a 500)
    for expires in ('-1', '\u00b2', '\u0661\u0662', '1' * 13):
        with pytest.raises(BadRequestError, match='valid `expires`'):
            signer.verify_query(PATH, {**params, 'expires': expires}, now=0)
    with pytest.raises(BadRequestError):
        signer.verify_query(PATH, {k: v for k, v in params.items() if k != 'signature'})


def test_key_is_kept_private(tmp_path: Path):
    directory = tmp_path / 'manifests'
    key = signing_key(None, directory)
    path = directory / '.signing-key'
    assert path.read_bytes() == key and len(key) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Kept: the same key again, from the file
    assert signing_key(None, directory) == key
    # A configured secret wins and writes nothing
    assert signing_key('configured', tmp_path / 'other') == b'configured'
    assert not (tmp_path / 'other').exists()
