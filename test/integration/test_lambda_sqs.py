"""
The SQS-triggered handlers of the indexer Lambda, end to end: notifications
and tallies on (moto's) SQS, the handlers invoked through Chalice's test
client with the events Lambda's SQS event source would pass them, the
aggregates on the real OpenSearch node and read back through the service app.

`LambdaEventSource` stands in for AWS's poller, which is not ours: it
receives a batch, invokes the function, and deletes what the function did
not report as failed (`ReportBatchItemFailures`).
"""
import importlib.util
import json
import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from azul.adapters.server import load_app
from azul.config import Config
from azul.indexer.queue import MAX_ATTEMPTS, NOTIFICATIONS, TALLIES
from azul.indexer.signature import signed_headers
from azul.runtime import Runtime
from azul_testing import ROOT, STAGING_SOURCE

KEY = 'lambda-test-key'
CATALOG = 'dcp'

# Three bundles of the staging fixtures (the fourth has 227 files), with
# their projects and their sequence files' document ids
SMALL = {
    '68bdc676-c442-4581-923e-319c1c2d9018': '2018-10-07T130111.835234Z',
    '70184761-70fc-4b80-8c48-f406a478d5ab': '2018-09-05T182535.846470Z',
    'eca05046-3dad-4e45-b86c-8720f33a5dde': '2019-03-17T220646.332108Z',
}
PROJECTS = {'519b58ef-6462-4ed3-8c0d-375b54f53c31', 'bedfd14f-cc98-4142-b627-d44dfec5aced',
            '5014cd10-bbed-4e85-bc45-6fe3a8a0079b'}
FILES = {'f3d5c7cb-7ab4-4903-8e0e-dc942121fe27',
         '177a9d2c-99d4-4fb6-aab7-5869923e9d6a', '20474552-c0a3-471e-8fa0-d3c5aa05c017',
         '5201d410-d789-4df6-b3fd-9edac998e5f3', 'ceb4dfaa-ecaf-4757-ae54-9d83707f66cc',
         '6380c3bc-8bc3-459b-aea3-05dd6c0842ef'}
FILE_NAMES = {'SRR6260013.fastq.gz', 'R1.fastq.gz', 'R2.fastq.gz',
              'pbmc4k_1000_S1_L001_R1_001.fastq.gz', 'pbmc4k_1000_S1_L001_R2_001.fastq.gz',
              'pbmc4k_1000_S1_L001_I1_001.fastq.gz'}


def _env(deployment: str, prefix: str, tmp_path) -> dict[str, str]:
    catalog = {'atlas': 'hca', 'internal': False,
               'plugins': {'metadata': {'name': 'hca'}, 'repository': {'name': 'canned'}},
               'sources': [STAGING_SOURCE]}
    return {
        'AZUL_DEPLOYMENT': deployment,
        'AZUL_DATA_DIR': str(tmp_path),
        'AZUL_CATALOGS': json.dumps({CATALOG: catalog}),
        'AZUL_INDEX_BACKEND': 'opensearch',
        'AZUL_DUCKDB_PATH': str(tmp_path / 'index.duckdb'),
        'AZUL_ES_ENDPOINT': os.environ['AZUL_ES_ENDPOINT'],
        'AZUL_ES_TIMEOUT': '30',
        'AZUL_INDEX_PREFIX': prefix,
        'AZUL_HOST': '127.0.0.1',
        'AZUL_PORT': '8000',
        'AZUL_SERVICE_URL': 'http://azul.test',
        'AZUL_QUEUE': 'sqs',
        'AZUL_DEMO_BUNDLES': '1',
        'AZUL_QUEUE_PATH': str(tmp_path / 'queue.sqlite'),
        'AZUL_MANIFEST_STORE': 's3',
        'AZUL_MANIFEST_BUCKET': f'azul-manifests-{prefix}',
        'AZUL_INDEXER_HMAC_KEY': KEY,
        'AZUL_AWS_REGION': 'us-east-1',
        'AZUL_LOG_LEVEL': 'INFO',
    }


