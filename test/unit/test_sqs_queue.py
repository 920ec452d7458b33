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
    queue.send('tallies', [{'x': 1}])
    for _ in range(MAX_ATTEMPTS):
        [message] = queue.receive('tallies')
        queue.release(message)
    assert queue.receive('tallies') == []
    assert queue.counts()['tallies'] == {'queued': 0, 'failed': 1}
