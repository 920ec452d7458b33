"""The SQS queue, against moto's SQS (no network)."""
import hashlib
import os

import boto3
import pytest
from moto import mock_aws

from azul import envfiles
from azul.config import Config
from azul.indexer.queue import MAX_ATTEMPTS
from azul.indexer.sqs import SQSQueue, message_group_id, queue_name


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


def test_queue_names():
    assert queue_name('notifications', 'dev') == 'azul-notifications-dev'
    assert queue_name('notifications', 'dev', fail=True) == 'azul-notifications-fail-dev'
    assert queue_name('tallies', 'dev') == 'azul-tallies-dev.fifo'
    assert queue_name('tallies', 'dev', fail=True) == 'azul-tallies-fail-dev.fifo'


def test_tallies_are_fifo_and_so_is_their_fail_queue(queue):
    sqs = queue.client
    for name in ('azul-tallies-local.fifo', 'azul-tallies-fail-local.fifo'):
        url = sqs.get_queue_url(QueueName=name)['QueueUrl']
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['All'])['Attributes']
        assert attributes['FifoQueue'] == 'true'
        assert attributes['ContentBasedDeduplication'] == 'false'
    url = sqs.get_queue_url(QueueName='azul-notifications-local')['QueueUrl']
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['All'])['Attributes']
    assert 'FifoQueue' not in attributes


def _raw(queue, name: str) -> list[dict]:
    url = queue.client.get_queue_url(QueueName=name)['QueueUrl']
    messages = []
    while batch := queue.client.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                                AttributeNames=['All']).get('Messages'):
        messages.extend(batch)
    return messages


def test_a_tally_message_per_entity_in_its_group(queue):
    queue.send('tallies', [{'catalog': 'dcp', 'entity_type': 'files',
                            'entity_ids': ['f1', 'f2', 'f3']},
                           {'catalog': 'dcp', 'entity_type': 'projects',
                            'entity_ids': ['p1']}])
    messages = _raw(queue, 'azul-tallies-local.fifo')
    assert sorted((m['Attributes']['MessageGroupId'], m['Body']) for m in messages) == [
        ('dcp/files/f1', '{"catalog": "dcp", "entity_type": "files", "entity_ids": ["f1"]}'),
        ('dcp/files/f2', '{"catalog": "dcp", "entity_type": "files", "entity_ids": ["f2"]}'),
        ('dcp/files/f3', '{"catalog": "dcp", "entity_type": "files", "entity_ids": ["f3"]}'),
        ('dcp/projects/p1',
         '{"catalog": "dcp", "entity_type": "projects", "entity_ids": ["p1"]}'),
    ]


def test_equal_tallies_are_not_deduplicated(queue):
    # The second announces contributions the aggregation of the first may
    # have missed, however soon after it comes
    queue.send('tallies', [tally(1)])
    queue.send('tallies', [tally(1)])
    messages = _raw(queue, 'azul-tallies-local.fifo')
    assert len(messages) == 2
    assert messages[0]['Attributes']['MessageDeduplicationId'] != \
        messages[1]['Attributes']['MessageDeduplicationId']


def test_message_group_ids():
    assert message_group_id('dcp', 'files', '9dee7111-d743-43a1-b768-118614bf7987') == \
        'dcp/files/9dee7111-d743-43a1-b768-118614bf7987'
    # Too long for SQS, or outside its alphabet: the SHA-256 of the readable id
    assert message_group_id('dcp', 'files', 'x' * 120) == \
        hashlib.sha256(f'dcp/files/{"x" * 120}'.encode()).hexdigest()
    assert message_group_id('dcp', 'files', 'a b') == \
        hashlib.sha256(b'dcp/files/a b').hexdigest()
    # 'dcp/files/' and 118 more is SQS's limit of 128, one more is too long
    assert message_group_id('dcp', 'files', 'x' * 118) == 'dcp/files/' + 'x' * 118
    assert len(message_group_id('dcp', 'files', 'x' * 119)) == 64


def test_no_delay_on_a_fifo_queue_but_release_with_one(queue):
    # FIFO queues refuse a delay per message; a retry is delayed by the
    # visibility of the received message instead
    queue.send('tallies', [tally(1)])
    [message] = queue.receive('tallies')
    queue.release(message, delay=60)
    assert queue.receive('tallies') == []
    assert queue.counts()['tallies'] == {'queued': 1, 'failed': 0}