class LambdaEventSource:
    """What Lambda's SQS event source mapping does, on moto's SQS."""

    def __init__(self, sqs, client: Client, runtime: Runtime):
        self.sqs = sqs
        self.client = client
        self.runtime = runtime

    def url(self, queue: str, fail: bool = False) -> str:
        name = self.runtime.queue.name(queue, fail)
        return self.sqs.get_queue_url(QueueName=name)['QueueUrl']

    def receive(self, queue: str, fail: bool = False, visibility: int = 300) -> list[dict]:
        response = self.sqs.receive_message(QueueUrl=self.url(queue, fail),
                                            MaxNumberOfMessages=10,
                                            VisibilityTimeout=visibility,
                                            AttributeNames=['All'])
        return response.get('Messages', [])

    def event(self, queue: str, messages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        name = self.runtime.queue.name(queue)
        return {'Records': [{
            'messageId': m['MessageId'],
            'receiptHandle': m['ReceiptHandle'],
            'body': m['Body'],
            'attributes': m['Attributes'],
            'messageAttributes': {},
            'md5OfBody': m['MD5OfBody'],
            'eventSource': 'aws:sqs',
            'eventSourceARN': f'arn:aws:sqs:us-east-1:123456789012:{name}',
            'awsRegion': 'us-east-1',
        } for m in messages]}

    def deliver(self, queue: str, function: str,
                messages: Sequence[Mapping[str, Any]]) -> set[str]:
        """Invoke the function with a batch; the ids of the records it reported."""
        response = self.client.lambda_.invoke(function, self.event(queue, messages))
        reported = {f['itemIdentifier'] for f in response.payload['batchItemFailures']}
        for m in messages:
            if m['MessageId'] not in reported:
                self.sqs.delete_message(QueueUrl=self.url(queue),
                                        ReceiptHandle=m['ReceiptHandle'])
        return reported

    def drain(self, queue: str, function: str) -> list[dict]:
        """Deliver batches until the queue is empty, none failing; the messages."""
        delivered = []
        while messages := self.receive(queue):
            assert self.deliver(queue, function, messages) == set()
            delivered.extend(messages)
        return delivered

    def elapse(self, queue: str, messages: Sequence[Mapping[str, Any]]) -> None:
        # Stands in for the passing of the retry delay a handler set
        for m in messages:
            self.sqs.change_message_visibility(QueueUrl=self.url(queue),
                                               ReceiptHandle=m['ReceiptHandle'],
                                               VisibilityTimeout=0)


@pytest.fixture
def aws(es_endpoint, tmp_path, monkeypatch) -> Iterator[tuple[LambdaEventSource, Runtime, Any]]:
    for name in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'):
        monkeypatch.setenv(name, 'testing')
    monkeypatch.delenv('AWS_PROFILE', raising=False)
    with mock_aws():
        # A deployment the `azul` command knows (`deployments/local`); a fresh
        # index prefix keeps the test's indices apart on the shared node
        env = _env('local', 't' + uuid.uuid4().hex[:10], tmp_path)
        # For the `azul` commands a test runs
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        config = Config.from_env(env)
        boto3.client('s3', region_name='us-east-1').create_bucket(Bucket=config.manifest_bucket)
        runtime = Runtime(config)
        runtime.queue.ensure_queues([NOTIFICATIONS, TALLIES])
        indexer = load_app('indexer')
        service = load_app('service')
        indexer.set_runtime(runtime)
        try:
            with Client(indexer.app) as client:
                source = LambdaEventSource(boto3.client('sqs', region_name='us-east-1'),
                                           client, runtime)
                yield source, runtime, Client(service.create_app(lambda: runtime))
        finally:
            indexer.set_runtime(None)
            runtime.backend.drop_deployment()
            runtime.close()


def notify(source: LambdaEventSource, bundle_uuid: str, version: str, action: str = 'add'):
    body = json.dumps({'bundle_fqid': {'uuid': bundle_uuid, 'version': version,
                                       'source': {'id': 'staging', 'spec': STAGING_SOURCE}}})
    path = f'/{CATALOG}/{action}'
    response = source.client.http.post(path, body=body.encode(), headers={
        'Content-Type': 'application/json',
        **signed_headers(KEY, 'POST', path, body.encode())})
    assert response.status_code == 202, response.body


def index_files(service: Client) -> list[dict[str, Any]]:
    response = service.http.get(f'/index/files?catalog={CATALOG}&size=100',
                                headers={'Host': 'azul.test'})
    assert response.status_code == 200, response.body
    return json.loads(response.body)['hits']


def test_notification_to_aggregate_and_redelivery(aws):
    source, runtime, service = aws
    for bundle_uuid, version in SMALL.items():
        notify(source, bundle_uuid, version)
    # The three notifications in one batch: contributed with one write
    messages = source.receive(NOTIFICATIONS)
    assert len(messages) == 3
    assert source.deliver(NOTIFICATIONS, 'contribute', messages) == set()
    assert source.receive(NOTIFICATIONS) == []

    tallies = []
    while batch := source.receive(TALLIES):
        tallies.extend(batch)
        assert source.deliver(TALLIES, 'aggregate', batch) == set()
    # One message per entity, in the entity's own message group
    groups = [m['Attributes']['MessageGroupId'] for m in tallies]
    assert len(groups) == len(set(groups))
    bodies = [json.loads(m['Body']) for m in tallies]
    for group, body in zip(groups, bodies, strict=True):
        [entity_id] = body['entity_ids']
        assert group == f'{CATALOG}/{body["entity_type"]}/{entity_id}'
    assert {g for g in groups if g.startswith(f'{CATALOG}/projects/')} == {
        f'{CATALOG}/projects/{p}' for p in PROJECTS}
    assert {g for g in groups if g.startswith(f'{CATALOG}/files/')} == {
        f'{CATALOG}/files/{f}' for f in FILES}
    # Two tallies of one entity are distinct messages, however alike
    assert len({m['Attributes']['MessageDeduplicationId'] for m in tallies}) == len(tallies)

    hits = index_files(service)
    assert {f['name'] for h in hits for f in h['files']} == FILE_NAMES
    assert {h['entryId'] for h in hits} == FILES
    assert source.sqs.get_queue_attributes(
        QueueUrl=source.url(TALLIES, fail=True),
        AttributeNames=['ApproximateNumberOfMessages'],
    )['Attributes']['ApproximateNumberOfMessages'] == '0'

    # Redelivery: the same notification again, and its tallies, change nothing
    notify(source, 'eca05046-3dad-4e45-b86c-8720f33a5dde', '2019-03-17T220646.332108Z')
    assert len(source.drain(NOTIFICATIONS, 'contribute')) == 1
    # The tallies of the bundle's entities, all of them in the fixture
    assert sorted(m['Attributes']['MessageGroupId']
                  for m in source.drain(TALLIES, 'aggregate')) == [
        'dcp/bundles/eca05046-3dad-4e45-b86c-8720f33a5dde',
        'dcp/cell_suspensions/74a06f8b-dff1-44d2-b1a6-99e3d14b69d1',
        'dcp/files/5201d410-d789-4df6-b3fd-9edac998e5f3',
        'dcp/files/6380c3bc-8bc3-459b-aea3-05dd6c0842ef',
        'dcp/files/ceb4dfaa-ecaf-4757-ae54-9d83707f66cc',
        'dcp/projects/5014cd10-bbed-4e85-bc45-6fe3a8a0079b',
        'dcp/samples/f3531ee2-d408-4075-b63e-0d0e2b01116c',
    ]
    assert index_files(service) == hits


def test_failures_are_reported_alone_and_end_in_the_fail_queue(aws):
    source, runtime, service = aws
    # A notification of a bundle the source lacks, between two good ones
    notify(source, '68bdc676-c442-4581-923e-319c1c2d9018', '2018-10-07T130111.835234Z')
    notify(source, '00000000-0000-4000-8000-000000000000', '2020-01-01T000000.000000Z')
    notify(source, '70184761-70fc-4b80-8c48-f406a478d5ab', '2018-09-05T182535.846470Z')
    messages = source.receive(NOTIFICATIONS)
    assert len(messages) == 3
    bad = {m['MessageId'] for m in messages
           if json.loads(m['Body'])['uuid'] == '00000000-0000-4000-8000-000000000000'}
    assert len(bad) == 1
    assert source.deliver(NOTIFICATIONS, 'contribute', messages) == bad
    messages = [m for m in messages if m['MessageId'] in bad]
    # The bundle is missing for good: refused for cause, it is retried soon
    # (not after the visibility timeout), then lands in the fail queue
    for attempt in range(2, MAX_ATTEMPTS + 1):
        assert source.receive(NOTIFICATIONS) == []
        source.elapse(NOTIFICATIONS, messages)
        messages = source.receive(NOTIFICATIONS)
        assert [m['MessageId'] for m in messages] == list(bad)
        assert messages[0]['Attributes']['ApproximateReceiveCount'] == str(attempt)
        assert source.deliver(NOTIFICATIONS, 'contribute', messages) == bad
    source.elapse(NOTIFICATIONS, messages)
    assert source.receive(NOTIFICATIONS) == []
    [failed] = source.receive(NOTIFICATIONS, fail=True)
    assert failed['MessageId'] in bad

    # A tally of a catalog since removed from the deployment, in one batch
    # with the good tallies: only it is reported, and it ends in the fail queue
    runtime.queue.send(TALLIES, [{'catalog': 'gone', 'entity_type': 'files',
                                  'entity_ids': ['e2c4bd0c-d2b4-4dcf-bb5e-0a6c5b0b3a42']}])
    reported, failures = set(), 0
    while batch := source.receive(TALLIES):
        failed = source.deliver(TALLIES, 'aggregate', batch)
        source.elapse(TALLIES, [m for m in batch if m['MessageId'] in failed])
        reported |= failed
        failures += len(failed)
    assert len(reported) == 1
    assert failures == MAX_ATTEMPTS
    [failed] = source.receive(TALLIES, fail=True)
    assert failed['MessageId'] in reported
    assert json.loads(failed['Body'])['catalog'] == 'gone'
    assert failed['Attributes']['MessageGroupId'] == \
        'gone/files/e2c4bd0c-d2b4-4dcf-bb5e-0a6c5b0b3a42'
    # The good ones were aggregated
    assert {f['name'] for h in index_files(service) for f in h['files']} == {
        'SRR6260013.fastq.gz', 'R1.fastq.gz', 'R2.fastq.gz'}


def test_a_failure_holds_back_the_rest_of_its_message_group():
    indexer = load_app('indexer')
    groups = ['a', 'b', 'a', None, 'c', 'b', 'a', None]
    failed = [False, False, True, True, False, False, False, False]
    # The failed record of group a and the later one of a; the failed record
    # outside any group (a standard queue) holds back nothing
    assert indexer.reported(groups, failed) == [2, 3, 6]
    assert indexer.reported([None, None], [False, False]) == []
    assert indexer.reported(['a', 'a', 'a'], [True, False, False]) == [0, 1, 2]


def _manage_queues():
    path = ROOT / 'scripts' / 'manage_queues.py'
    spec = importlib.util.spec_from_file_location('manage_queues', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _fail(runtime: Runtime, body: Mapping[str, Any]) -> None:
    # Deliveries that all fail, until SQS moves the message to the fail queue
    runtime.queue.send(TALLIES, [body])
    for _ in range(MAX_ATTEMPTS):
        [message] = runtime.queue.receive(TALLIES)
        runtime.queue.release(message)
    assert runtime.queue.receive(TALLIES) == []


def test_manage_queues(aws, tmp_path, capsys, monkeypatch):
    source, runtime, service = aws
    manage_queues = _manage_queues()
    body = {'catalog': 'gone', 'entity_type': 'files',
            'entity_ids': ['e2c4bd0c-d2b4-4dcf-bb5e-0a6c5b0b3a42']}
    _fail(runtime, body)
    capsys.readouterr()

    assert manage_queues(['list']) == 0
    assert capsys.readouterr().out == ('notifications: 0 queued, 0 failed\n'
                                       'tallies: 0 queued, 1 failed\n')
    out = tmp_path / 'failed.jsonl'
    assert manage_queues(['dump', '--queue', 'tallies', '--out', str(out)]) == 0
    assert out.read_text() == ('{"queue": "tallies", "body": {"catalog": "gone", '
                               '"entity_type": "files", "entity_ids": '
                               '["e2c4bd0c-d2b4-4dcf-bb5e-0a6c5b0b3a42"]}}\n')
    # Dumping leaves the message where it was
    assert manage_queues(['list', '--queue', 'tallies']) == 0
    assert capsys.readouterr().out == 'tallies: 0 queued, 1 failed\n'

    # Fed back, it is delivered again, in its entity's message group
    assert manage_queues(['redrive']) == 0
    assert capsys.readouterr().out == (
        'notifications: 0 failed message(s) moved back to the queue\n'
        'tallies: 1 failed message(s) moved back to the queue\n')
    [message] = source.receive(TALLIES)
    assert json.loads(message['Body']) == body
    assert message['Attributes']['ApproximateReceiveCount'] == '1'
    assert message['Attributes']['MessageGroupId'] == \
        'gone/files/e2c4bd0c-d2b4-4dcf-bb5e-0a6c5b0b3a42'
    # Still failing: the catalog is still gone
    assert source.deliver(TALLIES, 'aggregate', [message]) == {message['MessageId']}
    source.elapse(TALLIES, [message])
    for _ in range(MAX_ATTEMPTS - 1):
        [message] = runtime.queue.receive(TALLIES)
        runtime.queue.release(message)
    # SQS moves a message to the fail queue at the receive after its last
    assert runtime.queue.receive(TALLIES) == []

    assert manage_queues(['purge', '--queue', 'tallies']) == 0
    assert capsys.readouterr().out == 'tallies: 1 failed message(s) dropped from the queue\n'
    assert manage_queues(['list']) == 0
    assert capsys.readouterr().out == ('notifications: 0 queued, 0 failed\n'
                                       'tallies: 0 queued, 0 failed\n')

    # Not a deployment on AWS: nothing is touched
    monkeypatch.setenv('AZUL_QUEUE', 'local')
    assert manage_queues(['purge']) == 2
    assert 'not `sqs`' in capsys.readouterr().err


def test_a_body_that_is_no_json_fails_alone(aws):
    source, runtime, service = aws
    notify(source, '68bdc676-c442-4581-923e-319c1c2d9018', '2018-10-07T130111.835234Z')
    source.sqs.send_message(QueueUrl=source.url(NOTIFICATIONS), MessageBody='{"catalog": ')
    messages = source.receive(NOTIFICATIONS)
    assert len(messages) == 2
    bad = {m['MessageId'] for m in messages if m['Body'] == '{"catalog": '}
    assert source.deliver(NOTIFICATIONS, 'contribute', messages) == bad
    source.drain(TALLIES, 'aggregate')
    assert {f['name'] for h in index_files(service) for f in h['files']} == {
        'SRR6260013.fastq.gz'}
