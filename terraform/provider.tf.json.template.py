"""The AWS provider and the remote state of a deployment."""
from azul.config import Config


def template(config: Config) -> dict:
    return {
        'terraform': {
            'required_providers': {'aws': {'source': 'hashicorp/aws', 'version': '~> 5.0'}},
            'backend': {'s3': {'bucket': f'azul-terraform-state-{config.deployment}',
                               'key': 'azul.tfstate',
                               'region': config.aws_region}},
        },
        'provider': {'aws': {'region': config.aws_region}},
    }
