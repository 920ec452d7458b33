"""
The Queue interface on Amazon SQS, for deployments on AWS.

Queue names come from `queue_name`; each queue has a fail queue that SQS moves
a message to after `MAX_ATTEMPTS` receives (a redrive policy provisioned by
Terraform, and by `ensure_queues` for tests and first deployments).

Notifications go through a standard queue: contributions of different bundles
are independent, and a redelivered one is rewritten to the same document.
Tallies go through a FIFO queue with one message group per entity: SQS hands
out no message of a group while another of that group is in flight, so two
Lambda invocations never fold the same entity at once, and one that failed
holds back the later tallies of its entity instead of being overtaken by them.
"""
import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import boto3

from azul.config import Config
from azul.indexer.queue import (
    MAX_ATTEMPTS,
    QUEUES,
    TALLIES,
    VISIBILITY_TIMEOUT,
    Message,
    Queue,
)

# SQS accepts at most ten messages per batch call
SQS_BATCH = 10

# The queues whose order per entity matters (see the module's docstring)
FIFO_QUEUES = frozenset({TALLIES})

# What SQS allows in a MessageGroupId: up to 128 of these characters
_GROUP_ID = re.compile(r'[A-Za-z0-9!"#$%&\'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}')


def queue_name(queue: str, deployment: str, fail: bool = False) -> str:
    """
    The SQS name of one of the `QUEUES` (or of its fail queue). Terraform
    provisions queues by these names, the Lambda event sources subscribe to
    them and `SQSQueue` sends to them, so all three must agree. A FIFO
    queue's name must end in `.fifo`, and its fail queue must be FIFO too.
    """
    infix = f'{queue}-fail' if fail else queue
    suffix = '.fifo' if queue in FIFO_QUEUES else ''
    return f'azul-{infix}-{deployment}{suffix}'


def message_group_id(catalog: str, entity_type: str, entity_id: str) -> str:
    """
    The FIFO message group of the tallies of one entity. A readable id helps
    an operator looking at a queue; one that SQS would refuse (too long, or
    with characters outside its alphabet) is hashed instead.
    """
    group = f'{catalog}/{entity_type}/{entity_id}'
    if _GROUP_ID.fullmatch(group):
        return group
    return hashlib.sha256(group.encode()).hexdigest()


