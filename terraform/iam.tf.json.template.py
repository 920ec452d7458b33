"""
One role per Chalice app, allowed what its code calls and nothing else (in
place of the role Chalice makes, which may read every queue of the account).
Both functions read the deployment's secret at start and use the KMS key
that encrypts queues, bucket and secret.
"""
import json

from azul.deploy.terraform import assume_role_policy
from azul.indexer.queue import QUEUES

P = '${data.aws_partition.current.partition}'
REGION = '${data.aws_region.current.name}'
ACCOUNT = '${data.aws_caller_identity.current.account_id}'

QUEUE_ARNS = [f'${{aws_sqs_queue.{queue}{fail}.arn}}' for queue in QUEUES for fail in ('', '_fail')]
DOMAIN_ARNS = ['${aws_opensearch_domain.index.arn}', '${aws_opensearch_domain.index.arn}/*']


def _statement(sid: str, actions: list[str], resources: list[str]) -> dict:
    return {'Sid': sid, 'Effect': 'Allow', 'Action': actions, 'Resource': resources}


def _common(deployment, app: str) -> list[dict]:
    return [
        # Terraform makes the log groups (see azul.deploy.chalice), so the
        # functions only write to them
        _statement('Logs', ['logs:CreateLogStream', 'logs:PutLogEvents'],
                   [f'arn:{P}:logs:{REGION}:{ACCOUNT}:log-group:'
                    f'/aws/lambda/azul-{app}-{deployment.name}*:*']),
        # X-Ray has no resource-level permissions: `*` is the only resource
        _statement('Tracing', ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], ['*']),
        _statement('Secret', ['secretsmanager:GetSecretValue'],
                   ['${aws_secretsmanager_secret.azul.arn}']),
        _statement('Key', ['kms:Decrypt', 'kms:GenerateDataKey'], ['${aws_kms_key.azul.arn}']),
    ]


def _policies(deployment) -> dict[str, list[dict]]:
    opensearch = deployment.config.index_backend == 'opensearch'
    indexer = [
        *_common(deployment, 'indexer'),
        # The event sources receive and delete with the function's role;
        # the function itself sends tallies, shortens a failed message's
        # visibility (its retry back-off) and feeds fail queues back
        _statement('Queues', ['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage',
                              'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes',
                              'sqs:GetQueueUrl'], QUEUE_ARNS),
    ]
    service = [
        *_common(deployment, 'service'),
        # /health reports the queues' depths
        _statement('Queues', ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl'], QUEUE_ARNS),
        _statement('Manifests', ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
                   ['${aws_s3_bucket.manifests.arn}/*']),
        # Without it a missing manifest answers 403 instead of 404
        _statement('ManifestsList', ['s3:ListBucket'], ['${aws_s3_bucket.manifests.arn}']),
    ]
    if opensearch:
        indexer.append(_statement('Index', ['es:ESHttpGet', 'es:ESHttpHead', 'es:ESHttpPost',
                                            'es:ESHttpPut', 'es:ESHttpDelete'], DOMAIN_ARNS))
        service.append(_statement('Index', ['es:ESHttpGet', 'es:ESHttpHead', 'es:ESHttpPost'],
                                  DOMAIN_ARNS))
    return {'indexer': indexer, 'service': service}


def template(deployment) -> dict:
    assume = assume_role_policy('lambda.amazonaws.com')
    policies = _policies(deployment)
    return {'resource': {
        'aws_iam_role': {
            app: {'name': f'{deployment.prefix}-{app}', 'assume_role_policy': assume}
            for app in policies
        },
        'aws_iam_role_policy': {
            app: {
                'name': f'{deployment.prefix}-{app}',
                'role': f'${{aws_iam_role.{app}.id}}',
                'policy': json.dumps({'Version': '2012-10-17', 'Statement': statements}),
            }
            for app, statements in policies.items()
        },
    }}
