"""
The TDR source spec grammar. The good and bad specs, and what they parse to,
are those of the original Azul's doctests of `TDRSourceSpec` and `Prefix`.
"""
import pytest

from azul.plugins.repository.tdr.spec import TDRSourceSpec

parse = TDRSourceSpec.parse


@pytest.mark.parametrize('text', [
    'tdr:bigquery:gcp:foo:bar:/0',
    'tdr:bigquery:gcp:foo:bar:22/0',
    'tdr:bigquery:gcp:foo:bar:22/2',
    'tdr:bigquery:gcp:foo:bar:',
    'tdr:bigquery:gcp:foo:bar:42',
    'tdr:bigquery:gcp:tdr-fp-a02eee6b:hca_prod_1bdcecde16be420888f478cd2133d11d__20211013:/0',
    'tdr:bigquery:gcp:datarepo-1dbff5cd:ANVIL_1000G_2019_Dev_20230609_ANV5_202306121732:/1',
])
def test_round_trip(text):
    assert str(parse(text)) == text


def test_fields():
    spec = parse('tdr:bigquery:gcp:foo:bar:/0')
    assert spec == TDRSourceSpec(project='foo', name='bar', common='', partition=0)
    assert (spec.type, spec.domain) == ('bigquery', 'gcp')
    spec = parse('tdr:bigquery:gcp:foo:bar:42/2')
    assert (spec.common, spec.partition) == ('42', 2)
    spec = parse('tdr:bigquery:gcp:foo:bar:')
    assert (spec.common, spec.partition) == ('', None)


def test_qualify_table():
    assert parse('tdr:bigquery:gcp:foo:bar:/0').qualify_table('links') == 'foo.bar.links'


def test_contains():
    # The original's `contains` doctests
    p = parse
    assert p('tdr:bigquery:gcp:foo:bar:/0').contains(p('tdr:bigquery:gcp:foo:bar:/0'))
    assert not p('tdr:bigquery:gcp:foo:bar:/0').contains(p('tdr:bigquery:gcp:bar:bar:/0'))
    assert not p('tdr:bigquery:gcp:foo:bar:/0').contains(p('tdr:bigquery:gcp:foo:baz:/0'))
    assert p('tdr:bigquery:gcp:foo:bar:4/0').contains(p('tdr:bigquery:gcp:foo:bar:42/0'))
    assert not p('tdr:bigquery:gcp:foo:bar:42/0').contains(p('tdr:bigquery:gcp:foo:bar:4/0'))


@pytest.mark.parametrize('text, problem', [
    ('tdr:spam:gcp:foo:bar:/0', "'spam' is not a valid type"),
    ('tdr:bigquery:eggs:foo:bar:/0', "'eggs' is not a valid domain"),
    ('tdr:parquet:gcp:foo:bar:/0', 'Parquet sources are not yet supported'),
    ('tdr:bigquery:azure:foo:bar:/0', 'Azure sources are not yet supported'),
    ('tdr:bigquery:gcp:foo:bar:n32/0', "'n32' is not a valid UUID prefix"),
    ('tdr:bigquery:gcp:foo:bar:8F53/0', "'8F53' is not a valid UUID prefix"),
    ('tdr:bigquery:gcp:foo:bar:aa/bb', "partition prefix length 'bb' must be an integer"),
    ('tdr:bigquery:gcp:foo:bar:aa/', "partition prefix length '' must be an integer"),
    ('tdr:bigquery:gcp:foo:bar:8f538f53/1', 'exceed 8 characters'),
    ('tdr:bigquery:gcp:foo:bar:/02', 'not in canonical form'),
    ('tdr:bigquery:gcp:foo:bar', 'expected tdr:bigquery:gcp:'),
    ('tdr:foo:snapshot/bar:/0', 'expected tdr:bigquery:gcp:'),
    ('dss:bigquery:gcp:foo:bar:/0', 'expected tdr:bigquery:gcp:'),
    ('tdr:bigquery:gcp:Foo:bar:/0', "'Foo' is not a valid Google Cloud project id"),
    ('tdr:bigquery:gcp::bar:/0', "'' is not a valid Google Cloud project id"),
    ('tdr:bigquery:gcp:foo:bar-baz:/0', "'bar-baz' is not a valid snapshot"),
    ('tdr:bigquery:gcp:foo::/0', "'' is not a valid snapshot"),
])
def test_bad(text, problem):
    with pytest.raises(ValueError) as e:
        parse(text)
    message = str(e.value)
    assert repr(text) in message
    assert problem in message
