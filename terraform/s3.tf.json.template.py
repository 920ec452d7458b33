"""
The bucket of prepared manifests (the `s3` manifest store). Manifests are
derived data, made again on request, so objects expire a day after their
links do (AZUL_MANIFEST_EXPIRATION). Versioning is on because it guards
against a bad deployment overwriting or deleting manifests in bulk, and
costs nothing lasting: an old version is gone after a day.
"""
import math

from azul.deploy.buckets import private_bucket

ACCOUNT = '${data.aws_caller_identity.current.account_id}'


def bucket_name(deployment) -> str:
    # Bucket names are global: the account makes ours unique and predictable
    return deployment.settings.get('AZUL_MANIFEST_BUCKET') \
        or f'{deployment.prefix}-manifests-{ACCOUNT}'


def template(deployment) -> dict:
    days = math.ceil(deployment.config.manifest_expiration / (24 * 3600)) + 1
    resources = private_bucket('manifests', bucket_name(deployment), '${aws_kms_key.azul.arn}', {
        'id': 'expire-manifests',
        'expiration': {'days': days},
        'noncurrent_version_expiration': {'noncurrent_days': 1},
    })
    return {'output': {'manifest_bucket': {'value': '${aws_s3_bucket.manifests.id}'}},
            'resource': resources}
