"""
The bucket that holds a deployment's Terraform state (`make
terraform-bootstrap`, once per deployment and account). This configuration
keeps its own state in a local file: the bucket cannot hold the state that
creates it. Losing that file loses nothing but the ability to change the
bucket with Terraform (`terraform import` gets it back). Locking needs no
table: Terraform 1.10+ locks the state with S3's conditional writes.
"""
import json

from azul.deploy.terraform import state_bucket

ACCOUNT = '${data.aws_caller_identity.current.account_id}'
PARTITION = '${data.aws_partition.current.partition}'


def template(deployment) -> dict:
    bucket = '${aws_s3_bucket.state.id}'
    tls_only = {
        'Version': '2012-10-17',
        'Statement': [{
            'Sid': 'TLSOnly',
            'Effect': 'Deny',
            'Principal': '*',
            'Action': 's3:*',
            'Resource': ['${aws_s3_bucket.state.arn}', '${aws_s3_bucket.state.arn}/*'],
            'Condition': {'Bool': {'aws:SecureTransport': 'false'}},
        }],
    }
    return {
        'terraform': {
            'required_providers': {'aws': {'source': 'hashicorp/aws', 'version': '~> 5.100'}},
        },
        'provider': {'aws': {
            'region': deployment.config.aws_region,
            'default_tags': {'tags': {'project': 'azul', 'deployment': deployment.name}},
        }},
        'data': {'aws_caller_identity': {'current': {}}, 'aws_partition': {'current': {}}},
        'resource': {
            'aws_s3_bucket': {'state': {
                'bucket': state_bucket(deployment.name, ACCOUNT),
                # Terraform refuses to destroy it with the state of a live
                # deployment inside
                'lifecycle': {'prevent_destroy': True},
            }},
            'aws_s3_bucket_public_access_block': {'state': {
                'bucket': bucket,
                'block_public_acls': True,
                'block_public_policy': True,
                'ignore_public_acls': True,
                'restrict_public_buckets': True,
            }},
            'aws_s3_bucket_ownership_controls': {'state': {
                'bucket': bucket,
                'rule': {'object_ownership': 'BucketOwnerEnforced'},
            }},
            'aws_s3_bucket_server_side_encryption_configuration': {'state': {
                'bucket': bucket,
                'rule': [{'apply_server_side_encryption_by_default': {
                    'sse_algorithm': 'aws:kms',
                    'kms_master_key_id': '${aws_kms_key.state.arn}',
                }, 'bucket_key_enabled': True}],
            }},
            'aws_kms_key': {'state': {
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
            }},
            # Every state Terraform wrote stays for 90 days: the way back
            # from an apply that went wrong
            'aws_s3_bucket_versioning': {'state': {
                'bucket': bucket,
                'versioning_configuration': {'status': 'Enabled'},
            }},
            'aws_s3_bucket_lifecycle_configuration': {'state': {
                'bucket': bucket,
                'rule': [{
                    'id': 'old-states',
                    'status': 'Enabled',
                    'filter': {},
                    'noncurrent_version_expiration': {'noncurrent_days': 90},
                    'abort_incomplete_multipart_upload': {'days_after_initiation': 1},
                }],
                'depends_on': ['aws_s3_bucket_versioning.state'],
            }},
            'aws_s3_bucket_policy': {'state': {
                'bucket': bucket,
                'policy': json.dumps(tls_only),
                'depends_on': ['aws_s3_bucket_public_access_block.state'],
            }},
        },
        'output': {'state_bucket': {'value': bucket}},
    }
