"""
What the AWS deployments (dev, sandbox, prod) share; each one's
environment.py passes its name. See the root environment.py for every
variable and its default, and `azul.deploy.environment` for which of them
the Lambda functions get. Secrets (AZUL_INDEXER_HMAC_KEY,
AZUL_MANIFEST_SIGNING_KEY, AZUL_GOOGLE_SERVICE_ACCOUNT, ...) are not set here:
they go in the deployment's Secrets Manager secret `azul/{name}` (see README,
Deployment).
"""
import json
from collections.abc import Mapping


def _tdr_catalog(atlas: str, repository: str, *sources: str) -> dict:
    return {
        'atlas': atlas,
        'internal': False,
        'plugins': {'metadata': {'name': atlas}, 'repository': {'name': repository}},
        'sources': list(sources),
    }


def aws_env(name: str) -> Mapping[str, str | None]:
    return {
        # Lambda functions fed by SQS, AWS OpenSearch Service, manifests in S3.
        # The cluster's endpoint and the bucket's name come from the resources
        # Terraform makes; the CLI run against the deployment (`make reindex`)
        # needs both (AZUL_ES_ENDPOINT, AZUL_MANIFEST_BUCKET) in
        # deployments/{name}/environment.local.py, from Terraform's outputs.
        'AZUL_INDEX_BACKEND': 'opensearch',
        'AZUL_QUEUE': 'sqs',
        'AZUL_MANIFEST_STORE': 's3',
        'AZUL_ES_ENDPOINT': None,
        'AZUL_MANIFEST_BUCKET': None,

        # The public URL of the service: its custom domain (API Gateway's own
        # URL carries the stage in its path, which DRS URIs cannot)
        'AZUL_SERVICE_URL': f'https://service.{name}.azul.example.org',

        # Google OAuth2 tokens, groups from Terra's SAM
        'AZUL_AUTH': 'google',

        # AnVIL datasets' descriptions come from DUOS (the DUOS bundles)
        'AZUL_TDR_URL': 'https://data.terra.bio',
        'AZUL_DUOS_URL': 'https://consent.dsde-prod.broadinstitute.org',

        # Production catalogs come from TDR snapshots (BigQuery datasets)
        'AZUL_CATALOGS': json.dumps({
            'dcp': _tdr_catalog('hca', 'tdr_hca',
                                f'tdr:bigquery:gcp:azul-tdr-{name}:hca_{name}_snapshot:'),
            'anvil': _tdr_catalog('anvil', 'tdr_anvil',
                                  f'tdr:bigquery:gcp:azul-tdr-{name}:anvil_{name}_snapshot:'),
        }),
    }
