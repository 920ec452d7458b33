"""
Settings of the `prod` deployment; see the root environment.py for every
variable and its default.
"""
from collections.abc import Mapping


def env() -> Mapping[str, str | None]:
    return {
        # Deployed to AWS: Lambda functions fed by SQS, AWS OpenSearch Service.
        'AZUL_INDEX_BACKEND': 'opensearch',
        'AZUL_QUEUE': 'sqs',
        # The cluster endpoint is deployment-specific; set it in environment.local.py
        'AZUL_ES_ENDPOINT': None,
    }
