"""
The Lambda functions and REST APIs of the two Chalice apps, as Terraform.

`chalice package --pkg-format terraform` writes a deployment.zip and a
chalice.tf.json meant to be a Terraform module of its own. Both apps go into
one configuration with the rest of a deployment, so `merge` turns each into
a fragment of ours: resource names get the app as prefix (both apps call
their function `api_handler`), the role Chalice makes (wildcard SQS access)
gives way to the app's role from iam.tf.json, the event sources point at our
queue resources instead of ARNs spelled from names, and the providers this
machine's Terraform lacks (`null`) are dropped.
"""
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from azul.envfiles import project_root
from azul.errors import ConfigError
from azul.indexer.queue import QUEUES
from azul.indexer.sqs import queue_name

APPS = ('indexer', 'service')

# `${type.name...}` or `${data.type.name...}` or `${local.name}` inside a string
_reference = re.compile(r'\b(data\.)?(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)|\blocal\.([A-Za-z0-9_]+)')


def package(app: str, deployment: str, region: str,
            project_dir: Path | None = None, outdir: Path | None = None) -> dict:
    """
    Run `chalice package` for the app (the project `azul.deploy.package`
    assembles, unless given) and return its chalice.tf.json. The zip lands
    next to it, in `outdir` (build/<deployment>/<app>/).
    """
    from azul.deploy.package import chalice_package, prepare_app
    project_dir = prepare_app(app, deployment) if project_dir is None else project_dir
    outdir = project_root() / 'build' / deployment / app if outdir is None else outdir
    chalice_package(app, project_dir, outdir, deployment, region)
    return json.loads((outdir / 'chalice.tf.json').read_text())


def _rewrite(value: Any, rename: Callable[[str | None, str, str], str | None],
             rename_local: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        def substitute(match: re.Match) -> str:
            if match[4] is not None:
                return f'local.{rename_local.get(match[4], match[4])}'
            new = rename(match[1], match[2], match[3])
            return match[0] if new is None else new
        return _reference.sub(substitute, value)
    if isinstance(value, dict):
        return {k: _rewrite(v, rename, rename_local) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, rename, rename_local) for v in value]
    return value


#: The answers API Gateway gives itself, in the shape of the apps' own
#: errors. A route or method the API lacks is API Gateway's
#: MISSING_AUTHENTICATION_TOKEN (a 403 "Missing Authentication Token", as
#: for an unsigned request to an IAM-authorized route, which these APIs have
#: none of): a 404 as the local server answers. `messageString` is the
#: message as a quoted JSON string.
_GATEWAY_RESPONSES = {
    'MISSING_AUTHENTICATION_TOKEN': (
        '404', '{"Code": "NotFoundError", "Message": "No such route or method: '
               '$context.httpMethod $context.resourcePath"}'),
    'DEFAULT_4XX': (None, '{"Code": "$context.error.responseType", '
                          '"Message": $context.error.messageString}'),
    'DEFAULT_5XX': (None, '{"Code": "$context.error.responseType", '
                          '"Message": $context.error.messageString}'),
}


def gateway_responses(app: str, api: str) -> dict[str, dict]:
    responses = {}
    for kind, (status, body) in _GATEWAY_RESPONSES.items():
        response: dict[str, Any] = {
            'rest_api_id': f'${{aws_api_gateway_rest_api.{api}.id}}',
            'response_type': kind,
            'response_templates': {'application/json': body},
        }
        if status is not None:
            response['status_code'] = status
        if app == 'service':
            # A portal on another origin reads the service's errors too; the
            # indexer is no CORS resource (see lambdas/indexer/app.py)
            response['response_parameters'] = {
                'gatewayresponse.header.Access-Control-Allow-Origin': "'*'"}
        responses[f'{api}_{kind.lower()}'] = response
    return responses


def _digest(value: Any) -> str:
    import hashlib
    return hashlib.md5(json.dumps(value, sort_keys=True).encode()).hexdigest()


def resource_name(app: str, chalice_name: str) -> str:
    return f'{app}_{chalice_name.replace("-", "_")}'


