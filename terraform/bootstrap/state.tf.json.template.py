"""
The bucket that holds a deployment's Terraform state (`make
terraform-bootstrap`, once per deployment and account). This configuration
keeps its own state in a local file: the bucket cannot hold the state that
creates it. Losing that file loses nothing but the ability to change the
bucket with Terraform (`terraform import` gets it back). Locking needs no
table: Terraform 1.10+ locks the state with S3's conditional writes.
"""
import json

from azul.deploy.buckets import private_bucket
from azul.deploy.terraform import state_bucket

ACCOUNT = '${data.aws_caller_identity.current.account_id}'
PARTITION = '${data.aws_partition.current.partition}'


def template(deployment) -> dict:
    # Every state Terraform wrote stays for 90 days: the way back from an
    # apply that went wrong
    resources = private_bucket('state', state_bucket(deployment.name, ACCOUNT),
                               '${aws_kms_key.state.arn}', {
                                   'id': 'old-states',
                                   'noncurrent_version_expiration': {'noncurrent_days': 90},
                               })
    # Terraform refuses to destroy it with the state of a live deployment inside
    resources['aws_s3_bucket']['state']['lifecycle'] = {'prevent_destroy': True}
    resources['aws_kms_key'] = {'state': {
        'description': f'Azul deployment {deployment.name}: Terraform state',
        'enable_key_rotation': True,
        'deletion_window_in_days': 30,
        'policy': json.dumps({'Version': '2012-10-17', 'Statement': [{
            'Sid': 'Account',
            'Effect': 'Allow',
            'Principal': {'AWS': f'arn:{PARTITION}:iam::{ACCOUNT}:root'},
            'Action': 'kms:*',
            'Resource': '*',
        }]}),
    }}
    return {
        'terraform': {
            'required_providers': {'aws': {'source': 'hashicorp/aws', 'version': '~> 5.100'}},
        },
        'provider': {'aws': {
            'region': deployment.config.aws_region,
            'default_tags': {'tags': {'project': 'azul', 'deployment': deployment.name}},
        }},
        'data': {'aws_caller_identity': {'current': {}}, 'aws_partition': {'current': {}}},
        'resource': resources,
        'output': {'state_bucket': {'value': '${aws_s3_bucket.state.id}'}},
    }
