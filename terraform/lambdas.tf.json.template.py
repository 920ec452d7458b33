"""
Both Chalice apps' functions and REST APIs, from `chalice package` (see
azul.deploy.chalice), with our roles, environment and limits.

Every function's settings are here rather than in .chalice/config.json,
which knows only the `dev` stage. Timeouts: API Gateway gives up after 29
seconds, and an SQS-fed function must finish within the queue's visibility
timeout (300 s), or its messages are delivered again while it still works.
The reserved concurrency caps what one deployment may take of the account's
Lambda concurrency (and of the search domain's connections): 150 of the
default 1,000, which must keep at least 100 unreserved.
"""
from azul.deploy import chalice

ENCRYPTED = {'kms_key_arn': '${aws_kms_key.azul.arn}'}

FUNCTIONS = {
    'indexer': {
        'api_handler': {'memory_size': 1024, 'timeout': 30,
                        'reserved_concurrent_executions': 20},
        'contribute': {'memory_size': 2048, 'timeout': 240,
                       'reserved_concurrent_executions': 40},
        'aggregate': {'memory_size': 2048, 'timeout': 240,
                      'reserved_concurrent_executions': 40},
    },
    'service': {
        'api_handler': {'memory_size': 2048, 'timeout': 30,
                        'reserved_concurrent_executions': 50},
    },
}


def template(deployment) -> dict:
    environment = deployment.lambda_environment()
    documents = [
        chalice.merge(app, deployment.chalice(app),
                      deployment=deployment.name,
                      zip_path=deployment.zip_path(app),
                      environment=environment,
                      functions={name: {**ENCRYPTED, **attributes}
                                 for name, attributes in FUNCTIONS[app].items()})
        for app in chalice.APPS
    ]
    merged = {}
    for document in documents:
        for section, blocks in document.items():
            for key, value in blocks.items():
                if section == 'resource':
                    merged.setdefault(section, {}).setdefault(key, {}).update(value)
                else:
                    merged.setdefault(section, {})[key] = value
    return merged
