"""The AWS OpenSearch Service domain of a deployment that uses the `opensearch` backend."""
from azul.config import Config


def template(config: Config) -> dict:
    if config.index_backend != 'opensearch':
        return {}
    return {
        'resource': {
            'aws_opensearch_domain': {
                'index': {
                    'domain_name': f'azul-index-{config.deployment}',
                    'engine_version': 'OpenSearch_2.19',
                    'cluster_config': {'instance_type': 'r6g.large.search',
                                       'instance_count': 2,
                                       'zone_awareness_enabled': True},
                    'ebs_options': {'ebs_enabled': True, 'volume_size': 100,
                                    'volume_type': 'gp3'},
                    'encrypt_at_rest': {'enabled': True},
                    'node_to_node_encryption': {'enabled': True},
                    'domain_endpoint_options': {'enforce_https': True,
                                                'tls_security_policy':
                                                    'Policy-Min-TLS-1-2-2019-07'},
                }
            }
        }
    }
