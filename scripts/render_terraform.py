"""
Render the Terraform configuration of the selected deployment (see
azul.deploy.terraform): terraform/*.tf.json, or with --bootstrap the one of
its state bucket, terraform/bootstrap/*.tf.json. With --state-bucket, print
the name of that bucket in the account of the current AWS credentials.
"""
import argparse
import os
import sys

from azul import envfiles
from azul.deploy import terraform


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--bootstrap', action='store_true')
    group.add_argument('--state-bucket', action='store_true')
    args = parser.parse_args(argv)
    envfiles.load(os.environ)
    name = os.environ['AZUL_DEPLOYMENT']
    if args.state_bucket:
        import boto3
        account = boto3.client('sts').get_caller_identity()['Account']
        print(terraform.state_bucket(name, account))
        return 0
    directory = terraform.BOOTSTRAP if args.bootstrap else terraform.TEMPLATES
    deployment = terraform.deployment(name, out=directory)
    documents = terraform.render(deployment, directory)
    problems = terraform.dangling_references(documents) + terraform.name_violations(documents)
    if problems:
        print(f'The configuration of {name} is broken:', *problems, sep='\n  ', file=sys.stderr)
        return 1
    for path in terraform.write(documents, directory):
        print(f'Wrote {path}')
    if not documents:
        print(f'Deployment {name} has no AWS resources: nothing to render')
    return 0


if __name__ == '__main__':
    sys.exit(main())
