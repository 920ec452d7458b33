"""
Installing Azul's aggregations on an OpenSearch Service domain
(`azul.deploy.opensearch_plugin`), against botocore's own Stubber, which
checks every request against the service's model (moto 5.2 has no packages
of OpenSearch Service). Each case lists, by hand, the calls the service's
API needs for it, in order.
"""
import boto3
import pytest
from botocore.stub import Stubber

from azul.deploy.opensearch_plugin import Plugin, PluginError, install

PLUGIN = Plugin(package_name='azul-dev-aggs-0123abcd', bucket='azul-dev-packages-1',
                key='opensearch/azul-aggregations-0123abcd.zip', domain='azul-index-dev',
                engine_version='OpenSearch_2.19', description='Azul')
BY_NAME = {'Filters': [{'Name': 'PackageName', 'Value': ['azul-dev-aggs-0123abcd']}]}
DOMAIN = {'DomainName': 'azul-index-dev'}


def _package(status: str, package_id: str = 'pkg-1', **extra) -> dict:
    return {'PackageID': package_id, 'PackageName': PLUGIN.package_name,
            'PackageType': 'ZIP-PLUGIN', 'PackageStatus': status, **extra}


def _on_domain(*packages: tuple[str, str, str]) -> dict:
    return {'DomainPackageDetailsList': [
        {'PackageID': i, 'PackageName': n, 'PackageType': 'ZIP-PLUGIN',
         'DomainName': 'azul-index-dev', 'DomainPackageStatus': s} for i, n, s in packages]}


@pytest.fixture
def stubbed():
    client = boto3.client('opensearch', region_name='us-east-1',
                          aws_access_key_id='x', aws_secret_access_key='x')
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_a_first_install(stubbed):
    client, stub = stubbed
    sleeps = []
    stub.add_response('describe_packages', {'PackageDetailsList': []}, BY_NAME)
    stub.add_response('create_package', {'PackageDetails': _package('COPYING')}, {
        'PackageName': 'azul-dev-aggs-0123abcd', 'PackageType': 'ZIP-PLUGIN',
        'PackageDescription': 'Azul', 'EngineVersion': 'OpenSearch_2.19',
        'PackageSource': {'S3BucketName': 'azul-dev-packages-1',
                          'S3Key': 'opensearch/azul-aggregations-0123abcd.zip'}})
    # Copied and checked by the service, then associated: a blue/green deployment
    stub.add_response('describe_packages', {'PackageDetailsList': [_package('VALIDATING')]},
                      BY_NAME)
    stub.add_response('describe_packages', {'PackageDetailsList': [_package('AVAILABLE')]},
                      BY_NAME)
    stub.add_response('list_packages_for_domain', _on_domain(), DOMAIN)
    stub.add_response('associate_package', {}, {'PackageID': 'pkg-1', **DOMAIN})
    stub.add_response('list_packages_for_domain',
                      _on_domain(('pkg-1', PLUGIN.package_name, 'ASSOCIATING')), DOMAIN)
    stub.add_response('list_packages_for_domain',
                      _on_domain(('pkg-1', PLUGIN.package_name, 'ACTIVE')), DOMAIN)
    # No earlier build on the domain
    stub.add_response('list_packages_for_domain',
                      _on_domain(('pkg-1', PLUGIN.package_name, 'ACTIVE')), DOMAIN)
    assert install(client, PLUGIN, sleep=sleeps.append, every=5.0) == 'pkg-1'
    assert sleeps == [5.0, 5.0]


def test_again_changes_nothing(stubbed):
    client, stub = stubbed
    active = _on_domain(('pkg-1', PLUGIN.package_name, 'ACTIVE'))
    stub.add_response('describe_packages', {'PackageDetailsList': [_package('AVAILABLE')]},
                      BY_NAME)
    stub.add_response('describe_packages', {'PackageDetailsList': [_package('AVAILABLE')]},
                      BY_NAME)
    for _ in range(3):
        stub.add_response('list_packages_for_domain', active, DOMAIN)
    assert install(client, PLUGIN, sleep=pytest.fail) == 'pkg-1'


def test_an_earlier_build_is_replaced(stubbed):
    client, stub = stubbed
    ours = ('pkg-1', PLUGIN.package_name, 'ACTIVE')
    earlier = ('pkg-0', 'azul-dev-aggs-ffff0000', 'ACTIVE')
    # Another deployment's, in the same account, on another domain name
    # would not be listed; one of another family on ours is left alone
    other = ('pkg-9', 'synonyms', 'ACTIVE')
    stub.add_response('describe_packages', {'PackageDetailsList': [_package('AVAILABLE')]},
                      BY_NAME)
    stub.add_response('describe_packages', {'PackageDetailsList': [_package('AVAILABLE')]},
                      BY_NAME)
    stub.add_response('list_packages_for_domain', _on_domain(ours, earlier, other), DOMAIN)
    stub.add_response('list_packages_for_domain', _on_domain(ours, earlier, other), DOMAIN)
    stub.add_response('list_packages_for_domain', _on_domain(ours, earlier, other), DOMAIN)
    stub.add_response('dissociate_package', {}, {'PackageID': 'pkg-0', **DOMAIN})
    stub.add_response('list_packages_for_domain',
                      _on_domain(ours, ('pkg-0', earlier[1], 'DISSOCIATING'), other), DOMAIN)
    stub.add_response('list_packages_for_domain', _on_domain(ours, other), DOMAIN)
    stub.add_response('delete_package', {}, {'PackageID': 'pkg-0'})
    sleeps = []
    assert install(client, PLUGIN, sleep=sleeps.append, every=5.0) == 'pkg-1'
    assert sleeps == [5.0]


def test_a_package_the_service_refuses_fails_naming_why(stubbed):
    client, stub = stubbed
    stub.add_response('describe_packages', {'PackageDetailsList': []}, BY_NAME)
    stub.add_response('create_package', {'PackageDetails': _package('COPYING')}, None)
    error = {'ErrorType': 'ValidationFailure', 'ErrorMessage': 'Unsupported plugin version'}
    stub.add_response('describe_packages', {'PackageDetailsList': [
        _package('VALIDATION_FAILED', ErrorDetails=error)]}, BY_NAME)
    with pytest.raises(PluginError, match='VALIDATION_FAILED.*Unsupported plugin version'):
        install(client, PLUGIN, sleep=pytest.fail)


def test_a_package_that_never_gets_ready_times_out(stubbed):
    client, stub = stubbed
    for _ in range(4):
        stub.add_response('describe_packages',
                          {'PackageDetailsList': [_package('VALIDATING')]}, BY_NAME)
    sleeps = []
    with pytest.raises(PluginError, match='still VALIDATING after 10 s'):
        install(client, PLUGIN, sleep=sleeps.append, timeout=10.0, every=5.0)
    assert sleeps == [5.0, 5.0]
