"""
The AWS provider, the remote state of a deployment and the data sources
every other template may use (`data.aws_*.current`). The state bucket
(`azul.deploy.terraform.state_bucket`) is made by the configuration in
terraform/bootstrap/, which keeps its own state locally: a bucket cannot
hold the state that creates it.

No `required_version`: checkov's parser fails on it (3.3.30), and a
Terraform older than 1.10 refuses `use_lockfile` anyway.
"""


def template(deployment) -> dict:
    return {
        'terraform': {
            'required_providers': {'aws': {'source': 'hashicorp/aws', 'version': '~> 5.100'}},
            # The bucket's name holds the account's id, which only `terraform
            # init -backend-config=bucket=...` knows (see `make deploy`)
            'backend': {'s3': {
                'key': 'azul.tfstate',
                'region': deployment.config.aws_region,
                'encrypt': True,
                # S3's conditional writes lock the state (Terraform 1.10+;
                # 1.11 deprecates the DynamoDB table for it)
                'use_lockfile': True,
            }},
        },
        'provider': {'aws': {
            'region': deployment.config.aws_region,
            'default_tags': {'tags': {'project': 'azul', 'deployment': deployment.name}},
        }},
        'data': {
            'aws_caller_identity': {'current': {}},
            'aws_partition': {'current': {}},
            'aws_region': {'current': {}},
        },
    }
