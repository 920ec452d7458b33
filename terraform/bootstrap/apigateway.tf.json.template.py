"""
The role API Gateway writes the stages' logs with. It is a setting of the
account and region (`aws_api_gateway_account`), not of a deployment, and
API Gateway refuses a stage with logging while it is unset, so it is made
before any deployment. Each deployment's bootstrap sets it to a role of its
own with the same permissions; the last one applied is the one in use, and
destroying that bootstrap leaves the setting pointing at nothing.
"""
from azul.deploy.terraform import assume_role_policy


def template(deployment) -> dict:
    return {'resource': {
        'aws_iam_role': {'apigateway': {
            'name': f'{deployment.prefix}-apigateway-logs',
            'assume_role_policy': assume_role_policy('apigateway.amazonaws.com'),
        }},
        'aws_iam_role_policy_attachment': {'apigateway': {
            'role': '${aws_iam_role.apigateway.name}',
            'policy_arn': 'arn:${data.aws_partition.current.partition}:iam::aws:policy/'
                          'service-role/AmazonAPIGatewayPushToCloudWatchLogs',
        }},
        'aws_api_gateway_account': {'account': {
            'cloudwatch_role_arn': '${aws_iam_role.apigateway.arn}',
        }},
    }}
