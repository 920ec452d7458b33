"""
The secret settings of a Lambda function, read at start from the
deployment's secret in AWS Secrets Manager (`azul/{deployment}`: a JSON object
of setting name -> value), never from its configuration, which anyone allowed
to read the function (or the Terraform state) could see.
"""
import json
from collections.abc import Mapping

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from azul.config import SETTINGS
from azul.errors import ConfigError

_SECRET_NAMES = frozenset(setting.name for setting in SETTINGS if setting.secret)


def secret_id(deployment: str) -> str:
    return f'azul/{deployment}'


def with_secrets(env: Mapping[str, str], client=None) -> dict[str, str]:
    """`env` plus the settings held in the deployment's secret."""
    deployment = env.get('AZUL_DEPLOYMENT')
    if not deployment:
        raise ConfigError('AZUL_DEPLOYMENT is not set, so the deployment\'s secret is unknown')
    name = secret_id(deployment)
    client = client or boto3.client('secretsmanager', region_name=env.get('AZUL_AWS_REGION'))
    try:
        response = client.get_secret_value(SecretId=name)
    except ClientError as e:
        # A deployment without secrets has the secret Terraform made, with no
        # value: Secrets Manager answers that like a missing secret
        if e.response['Error']['Code'] == 'ResourceNotFoundException':
            return dict(env)
        code = e.response['Error']['Code']
        raise ConfigError(f'Cannot read the secret {name!r}: {code}') from None
    except BotoCoreError as e:
        raise ConfigError(f'Cannot read the secret {name!r}: {type(e).__name__}') from None
    # Messages name keys, never values
    try:
        values = json.loads(response.get('SecretString') or '')
    except ValueError:
        raise ConfigError(f'The secret {name!r} is not a JSON object') from None
    if not isinstance(values, dict):
        raise ConfigError(f'The secret {name!r} is not a JSON object')
    unknown = sorted(set(values) - _SECRET_NAMES)
    if unknown:
        raise ConfigError(f'The secret {name!r} holds {", ".join(unknown)}, which are not '
                          f'secret settings (those are: {", ".join(sorted(_SECRET_NAMES))})')
    not_strings = sorted(k for k, v in values.items() if not isinstance(v, str))
    if not_strings:
        raise ConfigError(f'In the secret {name!r} the values of {", ".join(not_strings)} '
                          f'must be strings')
    return {**env, **values}
