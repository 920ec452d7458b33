"""
The checkov checks a deployment's configuration fails on purpose, each with
the reason. The integration test runs checkov on the rendered configuration
and fails on any other failed check, and on a skip here that no longer
fails (so that this list only shrinks to what is true).
"""

SKIPS: dict[str, str] = {
    # Lambda
    'CKV_AWS_116': 'A dead-letter queue applies to asynchronous invocations only: the API '
                   'handlers are invoked synchronously, and the SQS-fed functions\' failed '
                   'messages go to the fail queues by the queues\' redrive policy',
    'CKV_AWS_117': 'The functions are not in a VPC: they call TDR, Google and Terra SAM on '
                   'the internet (a NAT gateway per zone for nothing else) and the AWS APIs '
                   'with IAM; nothing they reach is in a VPC',
    'CKV_AWS_272': 'Code signing needs the package signed by AWS Signer through S3; Chalice '
                   'builds it locally and the pipeline that builds it is the one that deploys',
    # API Gateway
    'CKV_AWS_120': 'No API cache: answers depend on the bearer token, and a cache keyed by '
                   'it would serve little; the service caches what is shared itself',
    'CKV_AWS_225': 'No cache in the method settings either (see CKV_AWS_120)',
    'CKV2_AWS_51': 'Client certificates authenticate API Gateway to an HTTP backend; the '
                   'backends are Lambda proxy integrations',
    'CKV2_AWS_29': 'No WAF: a web ACL costs per rule and request, and both APIs are public '
                   'by design (the indexer checks an HMAC signature, the service a token); '
                   'reserved concurrency bounds what a flood can cost',
    # OpenSearch
    'CKV_AWS_137': 'The domain is not in a VPC, as the functions are not (see CKV_AWS_117); '
                   'its access policy admits only IAM principals of the account',
    'CKV_AWS_248': 'Security groups apply to a domain in a VPC only (see CKV_AWS_137)',
    'CKV2_AWS_52': 'Fine-grained access control maps IAM roles to roles of the security '
                   'plugin, which the AWS provider cannot; the IAM access policy decides',
    'CKV_AWS_317': 'Audit logs need fine-grained access control (see CKV2_AWS_52); slow '
                   'and application logs are published',
    # S3 (the manifests, the OpenSearch plugin's zip and, in terraform/bootstrap,
    # the Terraform state)
    'CKV_AWS_18': 'Access logs would need a bucket of their own (with its own logs); who '
                  'reads manifests, the plugin or the state is what CloudTrail data events '
                  'record, an account\'s setting',
    'CKV_AWS_144': 'Manifests are made again on request, the plugin\'s zip by any deploy; '
                   'the state is versioned, and a lost region loses the deployment it '
                   'describes with it',
    'CKV2_AWS_62': 'Nothing reacts to new manifests, plugin zips or states',
    # Secrets Manager
    'CKV2_AWS_57': 'The secret holds keys shared with others (notifiers\' HMAC key, a Google '
                   'service account), which are rotated by hand with them, not by a function',
}
