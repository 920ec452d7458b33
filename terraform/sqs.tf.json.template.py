"""The indexer queues and their fail queues (see azul.indexer.sqs)."""
import json

from azul.config import Config
from azul.indexer.queue import MAX_ATTEMPTS, NOTIFICATIONS, TALLIES, VISIBILITY_TIMEOUT


def template(config: Config) -> dict:
    queues = {}
    for queue in (NOTIFICATIONS, TALLIES):
        name = f'azul-{queue}-{config.deployment}'
        fail = f'azul-{queue}-fail-{config.deployment}'
        queues[f'{queue}_fail'] = {
            'name': fail,
            'message_retention_seconds': 14 * 24 * 3600,
        }
        queues[queue] = {
            'name': name,
            'visibility_timeout_seconds': VISIBILITY_TIMEOUT,
            'message_retention_seconds': 14 * 24 * 3600,
            'redrive_policy': json.dumps({
                'deadLetterTargetArn': f'${{aws_sqs_queue.{queue}_fail.arn}}',
                'maxReceiveCount': MAX_ATTEMPTS,
            }),
        }
    return {'resource': {'aws_sqs_queue': queues}}