class SQSQueue(Queue):

    def __init__(self, config: Config, client=None):
        self.deployment = config.deployment
        self.client = client or boto3.client('sqs', region_name=config.aws_region)
        self._urls: dict[str, str] = {}

    def name(self, queue: str, fail: bool = False) -> str:
        return queue_name(queue, self.deployment, fail)

    def ensure_queues(self, queues: Sequence[str]) -> None:
        for queue in queues:
            # Deduplication is never by content: see `_entries`
            fifo = {'FifoQueue': 'true', 'ContentBasedDeduplication': 'false'} \
                if queue in FIFO_QUEUES else {}
            fail_url = self.client.create_queue(QueueName=self.name(queue, fail=True),
                                                Attributes=fifo)['QueueUrl']
            fail_arn = self.client.get_queue_attributes(
                QueueUrl=fail_url, AttributeNames=['QueueArn'])['Attributes']['QueueArn']
            policy = {'deadLetterTargetArn': fail_arn, 'maxReceiveCount': MAX_ATTEMPTS}
            self.client.create_queue(QueueName=self.name(queue), Attributes={
                **fifo,
                'RedrivePolicy': json.dumps(policy),
                'VisibilityTimeout': str(VISIBILITY_TIMEOUT),
            })

    def _url(self, name: str) -> str:
        if name not in self._urls:
            self._urls[name] = self.client.get_queue_url(QueueName=name)['QueueUrl']
        return self._urls[name]

    def _entries(self, queue: str, bodies: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        if queue not in FIFO_QUEUES:
            return [{'MessageBody': json.dumps(body)} for body in bodies]
        entries = []
        for body in bodies:
            # A message has one group, so a tally of several entities (the
            # worker chunks them for the local queue) becomes one per entity
            for entity_id in body['entity_ids']:
                entries.append({
                    'MessageBody': json.dumps({**body, 'entity_ids': [entity_id]}),
                    'MessageGroupId': message_group_id(body['catalog'], body['entity_type'],
                                                       entity_id),
                    # Unique, not derived from the content: SQS drops a message
                    # whose deduplication id it saw in the past five minutes,
                    # but an equal tally sent later announces contributions
                    # written after the first one was sent, which an
                    # aggregation already under way may have missed
                    'MessageDeduplicationId': uuid.uuid4().hex,
                })
        return entries

    def send(self, queue: str, bodies: Sequence[Mapping[str, Any]]) -> None:
        url = self._url(self.name(queue))
        entries = self._entries(queue, bodies)
        for i in range(0, len(entries), SQS_BATCH):
            batch = entries[i:i + SQS_BATCH]
            response = self.client.send_message_batch(QueueUrl=url, Entries=[
                {'Id': str(j), **entry} for j, entry in enumerate(batch)
            ])
            if response.get('Failed'):
                raise RuntimeError(f'SQS rejected messages: {response["Failed"]}')

    def receive(self, queue: str, max_messages: int = 10,
                visibility_timeout: float = VISIBILITY_TIMEOUT) -> list[Message]:
        response = self.client.receive_message(
            QueueUrl=self._url(self.name(queue)),
            MaxNumberOfMessages=min(max_messages, SQS_BATCH),
            VisibilityTimeout=int(visibility_timeout),
            AttributeNames=['ApproximateReceiveCount'],
        )
        return [Message(id=m['ReceiptHandle'], queue=queue, body=json.loads(m['Body']),
                        attempts=int(m['Attributes']['ApproximateReceiveCount']))
                for m in response.get('Messages', [])]

    def delete(self, message: Message) -> None:
        self.client.delete_message(QueueUrl=self._url(self.name(message.queue)),
                                   ReceiptHandle=message.id)

    def release(self, message: Message, delay: float = 0) -> None:
        # SQS itself moves the message to the fail queue after MAX_ATTEMPTS receives
        self.client.change_message_visibility(QueueUrl=self._url(self.name(message.queue)),
                                              ReceiptHandle=message.id,
                                              VisibilityTimeout=int(delay))

    def counts(self) -> dict[str, dict[str, int]]:
        result = {}
        for queue in QUEUES:
            counts = {}
            for key, fail in (('queued', False), ('failed', True)):
                attributes = self.client.get_queue_attributes(
                    QueueUrl=self._url(self.name(queue, fail)),
                    AttributeNames=['ApproximateNumberOfMessages',
                                    'ApproximateNumberOfMessagesNotVisible'])['Attributes']
                counts[key] = sum(int(v) for v in attributes.values())
            result[queue] = counts
        return result

    def _fail_messages(self, queue: str, visibility: int) -> list[dict[str, Any]]:
        response = self.client.receive_message(QueueUrl=self._url(self.name(queue, fail=True)),
                                               MaxNumberOfMessages=SQS_BATCH,
                                               VisibilityTimeout=visibility)
        return response.get('Messages', [])

    def failed(self, queue: str, limit: int) -> list[Mapping[str, Any]]:
        # SQS cannot peek: received messages are hidden while we list, each
        # is listed once, and all are made visible again at the end. A FIFO
        # queue hides the rest of a message group while one of it is hidden,
        # so further failed tallies of an entity may go unlisted; they are
        # the same tally (one entity each), and `counts` still counts them.
        fail_url = self._url(self.name(queue, fail=True))
        seen: dict[str, Mapping[str, Any]] = {}
        handles = []
        try:
            while len(seen) < limit:
                messages = self._fail_messages(queue, visibility=60)
                if not messages:
                    break
                for m in messages:
                    handles.append(m['ReceiptHandle'])
                    seen.setdefault(m['MessageId'], json.loads(m['Body']))
        finally:
            for i in range(0, len(handles), SQS_BATCH):
                self.client.change_message_visibility_batch(QueueUrl=fail_url, Entries=[
                    {'Id': str(j), 'ReceiptHandle': h, 'VisibilityTimeout': 0}
                    for j, h in enumerate(handles[i:i + SQS_BATCH])])
        return list(seen.values())[:limit]

    def redrive(self, queue: str) -> int:
        return self._drain(queue, resend=True)

    def purge_failed(self, queue: str) -> int:
        return self._drain(queue, resend=False)

    def _drain(self, queue: str, resend: bool) -> int:
        # A message is deleted from the fail queue only after it was sent
        # again, so that an interruption duplicates (harmless: indexing is
        # idempotent) rather than loses it
        fail_url = self._url(self.name(queue, fail=True))
        moved = 0
        while messages := self._fail_messages(queue, visibility=VISIBILITY_TIMEOUT):
            if resend:
                self.send(queue, [json.loads(m['Body']) for m in messages])
            self.client.delete_message_batch(QueueUrl=fail_url, Entries=[
                {'Id': str(i), 'ReceiptHandle': m['ReceiptHandle']}
                for i, m in enumerate(messages)])
            moved += len(messages)
        return moved
