"""
CloudWatch alarms, published to the deployment's SNS topic (subscribe to it
by e-mail or chat, outside Terraform: a subscription needs confirming): a
message in a fail queue, an API answering 5xx to more than 1% of requests,
a function raising. The SQS handlers report failed messages instead of
raising, so their failures show in the fail queues, not as Lambda errors.
"""
from azul.deploy.chalice import APPS, resource_name
from azul.indexer.queue import QUEUES
from azul.indexer.sqs import queue_name

PERIOD = 300


def _alarm(deployment, name: str, description: str, **metric) -> dict:
    return {
        'alarm_name': f'{deployment.prefix}-{name}',
        'alarm_description': description,
        'evaluation_periods': 1,
        'period': PERIOD,
        'treat_missing_data': 'notBreaching',
        'alarm_actions': ['${aws_sns_topic.alarms.arn}'],
        'ok_actions': ['${aws_sns_topic.alarms.arn}'],
        **metric,
    }


def template(deployment) -> dict:
    alarms = {}
    for queue in QUEUES:
        name = queue_name(queue, deployment.name, fail=True)
        alarms[f'{queue}_fail'] = _alarm(
            deployment, f'{queue}-fail-queue',
            f'Messages of {name} failed {queue} processing; see `azul queues`',
            namespace='AWS/SQS', metric_name='ApproximateNumberOfMessagesVisible',
            dimensions={'QueueName': name}, statistic='Maximum',
            comparison_operator='GreaterThanThreshold', threshold=0)
    for app in APPS:
        # 5XXError is 0 or 1 per request, so its average is the rate
        alarms[f'{app}_5xx'] = _alarm(
            deployment, f'{app}-5xx',
            f'More than 1% of the {app} API\'s requests failed with a 5xx',
            namespace='AWS/ApiGateway', metric_name='5XXError',
            dimensions={'ApiName': f'azul-{app}-{deployment.name}', 'Stage': deployment.name},
            statistic='Average', comparison_operator='GreaterThanThreshold', threshold=0.01)
        functions = deployment.chalice(app)['resource']['aws_lambda_function']
        for name, function in functions.items():
            # azul-indexer-dev-contribute: azul-dev-indexer-contribute-errors
            role = function['function_name'].removeprefix(f'azul-{app}-{deployment.name}')
            alarms[f'{resource_name(app, name)}_errors'] = _alarm(
                deployment, f'{app}{role}-errors',
                f'Lambda function {function["function_name"]} raised',
                namespace='AWS/Lambda', metric_name='Errors',
                dimensions={'FunctionName': function['function_name']},
                statistic='Sum', comparison_operator='GreaterThanThreshold', threshold=0)
    return {'resource': {
        'aws_sns_topic': {'alarms': {
            'name': f'{deployment.prefix}-alarms',
            'kms_master_key_id': '${aws_kms_key.azul.arn}',
        }},
        'aws_cloudwatch_metric_alarm': alarms,
    }}
