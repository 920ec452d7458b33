"""
The deployment's secret `azul/{deployment}`, which the functions read at
start (azul.adapters.aws_secrets). Terraform makes the secret but never its
value, so that no secret is in the state. Put the value (a JSON object of
the secret settings, e.g. AZUL_INDEXER_HMAC_KEY) with

    aws secretsmanager put-secret-value --secret-id azul/dev \\
        --secret-string file://secret.json
"""
from azul.adapters.aws_secrets import secret_id


def template(deployment) -> dict:
    return {'resource': {'aws_secretsmanager_secret': {'azul': {
        'name': secret_id(deployment.name),
        'description': 'Secret settings of the Azul Lambda functions (a JSON object)',
        'kms_key_id': '${aws_kms_key.azul.arn}',
        # A secret deleted by mistake can be restored for a week; a
        # deployment made again under its name must wait as long, or restore
        'recovery_window_in_days': 7,
    }}}}
