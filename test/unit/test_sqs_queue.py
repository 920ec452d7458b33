"""The SQS queue, against moto's SQS (no network)."""
import os

import boto3
import pytest
from moto import mock_aws

from azul import envfiles
from azul.config import Config
from azul.indexer.queue import MAX_ATTEMPTS
from azul.indexer.sqs import SQSQueue


@pytest.fixture
def queue():
    os.environ.setdefault('AWS_ACCESS_KEY_ID', 'testing')
    os.environ.setdefault('AWS_SECRET_ACCESS_KEY', 'testing')
    with mock_aws():
        config = Config.from_env({**envfiles.evaluate({}), 'AZUL_QUEUE': 'sqs'})
        q = SQSQueue(config, client=boto3.client('sqs', region_name='us-east-1'))
        q.ensure_queues(['notifications', 'tallies'])
        yield q


def tally(x: int) -> dict:
    return {'catalog': 'dcp', 'entity_type': 'files', 'entity_ids': [f'e{x}']}


def test_send_receive_delete(queue):
    queue.send('notifications', [{'n': i} for i in range(15)])
    received = []
    while batch := queue.receive('notifications', 10):
        received.extend(batch)
        for message in batch:
            queue.delete(message)
    assert sorted(m.body['n'] for m in received) == list(range(15))
    assert queue.counts()['notifications'] == {'queued': 0, 'failed': 0}


def test_failed_messages_reach_the_fail_queue(queue):
    queue.send('tallies', [tally(1)])
    for _ in range(MAX_ATTEMPTS):
        [message] = queue.receive('tallies')
        queue.release(message)
    assert queue.receive('tallies') == []
    assert queue.counts()['tallies'] == {'queued': 0, 'failed': 1}


def test_fail_queue_operations(queue):
    queue.send('tallies', [tally(1), tally(2)])
    for _ in range(MAX_ATTEMPTS):
        for message in queue.receive('tallies'):
            queue.release(message)
    assert queue.receive('tallies') == []
    assert queue.counts()['tallies'] == {'queued': 0, 'failed': 2}
    assert sorted(b['entity_ids'][0] for b in queue.failed('tallies', 10)) == ['e1', 'e2']
    assert len(queue.failed('tallies', 1)) == 1
    # Back to the queue, for more deliveries
    assert queue.redrive('tallies') == 2
    received = queue.receive('tallies')
    assert sorted(m.body['entity_ids'][0] for m in received) == ['e1', 'e2']
    assert all(m.attempts == 1 for m in received)
    for message in received:
        queue.delete(message)
    # Purging drops them
    queue.send('tallies', [tally(3)])
    for _ in range(MAX_ATTEMPTS):
        for message in queue.receive('tallies'):
            queue.release(message)
    # SQS moves a message to the fail queue at the receive after its last
    assert queue.receive('tallies') == []
    assert queue.purge_failed('tallies') == 1
    assert queue.counts()['tallies'] == {'queued': 0, 'failed': 0}
