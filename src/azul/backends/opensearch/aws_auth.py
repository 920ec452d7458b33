"""
Requests to AWS OpenSearch Service signed with Signature Version 4.

A domain's access policy admits IAM principals, not passwords: each request is
signed with the credentials of the Lambda's role (or of whoever runs the CLI
against a deployment), which boto3 finds and refreshes on its own.
"""
import boto3
from opensearchpy import Urllib3AWSV4SignerAuth

from azul.errors import ConfigError

# The signing name of OpenSearch Service domains (not `aoss`, which is Serverless)
SERVICE = 'es'


def sigv4_auth(region: str) -> Urllib3AWSV4SignerAuth:
    credentials = boto3.Session().get_credentials()
    if credentials is None:
        # Fail at start-up rather than sending unsigned requests the domain refuses
        raise ConfigError('AZUL_ES_SIGV4 needs AWS credentials (environment, profile or '
                          'instance role); none were found')
    return Urllib3AWSV4SignerAuth(credentials, region, SERVICE)
