"""
The service's custom domain, the host of AZUL_SERVICE_URL: the service
builds its links (and DRS URIs) from that URL, and API Gateway's own URL has
the stage in its path. The certificate is validated through DNS in the
Route 53 zone of the host's parent domain (service.dev.azul.example.org:
the zone dev.azul.example.org), which must exist in the account: it is
delegated from outside, so Terraform does not make it.
"""
from urllib.parse import urlparse

API = 'service_rest_api'


def template(deployment) -> dict:
    host = urlparse(deployment.config.service_url).hostname
    zone = host.partition('.')[2]
    return {
        'data': {'aws_route53_zone': {'azul': {'name': zone, 'private_zone': False}}},
        'resource': {
            'aws_acm_certificate': {'service': {
                'domain_name': host,
                'validation_method': 'DNS',
                'lifecycle': {'create_before_destroy': True},
            }},
            'aws_route53_record': {
                'service_validation': {
                    'for_each': '${{for o in aws_acm_certificate.service.domain_validation_options'
                                ' : o.domain_name => o}}',
                    'zone_id': '${data.aws_route53_zone.azul.zone_id}',
                    'name': '${each.value.resource_record_name}',
                    'type': '${each.value.resource_record_type}',
                    'records': ['${each.value.resource_record_value}'],
                    'ttl': 300,
                    'allow_overwrite': True,
                },
                'service': {
                    'zone_id': '${data.aws_route53_zone.azul.zone_id}',
                    'name': host,
                    'type': 'A',
                    'alias': {
                        'name': '${aws_api_gateway_domain_name.service.regional_domain_name}',
                        'zone_id': '${aws_api_gateway_domain_name.service.regional_zone_id}',
                        'evaluate_target_health': False,
                    },
                },
            },
            'aws_acm_certificate_validation': {'service': {
                'certificate_arn': '${aws_acm_certificate.service.arn}',
                'validation_record_fqdns':
                    '${[for r in aws_route53_record.service_validation : r.fqdn]}',
            }},
            'aws_api_gateway_domain_name': {'service': {
                'domain_name': host,
                'regional_certificate_arn':
                    '${aws_acm_certificate_validation.service.certificate_arn}',
                'endpoint_configuration': {'types': ['REGIONAL']},
                'security_policy': 'TLS_1_2',
            }},
            'aws_api_gateway_base_path_mapping': {'service': {
                'api_id': f'${{aws_api_gateway_rest_api.{API}.id}}',
                'stage_name': f'${{aws_api_gateway_stage.{API}.stage_name}}',
                'domain_name': '${aws_api_gateway_domain_name.service.domain_name}',
            }},
        },
        'output': {'service_domain_url': {'value': f'https://{host}/'}},
    }
