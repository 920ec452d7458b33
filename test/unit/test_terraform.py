"""
The Terraform templates render, for every deployment, a configuration whose
references all resolve and whose names AWS accepts, and which matches what
the code assumes (queue names, the Lambda environment, roles). Pure: the
Chalice apps' chalice.tf.json is a document of the shape `chalice package`
1.34 writes (test/integration/test_terraform_tools.py runs the real one).
"""
import hashlib
import json
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from azul.adapters.aws_secrets import secret_id
from azul.deploy import chalice, terraform
from azul.deploy.environment import lambda_environment, secret_names
from azul.errors import ConfigError
from azul.indexer.queue import MAX_ATTEMPTS, NOTIFICATIONS, QUEUES, TALLIES
from azul.indexer.sqs import FIFO_QUEUES, queue_name

ROOT = Path(__file__).resolve().parents[2]
AWS_DEPLOYMENTS = ('dev', 'prod', 'sandbox')
SQS_HANDLERS = {'contribute': NOTIFICATIONS, 'aggregate': TALLIES}


def chalice_document(app: str, deployment: str) -> dict:
    """What `chalice package --pkg-format terraform --stage <deployment>` writes."""
    role = '${aws_iam_role.default-role.arn}'
    zip_ = '${path.module}/deployment.zip'

    def function(name: str, handler: str) -> dict:
        return {'function_name': name, 'runtime': 'python3.11', 'handler': handler,
                'memory_size': 128, 'architectures': ['x86_64'], 'timeout': 60,
                'tags': {'aws-chalice': f'version=1.34.0:stage={deployment}:app=azul-{app}'},
                'source_code_hash': f'${{filebase64sha256("{zip_}")}}', 'filename': zip_,
                'role': role}

    functions = {'api_handler': function(f'azul-{app}-{deployment}', 'app.app')}
    sources = {}
    if app == 'indexer':
        arn = ('arn:${data.aws_partition.chalice.partition}:sqs:${data.aws_region.chalice.name}:'
               '${data.aws_caller_identity.chalice.account_id}:')
        for handler, queue in SQS_HANDLERS.items():
            functions[handler] = function(f'azul-{app}-{deployment}-{handler}', f'app.{handler}')
            sources[f'{handler}-sqs-event-source'] = {
                'event_source_arn': arn + queue_name(queue, deployment),
                'batch_size': 10, 'maximum_batching_window_in_seconds': 0,
                'function_name': f'${{aws_lambda_function.{handler}.arn}}'}
    swagger = json.dumps({'paths': {'/health': {'get': {'x-amazon-apigateway-integration': {
        'uri': '${aws_lambda_function.api_handler.invoke_arn}', 'type': 'aws_proxy'}}}}})
    resources = {
        'aws_iam_role': {'default-role': {'name': f'azul-{app}-{deployment}',
                                          'assume_role_policy': '{}'}},
        'aws_iam_role_policy': {'default-role': {'name': 'default-rolePolicy', 'policy': '{}',
                                                 'role': '${aws_iam_role.default-role.id}'}},
        'aws_lambda_function': functions,
        'aws_api_gateway_rest_api': {'rest_api': {
            'body': '${local.chalice_api_swagger}', 'name': f'azul-{app}',
            'endpoint_configuration': {'types': ['EDGE']}}},
        'aws_api_gateway_deployment': {'rest_api': {
            'stage_name': 'api', 'stage_description': '${md5(local.chalice_api_swagger)}',
            'rest_api_id': '${aws_api_gateway_rest_api.rest_api.id}',
            'lifecycle': {'create_before_destroy': True}}},
        'aws_lambda_permission': {'rest_api_invoke': {
            'function_name': '${aws_lambda_function.api_handler.arn}',
            'action': 'lambda:InvokeFunction', 'principal': 'apigateway.amazonaws.com',
            'source_arn': '${aws_api_gateway_rest_api.rest_api.execution_arn}/*'}},
    }
    if sources:
        resources['aws_lambda_event_source_mapping'] = sources
    return {
        'resource': resources,
        'locals': {'chalice_api_swagger': swagger},
        'terraform': {'required_version': '>= 0.12.26, < 1.4.0',
                      'required_providers': {'aws': {'version': '>= 3.61.0, < 5'},
                                             'null': {'version': '>= 2, < 4'}}},
        'data': {'aws_caller_identity': {'chalice': {}}, 'aws_partition': {'chalice': {}},
                 'aws_region': {'chalice': {}},
                 'null_data_source': {'chalice': {'inputs': {'app': f'azul-{app}'}}}},
        'output': {'EndpointURL': {'value': '${aws_api_gateway_deployment.rest_api.invoke_url}'},
                   'RestAPIId': {'value': '${aws_api_gateway_rest_api.rest_api.id}'}},
    }


