"""
The Queue interface on Amazon SQS, for deployments on AWS.

Queue names are `azul-{queue}-{deployment}`; each has a fail queue
`azul-{queue}-fail-{deployment}` that SQS moves a message to after
`MAX_ATTEMPTS` receives (a redrive policy provisioned by Terraform, and by
`ensure_queues` for tests and first deployments).
"""
import json
from collections.abc import Mapping, Sequence
from typing import Any

import boto3

from azul.config import Config
from azul.indexer.queue import MAX_ATTEMPTS, QUEUES, VISIBILITY_TIMEOUT, Message, Queue

# SQS accepts at most ten messages per batch call
SQS_BATCH = 10


class SQSQueue(Queue):

    def __init__(self, config: Config, client=None):
        self.deployment = config.deployment
        self.client = client or boto3.client('sqs', region_name=config.aws_region)
        self._urls: dict[str, str] = {}

    def name(self, queue: str, fail: bool = False) -> str:
        return f'azul-{queue}-fail-{self.deployment}' if fail else f'azul-{queue}-{self.deployment}'

    def ensure_queues(self, queues: Sequence[str]) -> None:
        for queue in queues:
            fail_url = self.client.create_queue(QueueName=self.name(queue, fail=True))['QueueUrl']
            fail_arn = self.client.get_queue_attributes(
                QueueUrl=fail_url, AttributeNames=['QueueArn'])['Attributes']['QueueArn']
            policy = {'deadLetterTargetArn': fail_arn, 'maxReceiveCount': MAX_ATTEMPTS}
            self.client.create_queue(QueueName=self.name(queue), Attributes={
                'RedrivePolicy': json.dumps(policy),
                'VisibilityTimeout': str(VISIBILITY_TIMEOUT),
            })

    def _url(self, name: str) -> str:
        if name not in self._urls:
            self._urls[name] = self.client.get_queue_url(QueueName=name)['QueueUrl']
        return self._urls[name]

    def send(self, queue: str, bodies: Sequence[Mapping[str, Any]]) -> None:
        url = self._url(self.name(queue))
        for i in range(0, len(bodies), SQS_BATCH):
            batch = bodies[i:i + SQS_BATCH]
            response = self.client.send_message_batch(QueueUrl=url, Entries=[
                {'Id': str(j), 'MessageBody': json.dumps(body)} for j, body in enumerate(batch)
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
        # is listed once, and all are made visible again at the end
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