def merge(app: str, document: Mapping[str, Any], *,
          deployment: str,
          zip_path: str,
          environment: Mapping[str, str],
          functions: Mapping[str, Mapping[str, Any]]) -> dict:
    """
    Our fragment for the app from its chalice.tf.json.

    `zip_path`: the deployment.zip as Terraform should find it (relative to
    the configuration's directory, so that the state does not depend on where
    the checkout is). `functions`: the attributes that override Chalice's per
    function (by Chalice's resource name, e.g. `api_handler`: memory size,
    timeout, reserved concurrency), so that a stage missing from
    .chalice/config.json gets the same functions as one that is there.
    """
    resources = document['resource']
    dropped = {'aws_iam_role', 'aws_iam_role_policy'}
    known = ('aws_lambda', 'aws_api_gateway')
    unknown = {t for t in resources if not t.startswith(known)} - dropped
    if unknown:
        raise ConfigError(f'chalice package of {app} made resources this merge does not know: '
                          f'{sorted(unknown)}')
    queues = {queue_name(queue, deployment): queue for queue in QUEUES}

    def rename(data: str | None, type_: str, name: str) -> str | None:
        if data:
            # Chalice's own data sources, one set per module; ours are `current`
            return f'data.{type_}.current'
        if type_ == 'aws_iam_role':
            return f'aws_iam_role.{app}'
        if type_ in resources and name in resources[type_]:
            return f'{type_}.{resource_name(app, name)}'
        return None

    locals_ = {name: f'{app}_{name.removeprefix("chalice_")}'
               for name in document.get('locals', {})}
    merged: dict[str, dict] = {}
    for type_, blocks in resources.items():
        if type_ in dropped:
            continue
        for name, block in blocks.items():
            block = _rewrite(block, rename, locals_)
            merged.setdefault(type_, {})[resource_name(app, name)] = block
    swagger = f'local.{locals_["chalice_api_swagger"]}'

    zip_hash = f'${{filebase64sha256("{zip_path}")}}'
    for name, function in merged.get('aws_lambda_function', {}).items():
        chalice_name = name.removeprefix(f'{app}_')
        function.update(filename=zip_path, source_code_hash=zip_hash,
                        environment={'variables': dict(environment)},
                        tracing_config={'mode': 'Active'},
                        **functions.get(chalice_name, {}))

    for name, mapping in merged.get('aws_lambda_event_source_mapping', {}).items():
        arn = mapping['event_source_arn']
        queue = queues.get(arn.rpartition(':')[2])
        if queue is None:
            raise ConfigError(f'{app}: event source {name} reads {arn}, none of our queues '
                              f'{sorted(queues)}')
        mapping['event_source_arn'] = f'${{aws_sqs_queue.{queue}.arn}}'
        # The handlers answer which messages of a batch failed; without this
        # Lambda would ignore the answer and redeliver the whole batch
        mapping['function_response_types'] = ['ReportBatchItemFailures']
        # Polling no faster than the function may run: a batch the reserved
        # concurrency throttles goes back to the queue with its receive
        # count up, and after MAX_ATTEMPTS to the fail queue, unprocessed
        function = merged['aws_lambda_function'][_reference.search(mapping['function_name'])[3]]
        reserved = function.get('reserved_concurrent_executions')
        if reserved is not None and reserved >= 2:  # SQS's least maximum
            mapping['scaling_config'] = {'maximum_concurrency': reserved}

    api = resource_name(app, 'rest_api')
    merged['aws_api_gateway_rest_api'][api].update(name=f'azul-{app}-{deployment}',
                                                    lifecycle={'create_before_destroy': True})
    # A stage of its own instead of the deployment's `stage_name` (deprecated
    # in the AWS provider 5), so that it can have access logs and tracing;
    # the deployment is replaced whenever the API's definition changes
    gateway_deployment = merged['aws_api_gateway_deployment'][api]
    gateway_deployment.pop('stage_name', None)
    gateway_deployment.pop('stage_description', None)
    responses = gateway_responses(app, api)
    merged['aws_api_gateway_gateway_response'] = responses
    # A changed gateway response takes effect only with a new deployment
    gateway_deployment['triggers'] = {'redeployment': f'${{md5({swagger})}}',
                                      'responses': _digest(responses)}
    merged['aws_api_gateway_stage'] = {api: {
        'rest_api_id': f'${{aws_api_gateway_rest_api.{api}.id}}',
        'deployment_id': f'${{aws_api_gateway_deployment.{api}.id}}',
        'stage_name': deployment,
        'xray_tracing_enabled': True,
        'access_log_settings': {
            'destination_arn': f'${{aws_cloudwatch_log_group.{api}.arn}}',
            'format': json.dumps({key: f'$context.{key}' for key in (
                'requestId', 'requestTime', 'httpMethod', 'resourcePath', 'status',
                'responseLength', 'integrationLatency', 'identity.sourceIp')}),
        },
    }}
    # Execution logs of failed requests and per-method metrics; both need the
    # account's API Gateway logging role from terraform/bootstrap
    merged['aws_api_gateway_method_settings'] = {api: {
        'rest_api_id': f'${{aws_api_gateway_rest_api.{api}.id}}',
        'stage_name': f'${{aws_api_gateway_stage.{api}.stage_name}}',
        'method_path': '*/*',
        'settings': {'metrics_enabled': True, 'logging_level': 'ERROR',
                     'data_trace_enabled': False},
    }}
    merged['aws_cloudwatch_log_group'] = {api: {
        'name': f'/aws/apigateway/azul-{app}-{deployment}',
        'retention_in_days': 365,
        'kms_key_id': '${aws_kms_key.azul.arn}',
    }}
    for name, function in merged.get('aws_lambda_function', {}).items():
        # Made before the function, so that Lambda does not make one without
        # retention or encryption on first use
        merged['aws_cloudwatch_log_group'][name] = {
            'name': f'/aws/lambda/{function["function_name"]}',
            'retention_in_days': 365,
            'kms_key_id': '${aws_kms_key.azul.arn}',
        }
        function['depends_on'] = [f'aws_cloudwatch_log_group.{name}']

    return {
        'resource': merged,
        'locals': {locals_[k]: _rewrite(v, rename, locals_)
                   for k, v in document.get('locals', {}).items()},
        'output': {
            f'{app}_url': {'value': f'${{aws_api_gateway_stage.{api}.invoke_url}}'},
            f'{app}_rest_api_id': {'value': f'${{aws_api_gateway_rest_api.{api}.id}}'},
        },
    }