def _packager(app: str, deployment: terraform.Deployment) -> dict:
    return chalice_document(app, deployment.name)


# What Terraform sees of the plugin zip is its path and its bytes' digest;
# building it takes Maven (test/integration/test_opensearch_plugin_zip.py)
PLUGIN_BYTES = b'the zip of the aggregations'


def _plugin(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(PLUGIN_BYTES)
    return out


def _deployment(name: str, out: Path, build: Path) -> terraform.Deployment:
    return terraform.deployment(name, out=out, build=build, packager=_packager,
                                plugin_builder=_plugin)


def render(name: str, tmp_path: Path) -> dict[str, dict]:
    return terraform.render(_deployment(name, tmp_path / 'terraform', tmp_path / 'build'))


def resources(documents: dict[str, dict], type_: str) -> dict[str, dict]:
    found = {}
    for document in documents.values():
        found.update(document.get('resource', {}).get(type_, {}))
    return found


@pytest.fixture(scope='module')
def dev(tmp_path_factory) -> dict[str, dict]:
    return render('dev', tmp_path_factory.mktemp('dev'))


@pytest.mark.parametrize('name', AWS_DEPLOYMENTS)
def test_every_reference_resolves_and_every_name_is_one_aws_accepts(name, tmp_path):
    documents = render(name, tmp_path)
    assert {'provider.tf.json', 'lambdas.tf.json', 'sqs.tf.json', 'iam.tf.json',
            'opensearch.tf.json', 's3.tf.json', 'alarms.tf.json'} <= set(documents)
    assert terraform.dangling_references(documents) == []
    assert terraform.name_violations(documents) == []
    # Every template writes JSON (no tuples, sets or paths slipping through)
    for document in documents.values():
        assert json.loads(json.dumps(document)) == document


def test_local_deployment_renders_nothing(tmp_path):
    assert render('local', tmp_path) == {}


def test_a_reference_to_nothing_is_found():
    documents = {'a.tf.json': {
        'resource': {'aws_sqs_queue': {'q': {'name': 'q'}},
                     'aws_s3_bucket': {'b': {
                         'bucket': 'b${aws_sqs_queue.q.name}',
                         'policy': '${jsonencode({x = aws_sqs_queue.gone.arn})}',
                         'tags': {'t': '${format("%s", "${aws_kms_key.nokey.arn}")}'},
                         'depends_on': ['aws_sqs_queue.missing']}}},
        'output': {'o': {'value': '${data.aws_region.current.name} ${local.nothing}'}},
    }}
    assert sorted(ref for _, ref in terraform.dangling_references(documents)) == [
        'aws_kms_key.nokey', 'aws_sqs_queue.gone', 'aws_sqs_queue.missing',
        'data.aws_region.current', 'local.nothing']
    documents['a.tf.json'].update(data={'aws_region': {'current': {}}}, locals={'nothing': 1})
    documents['a.tf.json']['resource'].update(aws_kms_key={'nokey': {}})
    assert sorted(ref for _, ref in terraform.dangling_references(documents)) == [
        'aws_sqs_queue.gone', 'aws_sqs_queue.missing']


def test_a_name_aws_refuses_is_found():
    documents = {'a.tf.json': {'resource': {
        'aws_lambda_function': {'f': {'function_name': 'f' * 65}},
        'aws_sqs_queue': {'ok': {'name': 'q' * 75 + '.fifo'}, 'long': {'name': 'q' * 81},
                          'dotted': {'name': 'a.b'}},
        'aws_s3_bucket': {'upper': {'bucket': 'Azul'}, 'short': {'bucket': 'ab'},
                          'computed': {'bucket': 'azul-${data.x.y.z}'}},
        'aws_opensearch_domain': {'d': {'domain_name': '1azul'}},
        'aws_iam_role': {'r': {}},
    }}}
    violations = terraform.name_violations(documents)
    assert len(violations) == 7, violations
    assert not any('.ok.' in v or '.computed.' in v for v in violations)


def test_queues_are_named_as_the_code_sends_to_them(dev):
    queues = resources(dev, 'aws_sqs_queue')
    for queue in QUEUES:
        fifo = queue in FIFO_QUEUES
        for key, fail in ((queue, False), (f'{queue}_fail', True)):
            assert queues[key]['name'] == queue_name(queue, 'dev', fail=fail)
            # A FIFO queue's fail queue must be FIFO too
            assert queues[key].get('fifo_queue', False) is fifo
            assert queues[key]['kms_master_key_id'] == '${aws_kms_key.azul.arn}'
        policy = json.loads(queues[queue]['redrive_policy'])
        assert policy == {'deadLetterTargetArn': f'${{aws_sqs_queue.{queue}_fail.arn}}',
                          'maxReceiveCount': MAX_ATTEMPTS}
    assert queues[TALLIES]['content_based_deduplication'] is False
    assert queues[TALLIES]['name'] == 'azul-tallies-dev.fifo'


def test_event_sources_read_our_queues_and_report_failed_messages(dev):
    mappings = resources(dev, 'aws_lambda_event_source_mapping')
    assert {m['event_source_arn'] for m in mappings.values()} == {
        f'${{aws_sqs_queue.{queue}.arn}}' for queue in QUEUES}
    for name, mapping in mappings.items():
        handler = name.removeprefix('indexer_').removesuffix('_sqs_event_source')
        assert mapping['event_source_arn'] == f'${{aws_sqs_queue.{SQS_HANDLERS[handler]}.arn}}'
        assert mapping['function_response_types'] == ['ReportBatchItemFailures']
        assert mapping['function_name'] == f'${{aws_lambda_function.indexer_{handler}.arn}}'
        # Lambda never polls more than the function may take
        reserved = resources(dev, 'aws_lambda_function')[f'indexer_{handler}'][
            'reserved_concurrent_executions']
        assert mapping['scaling_config'] == {'maximum_concurrency': reserved}
    queues = resources(dev, 'aws_sqs_queue')
    functions = resources(dev, 'aws_lambda_function')
    for handler, queue in SQS_HANDLERS.items():
        assert functions[f'indexer_{handler}']['timeout'] \
            <= queues[queue]['visibility_timeout_seconds']


def test_functions_get_the_deployment_environment_and_our_roles(dev):
    functions = resources(dev, 'aws_lambda_function')
    assert set(functions) == {'indexer_api_handler', 'indexer_contribute',
                              'indexer_aggregate', 'service_api_handler'}
    expected = lambda_environment('dev')
    for name, function in functions.items():
        variables = function['environment']['variables']
        assert {k: v for k, v in variables.items() if k in expected} == expected
        assert variables['AZUL_MANIFEST_BUCKET'] == '${aws_s3_bucket.manifests.id}'
        assert variables['AZUL_ES_ENDPOINT'] == 'https://${aws_opensearch_domain.index.endpoint}'
        assert not set(variables) & set(secret_names())
        # What /version reports on Lambda, from the rendering checkout
        assert re.fullmatch(r'[0-9a-f]{40}', variables['AZUL_GIT_COMMIT'])
        assert variables['AZUL_GIT_DIRTY'] in ('true', 'false')
        app = name.partition('_')[0]
        assert function['role'] == f'${{aws_iam_role.{app}.arn}}'
        assert function['reserved_concurrent_executions'] > 0
        assert function['filename'].endswith(f'/build/{app}/deployment.zip')
        assert function['filename'] in function['source_code_hash']
    # Chalice's own role, and the `null` provider Terraform has no plugin for, are gone
    lambdas = dev['lambdas.tf.json']
    assert 'data' not in lambdas and 'terraform' not in lambdas
    assert set(resources(dev, 'aws_iam_role')) == {'indexer', 'service'}
    assert 'null' not in json.dumps(dev['provider.tf.json']['terraform'])


def _statements(documents, app) -> dict[str, dict]:
    policy = json.loads(resources(documents, 'aws_iam_role_policy')[app]['policy'])
    return {s['Sid']: s for s in policy['Statement']}


def test_roles_allow_each_function_what_it_calls_and_no_more(dev):
    indexer, service = _statements(dev, 'indexer'), _statements(dev, 'service')
    for statements in (indexer, service):
        for sid, statement in statements.items():
            assert (statement['Resource'] == ['*']) == (sid == 'Tracing'), sid
            assert not any(a.endswith('*') for a in statement['Action'])
        assert statements['Secret']['Resource'] == ['${aws_secretsmanager_secret.azul.arn}']
    assert 'sqs:ReceiveMessage' in indexer['Queues']['Action']
    assert 'es:ESHttpDelete' in indexer['Index']['Action']
    assert set(service['Index']['Action']) == {'es:ESHttpGet', 'es:ESHttpHead', 'es:ESHttpPost'}
    assert set(service['Queues']['Action']) == {'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'}
    assert 'Manifests' not in indexer
    secret = resources(dev, 'aws_secretsmanager_secret')['azul']
    assert secret['name'] == secret_id('dev')
    assert 'secret_string' not in json.dumps(dev)


def test_manifests_expire_after_their_links(dev):
    bucket = resources(dev, 'aws_s3_bucket')['manifests']
    assert bucket['bucket'].startswith('azul-dev-manifests-')
    rule, = resources(dev, 'aws_s3_bucket_lifecycle_configuration')['manifests']['rule']
    # 7 days of AZUL_MANIFEST_EXPIRATION (the default), and one more
    assert rule['expiration'] == {'days': 8}
    block = resources(dev, 'aws_s3_bucket_public_access_block')['manifests']
    assert all(block[k] is True for k in block if k != 'bucket')


def test_alarms_watch_fail_queues_apis_and_functions(dev):
    alarms = resources(dev, 'aws_cloudwatch_metric_alarm')
    queues = resources(dev, 'aws_sqs_queue')
    watched = {a['dimensions'].get('QueueName') for a in alarms.values()}
    assert {queues[f'{q}_fail']['name'] for q in QUEUES} <= watched
    apis = {a['dimensions']['ApiName'] for a in alarms.values() if 'ApiName' in a['dimensions']}
    assert apis == {r['name'] for r in resources(dev, 'aws_api_gateway_rest_api').values()}
    stages = {r['stage_name'] for r in resources(dev, 'aws_api_gateway_stage').values()}
    assert {a['dimensions']['Stage'] for a in alarms.values() if 'Stage' in a['dimensions']} \
        == stages
    functions = {a['dimensions'].get('FunctionName') for a in alarms.values()}
    assert {f['function_name'] for f in resources(dev, 'aws_lambda_function').values()} \
        <= functions
    assert all(a['alarm_actions'] == ['${aws_sns_topic.alarms.arn}'] for a in alarms.values())
    assert len({a['alarm_name'] for a in alarms.values()}) == len(alarms)


def test_merge_refuses_what_it_does_not_understand():
    document = chalice_document('indexer', 'dev')
    kwargs = dict(deployment='prod', zip_path='x.zip', environment={}, functions={})
    # Packaged for another deployment: its event sources read queues we don't make
    with pytest.raises(ConfigError, match='none of our queues'):
        chalice.merge('indexer', document, **kwargs)
    document['resource']['aws_sns_topic'] = {'t': {}}
    with pytest.raises(ConfigError, match='aws_sns_topic'):
        chalice.merge('indexer', document, **{**kwargs, 'deployment': 'dev'})


def test_bootstrap_makes_the_bucket_the_backend_uses(tmp_path):
    d = _deployment('dev', tmp_path, tmp_path)
    documents = terraform.render(d, terraform.BOOTSTRAP)
    assert terraform.dangling_references(documents) == []
    bucket = resources(documents, 'aws_s3_bucket')['state']['bucket']
    assert bucket == terraform.state_bucket('dev', '${data.aws_caller_identity.current.account_id}')
    main = render('dev', tmp_path)
    assert 'bucket' not in main['provider.tf.json']['terraform']['backend']['s3']


def test_write_replaces_an_earlier_rendering(tmp_path):
    (tmp_path / 'old.tf.json').write_text('{}')
    (tmp_path / 'keep.txt').write_text('')
    terraform.write({'new.tf.json': {'locals': {'a': 1}}}, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['keep.txt', 'new.tf.json']


def test_the_service_answers_at_the_host_of_its_url(dev):
    host = urlparse(lambda_environment('dev')['AZUL_SERVICE_URL']).hostname
    domain = resources(dev, 'aws_api_gateway_domain_name')['service']
    assert domain['domain_name'] == host
    mapping = resources(dev, 'aws_api_gateway_base_path_mapping')['service']
    assert mapping['api_id'] == '${aws_api_gateway_rest_api.service_rest_api.id}'
    assert resources(dev, 'aws_route53_record')['service']['name'] == host
    zone = dev['domain.tf.json']['data']['aws_route53_zone']['azul']['name']
    assert host == f'service.{zone}'


def test_stages_log_with_the_role_the_bootstrap_sets(tmp_path, dev):
    d = _deployment('dev', tmp_path, tmp_path)
    bootstrap = terraform.render(d, terraform.BOOTSTRAP)
    account = resources(bootstrap, 'aws_api_gateway_account')['account']
    assert account['cloudwatch_role_arn'] == '${aws_iam_role.apigateway.arn}'
    for name, stage in resources(dev, 'aws_api_gateway_stage').items():
        assert stage['access_log_settings']['destination_arn'] \
            == f'${{aws_cloudwatch_log_group.{name}.arn}}'
        assert resources(dev, 'aws_api_gateway_method_settings')[name]['settings'][
            'logging_level'] == 'ERROR'


@pytest.mark.parametrize('name', AWS_DEPLOYMENTS)
def test_deployments_can_share_an_account(name, tmp_path):
    # Every name AWS keeps unique per account (or globally) holds the deployment's
    documents = render(name, tmp_path)
    for type_, attribute in [('aws_lambda_function', 'function_name'), ('aws_sqs_queue', 'name'),
                             ('aws_s3_bucket', 'bucket'), ('aws_iam_role', 'name'),
                             ('aws_opensearch_domain', 'domain_name'),
                             ('aws_cloudwatch_metric_alarm', 'alarm_name'),
                             ('aws_sns_topic', 'name'), ('aws_cloudwatch_log_group', 'name'),
                             ('aws_secretsmanager_secret', 'name'), ('aws_kms_alias', 'name'),
                             ('aws_api_gateway_rest_api', 'name'),
                             ('aws_cloudwatch_log_resource_policy', 'policy_name'),
                             ('aws_api_gateway_domain_name', 'domain_name')]:
        blocks = resources(documents, type_)
        assert blocks, type_
        for block in blocks.values():
            assert re.search(rf'(^|[-/.]){name}($|[-/.])', block[attribute]), \
                (type_, block[attribute])


def test_api_gateway_answers_its_own_errors_as_the_apps_do(dev):
    # Issue 12: a route or method the API lacks was API Gateway's 403
    # "Missing Authentication Token"; the local server answers a JSON 404
    responses = resources(dev, 'aws_api_gateway_gateway_response')
    for app in ('indexer', 'service'):
        missing = responses[f'{app}_rest_api_missing_authentication_token']
        assert missing['rest_api_id'] == f'${{aws_api_gateway_rest_api.{app}_rest_api.id}}'
        assert missing['status_code'] == '404'
        assert '"Code": "NotFoundError"' in missing['response_templates']['application/json']
        for kind in ('default_4xx', 'default_5xx'):
            body = responses[f'{app}_rest_api_{kind}']['response_templates']['application/json']
            assert body == ('{"Code": "$context.error.responseType", '
                            '"Message": $context.error.messageString}')
    cors = 'gatewayresponse.header.Access-Control-Allow-Origin'
    assert responses['service_rest_api_default_4xx']['response_parameters'] == {cors: "'*'"}
    assert 'response_parameters' not in responses['indexer_rest_api_default_4xx']
    # A new deployment of the API whenever they change
    triggers = resources(dev, 'aws_api_gateway_deployment')['service_rest_api']['triggers']
    assert set(triggers) == {'redeployment', 'responses'}


def test_the_zip_of_azul_aggregations_is_uploaded_for_the_domain(tmp_path):
    d = _deployment('dev', tmp_path / 'terraform', tmp_path / 'build')
    documents = terraform.render(d)
    # MD5 of PLUGIN_BYTES, by hashlib rather than by our code
    digest = hashlib.md5(PLUGIN_BYTES).hexdigest()
    [source] = resources(documents, 'aws_s3_object').values()
    assert source['key'] == f'opensearch/azul-aggregations-{digest}.zip'
    # The zip Terraform uploads is the one built, relative to the configuration
    path = Path(source['source'].replace('${path.module}', str(tmp_path / 'terraform')))
    assert path.resolve().read_bytes() == PLUGIN_BYTES
    assert source['kms_key_id'] == '${aws_kms_key.azul.arn}'
    # A bucket of its own: the manifests' one expires what it holds
    buckets = resources(documents, 'aws_s3_bucket')
    assert buckets['packages']['bucket'] == \
        'azul-dev-packages-${data.aws_caller_identity.current.account_id}'
    rules = resources(documents, 'aws_s3_bucket_lifecycle_configuration')['packages']['rule']
    assert all('expiration' not in rule for rule in rules)
    # What `make deploy` hands azul.deploy.opensearch_plugin: a package for
    # the domain's engine, named after the deployment and the zip's bytes
    [domain] = resources(documents, 'aws_opensearch_domain').values()
    assert documents['opensearch.tf.json']['output']['opensearch_plugin']['value'] == {
        'package_name': f'azul-dev-aggs-{digest[:8]}',
        'bucket': '${aws_s3_bucket.packages.id}',
        'key': '${aws_s3_object.opensearch_plugin.key}',
        'domain': '${aws_opensearch_domain.index.domain_name}',
        'engine_version': 'OpenSearch_2.19',
        'description': "Azul's aggregations azul_facet_counts and azul_summary",
    }
    assert domain['engine_version'] == 'OpenSearch_2.19'
