"""The Terraform templates render valid JSON that matches the code's assumptions."""
import importlib.util
import json
from pathlib import Path

from azul import envfiles
from azul.config import Config
from azul.indexer.queue import MAX_ATTEMPTS

ROOT = Path(__file__).resolve().parents[2]


def _render(tmp_path, deployment: str) -> dict[str, dict]:
    spec = importlib.util.spec_from_file_location('render_terraform',
                                                  ROOT / 'scripts' / 'render_terraform.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for template in (ROOT / 'terraform').glob('*.template.py'):
        (tmp_path / template.name).write_text(template.read_text())
    env = envfiles.evaluate({'AZUL_DEPLOYMENT': deployment,
                             'AZUL_ES_ENDPOINT': 'https://search.example.org'}, ROOT)
    env.update(AZUL_DEPLOYMENT=deployment, AZUL_ES_ENDPOINT='https://search.example.org')
    paths = module.render(Config.from_env(env), tmp_path)
    return {p.name: json.loads(p.read_text()) for p in paths}


def test_dev_deployment_gets_queues_with_fail_queues_and_a_domain(tmp_path):
    rendered = _render(tmp_path, 'dev')
    queues = rendered['sqs.tf.json']['resource']['aws_sqs_queue']
    assert queues['notifications']['name'] == 'azul-notifications-dev'
    assert queues['tallies_fail']['name'] == 'azul-tallies-fail-dev'
    policy = json.loads(queues['tallies']['redrive_policy'])
    assert policy['maxReceiveCount'] == MAX_ATTEMPTS
    assert policy['deadLetterTargetArn'] == '${aws_sqs_queue.tallies_fail.arn}'
    domain = rendered['opensearch.tf.json']['resource']['aws_opensearch_domain']['index']
    assert domain['domain_name'] == 'azul-index-dev'


def test_local_deployment_has_no_search_domain(tmp_path):
    rendered = _render(tmp_path, 'local')
    assert 'opensearch.tf.json' not in rendered
    assert 'sqs.tf.json' in rendered
