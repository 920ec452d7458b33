"""
The AWS OpenSearch Service domain of a deployment that uses the `opensearch`
backend.

Access is by IAM: requests are signed (AZUL_ES_SIGV4) and the domain's
policy admits the two Lambda roles and the account's principals whose own
IAM policy grants es:ESHttp* on the domain (an operator running `make
reindex`); nobody else, and no password. Not in a VPC: the functions would
have to be in it too, with a NAT gateway for TDR and Google, for no gain in
who may call the domain. Fine-grained access control (and with it audit
logs) is off: its users and roles live in the security plugin, where the
AWS provider cannot map our roles, and the IAM policy already decides.

Azul's aggregations (`azul_facet_counts`, `azul_summary`: the facets of
filtered pages and the summaries from what they keep per segment, see
scripts/opensearch/README.md) go onto the domain as a custom plugin: the
zip that scripts/opensearch/plugin.py builds at rendering, uploaded here to
a bucket of its own (the manifests' bucket expires its objects), under a
key holding the zip's MD5. The package itself is made and associated by
`azul.deploy.opensearch_plugin`, which `make deploy` runs after `terraform
apply` with the output `opensearch_plugin`: the pinned AWS provider's
`aws_opensearch_package` cannot name the engine version a plugin package
needs. Without the plugin (say, in a region whose domains take no custom
plugins) the backend finds the aggregations missing and uses OpenSearch's
own, as before.
"""
import json

from azul.deploy.buckets import private_bucket

DEDICATED_MASTERS = 3
LOGS = ('INDEX_SLOW_LOGS', 'SEARCH_SLOW_LOGS', 'ES_APPLICATION_LOGS')
ENGINE_VERSION = 'OpenSearch_2.19'
ACCOUNT = '${data.aws_caller_identity.current.account_id}'


def plugin(deployment) -> tuple[dict[str, dict], dict[str, str]]:
    """
    The resources that upload Azul's aggregations, by type, and what
    `azul.deploy.opensearch_plugin` needs to install them.
    """
    source, digest = deployment.opensearch_plugin()
    resources = private_bucket('packages', f'{deployment.prefix}-packages-{ACCOUNT}',
                               '${aws_kms_key.azul.arn}', {
                                   'id': 'expire-old-versions',
                                   'noncurrent_version_expiration': {'noncurrent_days': 30},
                               })
    resources['aws_s3_object'] = {'opensearch_plugin': {
        'bucket': '${aws_s3_bucket.packages.id}',
        'key': f'opensearch/azul-aggregations-{digest}.zip',
        'source': source,
        'kms_key_id': '${aws_kms_key.azul.arn}',
    }}
    install = {
        # Another build, another package: earlier builds' share the name's prefix
        'package_name': f'{deployment.prefix}-aggs-{digest[:8]}',
        'bucket': '${aws_s3_bucket.packages.id}',
        'key': '${aws_s3_object.opensearch_plugin.key}',
        'domain': '${aws_opensearch_domain.index.domain_name}',
        'engine_version': ENGINE_VERSION,
        'description': "Azul's aggregations azul_facet_counts and azul_summary",
    }
    return resources, install


def template(deployment) -> dict:
    if deployment.config.index_backend != 'opensearch':
        return {}
    name = f'azul-index-{deployment.name}'
    arn = '${aws_opensearch_domain.index.arn}'
    log_groups = {
        log.lower(): {
            'name': f'/aws/opensearch/{name}/{log.lower()}',
            'retention_in_days': 365,
            'kms_key_id': '${aws_kms_key.azul.arn}',
        }
        for log in LOGS
    }
    # OpenSearch Service writes its logs under the service's identity, which
    # a log group's resource policy must admit
    log_policy = {
        'Version': '2012-10-17',
        'Statement': [{
            'Effect': 'Allow',
            'Principal': {'Service': 'es.amazonaws.com'},
            'Action': ['logs:PutLogEvents', 'logs:CreateLogStream'],
            'Resource': [f'${{aws_cloudwatch_log_group.{k}.arn}}:*' for k in log_groups],
            'Condition': {'StringEquals': {
                'aws:SourceAccount': '${data.aws_caller_identity.current.account_id}'}},
        }],
    }
    access_policy = {
        'Version': '2012-10-17',
        'Statement': [{
            'Effect': 'Allow',
            'Principal': {'AWS': [
                '${aws_iam_role.indexer.arn}',
                '${aws_iam_role.service.arn}',
                'arn:${data.aws_partition.current.partition}:iam::'
                '${data.aws_caller_identity.current.account_id}:root',
            ]},
            'Action': 'es:ESHttp*',
            'Resource': f'{arn}/*',
        }],
    }
    plugin_resources, install = plugin(deployment)
    return {
        'resource': {
            'aws_cloudwatch_log_group': log_groups,
            'aws_cloudwatch_log_resource_policy': {'opensearch': {
                'policy_name': f'{name}-logs',
                'policy_document': json.dumps(log_policy),
            }},
            'aws_opensearch_domain': {'index': {
                'domain_name': name,
                'engine_version': ENGINE_VERSION,
                'cluster_config': {
                    'instance_type': 'r6g.large.search',
                    'instance_count': 2,
                    'zone_awareness_enabled': True,
                    'zone_awareness_config': {'availability_zone_count': 2},
                    # Elections need a quorum of nodes that hold no data
                    'dedicated_master_enabled': True,
                    'dedicated_master_count': DEDICATED_MASTERS,
                    'dedicated_master_type': 'm6g.large.search',
                },
                'ebs_options': {'ebs_enabled': True, 'volume_size': 100, 'volume_type': 'gp3'},
                'encrypt_at_rest': {'enabled': True, 'kms_key_id': '${aws_kms_key.azul.arn}'},
                'node_to_node_encryption': {'enabled': True},
                'domain_endpoint_options': {'enforce_https': True,
                                            'tls_security_policy': 'Policy-Min-TLS-1-2-2019-07'},
                'log_publishing_options': [
                    {'log_type': log,
                     'cloudwatch_log_group_arn': f'${{aws_cloudwatch_log_group.{log.lower()}.arn}}'}
                    for log in LOGS
                ],
                'depends_on': ['aws_cloudwatch_log_resource_policy.opensearch'],
            }},
            'aws_opensearch_domain_policy': {'index': {
                'domain_name': '${aws_opensearch_domain.index.domain_name}',
                'access_policies': json.dumps(access_policy),
            }},
            **plugin_resources,
        },
        'output': {'es_endpoint': {'value': 'https://${aws_opensearch_domain.index.endpoint}'},
                   'opensearch_plugin': {'value': install}},
    }
