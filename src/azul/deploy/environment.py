"""
The environment of a deployment's Lambda functions, generated from the same
environment files a developer's shell evaluates (`environment.py`, then
`deployments/<name>/environment.py`, each with its `*.local.py`).

Only settings that apply on Lambda go in, and never a secret: those are read
at run time from the deployment's secret in AWS Secrets Manager
(`azul.adapters.aws_secrets`), so they appear neither in the Terraform state
nor in the function's configuration.
"""
from collections.abc import Mapping
from pathlib import Path

from azul import envfiles
from azul.config import SETTINGS, Config
from azul.errors import ConfigError

#: Settings whose values Terraform supplies from the resources it creates
#: (the domain's endpoint, the bucket's name), with a stand-in of the right
#: form for checking the rest of the environment before they exist
TERRAFORM_PROVIDED: Mapping[str, str] = {
    'AZUL_ES_ENDPOINT': 'https://vpc-azul.us-east-1.es.amazonaws.com',
    'AZUL_MANIFEST_BUCKET': 'azul-manifests',
}

#: Set by the Lambda runtime itself; its presence is what `on_lambda` checks
_LAMBDA_MARKER = {'AWS_LAMBDA_FUNCTION_NAME': 'azul-check'}


def deployment_settings(deployment: str, root: Path | None = None) -> dict[str, str]:
    """Every variable the environment files define for `deployment`."""
    try:
        values = envfiles.evaluate({'AZUL_DEPLOYMENT': deployment}, root)
    except envfiles.EnvironmentFileError as e:
        raise ConfigError(str(e)) from None
    return {**values, 'AZUL_DEPLOYMENT': deployment}


def lambda_environment(deployment: str, root: Path | None = None) -> dict[str, str]:
    """
    The variables of the deployment's Lambda functions, checked the way a
    function checks them at start-up, so that a deployment that could not
    start fails when it is rendered instead.
    """
    values = deployment_settings(deployment, root)
    environment = {
        setting.name: values[setting.name]
        for setting in SETTINGS
        if setting.applies(True) and not setting.secret and setting.name in values
    }
    stand_ins = {k: v for k, v in TERRAFORM_PROVIDED.items() if k not in environment}
    try:
        Config.from_env({**environment, **stand_ins, **_LAMBDA_MARKER})
    except ConfigError as e:
        raise ConfigError(f'Deployment {deployment!r} cannot run on AWS Lambda: {e}') from None
    return environment


def secret_names() -> list[str]:
    """The settings that belong in the deployment's secret, not its environment."""
    return [setting.name for setting in SETTINGS if setting.secret]
