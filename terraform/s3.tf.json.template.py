"""
The bucket of prepared manifests (the `s3` manifest store). Manifests are
derived data, made again on request, so objects expire a day after their
links do (AZUL_MANIFEST_EXPIRATION). Versioning is on because it guards
against a bad deployment overwriting or deleting manifests in bulk, and
costs nothing lasting: an old version is gone after a day.
"""
import json
import math

ACCOUNT = '${data.aws_caller_identity.current.account_id}'


def bucket_name(deployment) -> str:
    # Bucket names are global: the account makes ours unique and predictable
    return deployment.settings.get('AZUL_MANIFEST_BUCKET') \
        or f'{deployment.prefix}-manifests-{ACCOUNT}'


def template(deployment) -> dict:
    days = math.ceil(deployment.config.manifest_expiration / (24 * 3600)) + 1
    bucket = '${aws_s3_bucket.manifests.id}'
    deny_http = {
        'Version': '2012-10-17',
        'Statement': [{
            'Sid': 'TLSOnly',
            'Effect': 'Deny',
            'Principal': '*',
            'Action': 's3:*',
            'Resource': ['${aws_s3_bucket.manifests.arn}', '${aws_s3_bucket.manifests.arn}/*'],
            'Condition': {'Bool': {'aws:SecureTransport': 'false'}},
        }],
    }
    return {'output': {'manifest_bucket': {'value': bucket}}, 'resource': {
        'aws_s3_bucket': {'manifests': {'bucket': bucket_name(deployment)}},
        'aws_s3_bucket_public_access_block': {'manifests': {
            'bucket': bucket,
            'block_public_acls': True,
            'block_public_policy': True,
            'ignore_public_acls': True,
            'restrict_public_buckets': True,
        }},
        'aws_s3_bucket_ownership_controls': {'manifests': {
            'bucket': bucket,
            'rule': {'object_ownership': 'BucketOwnerEnforced'},
        }},
        'aws_s3_bucket_server_side_encryption_configuration': {'manifests': {
            'bucket': bucket,
            'rule': [{
                'apply_server_side_encryption_by_default': {
                    'sse_algorithm': 'aws:kms',
                    'kms_master_key_id': '${aws_kms_key.azul.arn}',
                },
                # One KMS request per object instead of per part or read
                'bucket_key_enabled': True,
            }],
        }},
        'aws_s3_bucket_versioning': {'manifests': {
            'bucket': bucket,
            'versioning_configuration': {'status': 'Enabled'},
        }},
        'aws_s3_bucket_lifecycle_configuration': {'manifests': {
            'bucket': bucket,
            'rule': [{
                'id': 'expire-manifests',
                'status': 'Enabled',
                'filter': {},
                'expiration': {'days': days},
                'noncurrent_version_expiration': {'noncurrent_days': 1},
                'abort_incomplete_multipart_upload': {'days_after_initiation': 1},
            }],
            'depends_on': ['aws_s3_bucket_versioning.manifests'],
        }},
        'aws_s3_bucket_policy': {'manifests': {
            'bucket': bucket,
            'policy': json.dumps(deny_http),
            'depends_on': ['aws_s3_bucket_public_access_block.manifests'],
        }},
    }}
