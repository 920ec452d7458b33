"""
Installs Azul's aggregations (scripts/opensearch/plugin.py) on a
deployment's Amazon OpenSearch Service domain as a custom plugin: imports
the zip that Terraform uploaded as a package of type ZIP-PLUGIN for the
domain's engine, associates it with the domain (a blue/green deployment of
the domain, which this waits for), and dissociates and deletes the packages
of earlier builds.

Terraform makes the bucket and uploads the zip (terraform/
opensearch.tf.json.template.py), but the pinned AWS provider (5.100) cannot
make the package: its `aws_opensearch_package` has no `engine_version`,
without which the service makes a plugin package for its newest engine,
which a 2.19 domain refuses. `make deploy` therefore runs this after
`terraform apply`, with Terraform's output `opensearch_plugin`::

    terraform output -json opensearch_plugin | python -m azul.deploy.opensearch_plugin

Running it again changes nothing: a package of the same name (the zip's
digest is in it) is reused, an association kept.
"""
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import attrs

from azul.errors import AzulError


class PluginError(AzulError):
    pass


@attrs.frozen
class Plugin:
    """What Terraform's output `opensearch_plugin` says of the package to install."""
    #: The package's name, `<prefix>-aggs-<digest>`; earlier builds' share the prefix
    package_name: str
    bucket: str
    key: str
    domain: str
    engine_version: str
    description: str = ''

    @property
    def family(self) -> str:
        return self.package_name.rsplit('-', 1)[0] + '-'


def _package(client, name: str) -> dict[str, Any] | None:
    found = client.describe_packages(Filters=[{'Name': 'PackageName', 'Value': [name]}])
    details = found.get('PackageDetailsList', [])
    return details[0] if details else None


def _domain_packages(client, domain: str) -> list[dict[str, Any]]:
    packages, token = [], None
    while True:
        page = client.list_packages_for_domain(DomainName=domain,
                                               **({'NextToken': token} if token else {}))
        packages += page.get('DomainPackageDetailsList', [])
        token = page.get('NextToken')
        if not token:
            return packages


def _await(poll: Callable[[], dict[str, Any]], field: str, done: str, failed: set[str],
           what: str, sleep: Callable[[float], None], timeout: float, every: float) -> dict:
    waited = 0.0
    while True:
        state = poll()
        status = state.get(field)
        if status == done:
            return state
        if status in failed:
            raise PluginError(f'{what}: {status}: {state.get("ErrorDetails", {})}')
        if waited >= timeout:
            raise PluginError(f'{what}: still {status} after {timeout:.0f} s')
        sleep(every)
        waited += every


def install(client, plugin: Plugin, sleep: Callable[[float], None] = time.sleep,
            timeout: float = 3 * 3600, every: float = 30.0) -> str:
    """Makes the plugin's package active on the domain; returns its id."""
    package = _package(client, plugin.package_name)
    if package is None:
        package = client.create_package(
            PackageName=plugin.package_name,
            PackageType='ZIP-PLUGIN',
            PackageDescription=plugin.description,
            PackageSource={'S3BucketName': plugin.bucket, 'S3Key': plugin.key},
            EngineVersion=plugin.engine_version,
        )['PackageDetails']
    package_id = package['PackageID']
    # The service copies the zip and checks it (descriptor, versions, code)
    _await(lambda: _package(client, plugin.package_name) or {}, 'PackageStatus', 'AVAILABLE',
           {'COPY_FAILED', 'VALIDATION_FAILED', 'DELETING', 'DELETED'},
           f'Package {plugin.package_name}', sleep, timeout, every)

    def association(package_id: str, gone: dict[str, Any]) -> Callable[[], dict[str, Any]]:
        return lambda: next((p for p in _domain_packages(client, plugin.domain)
                             if p['PackageID'] == package_id), gone)

    ours = association(package_id, {})
    if not ours():
        client.associate_package(PackageID=package_id, DomainName=plugin.domain)
    _await(ours, 'DomainPackageStatus', 'ACTIVE', {'ASSOCIATION_FAILED'},
           f'Association of {plugin.package_name} with {plugin.domain}', sleep, timeout, every)
    # Earlier builds: off the domain (another blue/green deployment), then gone
    for old in _domain_packages(client, plugin.domain):
        if old['PackageName'].startswith(plugin.family) and old['PackageID'] != package_id:
            client.dissociate_package(PackageID=old['PackageID'], DomainName=plugin.domain)
            _await(association(old['PackageID'], {'DomainPackageStatus': 'DISSOCIATED'}),
                   'DomainPackageStatus', 'DISSOCIATED', {'DISSOCIATION_FAILED'},
                   f'Dissociation of {old["PackageName"]}', sleep, timeout, every)
            client.delete_package(PackageID=old['PackageID'])
    return package_id


def main(argv: list[str] | None = None) -> int:
    import boto3
    output = json.load(sys.stdin)
    plugin = Plugin(**output)
    package_id = install(boto3.client('opensearch'), plugin)
    print(f'{plugin.package_name} ({package_id}) is active on {plugin.domain}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
