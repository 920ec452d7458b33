"""
What every S3 bucket of a deployment has, whatever it holds: no public
access, objects owned by the bucket's account, encryption with a KMS key of
ours, versioning, a lifecycle, and a policy refusing requests without TLS.
"""
import json
from typing import Any


def private_bucket(name: str, bucket: str, kms_key_arn: str, rule: dict[str, Any]
                   ) -> dict[str, dict[str, dict]]:
    """
    The resources of a private bucket, by type, each named `name`. `bucket`:
    the bucket's name; `rule`: its lifecycle rule (expirations).
    """
    ref = f'${{aws_s3_bucket.{name}.id}}'
    arn = f'${{aws_s3_bucket.{name}.arn}}'
    tls_only = {
        'Version': '2012-10-17',
        'Statement': [{
            'Sid': 'TLSOnly',
            'Effect': 'Deny',
            'Principal': '*',
            'Action': 's3:*',
            'Resource': [arn, f'{arn}/*'],
            'Condition': {'Bool': {'aws:SecureTransport': 'false'}},
        }],
    }
    return {
        'aws_s3_bucket': {name: {'bucket': bucket}},
        'aws_s3_bucket_public_access_block': {name: {
            'bucket': ref,
            'block_public_acls': True,
            'block_public_policy': True,
            'ignore_public_acls': True,
            'restrict_public_buckets': True,
        }},
        'aws_s3_bucket_ownership_controls': {name: {
            'bucket': ref,
            'rule': {'object_ownership': 'BucketOwnerEnforced'},
        }},
        'aws_s3_bucket_server_side_encryption_configuration': {name: {
            'bucket': ref,
            'rule': [{
                'apply_server_side_encryption_by_default': {
                    'sse_algorithm': 'aws:kms',
                    'kms_master_key_id': kms_key_arn,
                },
                # One KMS request per object instead of per part or read
                'bucket_key_enabled': True,
            }],
        }},
        'aws_s3_bucket_versioning': {name: {
            'bucket': ref,
            'versioning_configuration': {'status': 'Enabled'},
        }},
        'aws_s3_bucket_lifecycle_configuration': {name: {
            'bucket': ref,
            'rule': [{'status': 'Enabled', 'filter': {},
                      'abort_incomplete_multipart_upload': {'days_after_initiation': 1},
                      **rule}],
            'depends_on': [f'aws_s3_bucket_versioning.{name}'],
        }},
        'aws_s3_bucket_policy': {name: {
            'bucket': ref,
            'policy': json.dumps(tls_only),
            'depends_on': [f'aws_s3_bucket_public_access_block.{name}'],
        }},
    }
