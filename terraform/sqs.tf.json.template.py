"""
The indexer's queues and their fail queues (see azul.indexer.sqs). Tallies
go through a FIFO queue, one message group per entity, so no two functions
fold one entity at once; a FIFO queue's fail queue must be FIFO as well.
"""
import json

from azul.indexer.queue import MAX_ATTEMPTS, QUEUES, VISIBILITY_TIMEOUT
from azul.indexer.sqs import FIFO_QUEUES, queue_name

RETENTION = 14 * 24 * 3600


def template(deployment) -> dict:
    queues = {}
    for queue in QUEUES:
        fifo = {'fifo_queue': True, 'content_based_deduplication': False} \
            if queue in FIFO_QUEUES else {}
        encryption = {'kms_master_key_id': '${aws_kms_key.azul.arn}',
                      # Reuse a data key for a while: fewer KMS requests
                      'kms_data_key_reuse_period_seconds': 3600}
        queues[f'{queue}_fail'] = {
            'name': queue_name(queue, deployment.name, fail=True),
            'message_retention_seconds': RETENTION,
            **fifo,
            **encryption,
        }
        queues[queue] = {
            'name': queue_name(queue, deployment.name),
            # Not shorter than the timeout of the function that drains it
            'visibility_timeout_seconds': VISIBILITY_TIMEOUT,
            'message_retention_seconds': RETENTION,
            'redrive_policy': json.dumps({
                'deadLetterTargetArn': f'${{aws_sqs_queue.{queue}_fail.arn}}',
                'maxReceiveCount': MAX_ATTEMPTS,
            }),
            **fifo,
            **encryption,
        }
    return {'resource': {'aws_sqs_queue': queues}}
