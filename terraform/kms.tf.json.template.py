"""
One customer-managed KMS key per deployment for everything it stores at
rest: queues, manifests, logs, the alarm topic, the secret, the search
domain and the functions' environment. An AWS-managed key would do for most,
but CloudWatch Logs and the alarms' SNS topic can only use a key whose
policy admits their services, and one key means one policy to review.
"""
import json


def template(deployment) -> dict:
    account = '${data.aws_caller_identity.current.account_id}'
    partition = '${data.aws_partition.current.partition}'
    region = '${data.aws_region.current.name}'
    policy = {
        'Version': '2012-10-17',
        'Statement': [
            {
                # Delegates to IAM: the roles in iam.tf.json get the key
                # through their own policies, and the deployer manages it
                'Sid': 'Account',
                'Effect': 'Allow',
                'Principal': {'AWS': f'arn:{partition}:iam::{account}:root'},
                'Action': 'kms:*',
                'Resource': '*',
            },
            {
                'Sid': 'Logs',
                'Effect': 'Allow',
                'Principal': {'Service': f'logs.{region}.amazonaws.com'},
                'Action': ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*',
                           'kms:GenerateDataKey*', 'kms:Describe*'],
                'Resource': '*',
                'Condition': {'ArnLike': {'kms:EncryptionContext:aws:logs:arn':
                                          f'arn:{partition}:logs:{region}:{account}:*'}},
            },
            {
                # Alarms publish to the encrypted topic
                'Sid': 'Alarms',
                'Effect': 'Allow',
                'Principal': {'Service': 'cloudwatch.amazonaws.com'},
                'Action': ['kms:Decrypt', 'kms:GenerateDataKey*'],
                'Resource': '*',
                'Condition': {'StringEquals': {'aws:SourceAccount': account}},
            },
        ],
    }
    return {
        'resource': {
            'aws_kms_key': {'azul': {
                'description': f'Azul deployment {deployment.name}: data at rest',
                'enable_key_rotation': True,
                'deletion_window_in_days': 30,
                'policy': json.dumps(policy),
            }},
            'aws_kms_alias': {'azul': {
                'name': f'alias/{deployment.prefix}',
                'target_key_id': '${aws_kms_key.azul.key_id}',
            }},
        },
    }
