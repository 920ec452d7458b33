"""
Rendering a deployment's Terraform configuration from the templates in
terraform/ (`<name>.tf.json.template.py`, each with a `template(deployment)`
returning the document of `<name>.tf.json`), and the checks every rendered
configuration must pass before Terraform sees it.

Only deployments whose indexer runs on AWS (AZUL_QUEUE=sqs) render anything:
`local` has no cloud resources, so its rendering is empty.
"""
import functools
import hashlib
import importlib.util
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from azul.config import Config
from azul.deploy import chalice
from azul.deploy.environment import TERRAFORM_PROVIDED, deployment_settings, lambda_environment
from azul.envfiles import project_root
from azul.service.version import git_info

TEMPLATES = project_root() / 'terraform'
BOOTSTRAP = TEMPLATES / 'bootstrap'

#: chalice.tf.json of an app in a deployment (`chalice.package` by default)
Packager = Callable[[str, 'Deployment'], dict]


def _package(app: str, deployment: 'Deployment') -> dict:
    return chalice.package(app, deployment.name, deployment.config.aws_region,
                           outdir=deployment.build / app)


#: Writes the zip of Azul's OpenSearch aggregations at a path and returns it
#: (scripts/opensearch/plugin.py by default, which builds them with Maven)
PluginBuilder = Callable[[Path], Path]


def _plugin(out: Path) -> Path:
    path = project_root() / 'scripts' / 'opensearch' / 'plugin.py'
    spec = importlib.util.spec_from_file_location('azul_opensearch_plugin', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_zip(out)


@attrs.frozen
class Deployment:
    """What a template sees of the deployment it renders."""

    name: str
    settings: Mapping[str, str]
    config: Config
    #: Where the rendered files go, for paths Terraform resolves (the zips)
    out: Path
    #: Where `chalice package` writes each app's zip (build/<deployment>/<app>)
    build: Path
    packager: Packager = attrs.field(default=_package, eq=False)
    plugin_builder: PluginBuilder = attrs.field(default=_plugin, eq=False)
    _cache: dict = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def on_aws(self) -> bool:
        return self.config.queue == 'sqs'

    @property
    def prefix(self) -> str:
        return f'azul-{self.name}'

    def lambda_environment(self) -> dict[str, str]:
        """
        The functions' variables: the deployment's settings that apply on
        Lambda, plus what Terraform knows only once it made the resources.
        """
        environment = lambda_environment(self.name)
        # /version: a function has no .git to ask, so it gets what the
        # checkout that renders it says
        git = git_info({})
        environment['AZUL_GIT_COMMIT'] = str(git['commit'])
        environment['AZUL_GIT_DIRTY'] = 'true' if git['dirty'] else 'false'
        environment['AZUL_MANIFEST_BUCKET'] = '${aws_s3_bucket.manifests.id}'
        if self.config.index_backend == 'opensearch':
            environment['AZUL_ES_ENDPOINT'] = 'https://${aws_opensearch_domain.index.endpoint}'
        return environment

    def chalice(self, app: str) -> dict:
        if app not in self._cache:
            self._cache[app] = self.packager(app, self)
        return self._cache[app]

    def zip_path(self, app: str) -> str:
        return self._module_path(self.build / app / 'deployment.zip')

    def _module_path(self, path: Path) -> str:
        return '${path.module}/' + os.path.relpath(path, self.out)

    def opensearch_plugin(self) -> tuple[str, str]:
        """
        The zip of Azul's OpenSearch aggregations, built now: its path for
        Terraform and the MD5 of its bytes, which names its S3 object.
        """
        if 'plugin' not in self._cache:
            path = self.plugin_builder(self.build / 'opensearch' / 'azul-aggregations.zip')
            digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
            self._cache['plugin'] = (self._module_path(path), digest)
        return self._cache['plugin']


def deployment(name: str, out: Path = TEMPLATES, build: Path | None = None,
               packager: Packager = _package, plugin_builder: PluginBuilder = _plugin
               ) -> Deployment:
    settings = deployment_settings(name)
    stand_ins = {k: v for k, v in TERRAFORM_PROVIDED.items() if not settings.get(k)}
    config = Config.from_env({**settings, **stand_ins})
    build = project_root() / 'build' / name if build is None else build
    return Deployment(name, settings, config, out, build, packager, plugin_builder)


def assume_role_policy(service: str) -> str:
    """The trust policy of a role that the AWS service (e.g. `lambda.amazonaws.com`) assumes."""
    return json.dumps({
        'Version': '2012-10-17',
        'Statement': [{
            'Effect': 'Allow',
            'Principal': {'Service': service},
            'Action': 'sts:AssumeRole',
        }],
    })


def state_bucket(deployment: str, account: str) -> str:
    """
    The bucket of the deployment's Terraform state. Bucket names are global,
    so the account's id makes it ours.
    """
    return f'azul-{deployment}-terraform-state-{account}'


def _templates(directory: Path) -> Iterator[tuple[str, Any]]:
    for path in sorted(directory.glob('*.tf.json.template.py')):
        name = path.name.removesuffix('.template.py')
        spec = importlib.util.spec_from_file_location(f'_azul_tf_{name.replace(".", "_")}', path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield name, module


def render(d: Deployment, templates: Path = TEMPLATES) -> dict[str, dict]:
    """The documents of every template, by file name; empty ones left out."""
    if not d.on_aws:
        return {}
    documents = {}
    for name, module in _templates(templates):
        document = module.template(d)
        if document:
            documents[name] = document
    return documents


def write(documents: Mapping[str, dict], out: Path) -> list[Path]:
    """Write the documents into `out`, removing what an earlier rendering left."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob('*.tf.json'):
        if stale.name not in documents:
            stale.unlink()
    written = []
    for name, document in documents.items():
        path = out / name
        path.write_text(json.dumps(document, indent=4) + '\n')
        written.append(path)
    return written


# Checks ----------------------------------------------------------------------

_interpolation = re.compile(r'\$\{')
_ref = re.compile(r'(?<![\w.])(data\.[a-z0-9_]+\.[A-Za-z0-9_-]+|aws_[a-z0-9_]+\.[A-Za-z0-9_-]+'
                  r'|var\.[A-Za-z0-9_-]+|local\.[A-Za-z0-9_-]+|module\.[A-Za-z0-9_-]+'
                  r'|path\.[a-z]+|terraform\.[a-z]+)')


def _interpolations(text: str) -> Iterator[str]:
    """The bodies of `${...}` in a string, nested braces and quotes included."""
    i = 0
    while (match := _interpolation.search(text, i)) is not None:
        start = j = match.end()
        depth, quoted = 1, False
        while j < len(text) and depth:
            c = text[j]
            if quoted:
                if c == '\\':
                    j += 1
                elif c == '"':
                    quoted = False
            elif c == '"':
                quoted = True
            elif c == '{':
                depth += 1
            elif c == '}':
                depth -= 1
            j += 1
        yield text[start:j - 1]
        i = j


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def declared(documents: Mapping[str, dict]) -> set[str]:
    names = {'path.module', 'path.root', 'path.cwd', 'terraform.workspace'}
    for document in documents.values():
        for type_, blocks in document.get('resource', {}).items():
            names.update(f'{type_}.{name}' for name in blocks)
        for type_, blocks in document.get('data', {}).items():
            names.update(f'data.{type_}.{name}' for name in blocks)
        names.update(f'var.{name}' for name in document.get('variable', {}))
        names.update(f'local.{name}' for name in document.get('locals', {}))
        names.update(f'module.{name}' for name in document.get('module', {}))
    return names


def dangling_references(documents: Mapping[str, dict]) -> list[tuple[str, str]]:
    """(file, reference) of every `${...}` reference to nothing declared."""
    known = declared(documents)
    dangling = []
    for file, document in documents.items():
        for text in _strings(document):
            for body in _interpolations(text):
                # A string literal inside an expression holds no reference
                body = re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: ' '.join(_interpolations(m[0])), body)
                for reference in _ref.findall(body):
                    if reference not in known:
                        dangling.append((file, reference))
        for blocks in document.get('resource', {}).values():
            for block in blocks.values():
                for dependency in block.get('depends_on', []):
                    if dependency not in known:
                        dangling.append((file, dependency))
    return dangling


@functools.cache
def _limits() -> list[tuple[str, str, re.Pattern, str]]:
    """(resource type, attribute, pattern it must match in full, AWS's rule)"""
    return [(type_, attribute, re.compile(pattern), rule) for type_, attribute, pattern, rule in [
        ('aws_lambda_function', 'function_name', r'[A-Za-z0-9_-]{1,64}', '1-64 of [A-Za-z0-9_-]'),
        ('aws_sqs_queue', 'name', r'[A-Za-z0-9_-]{1,75}\.fifo|[A-Za-z0-9_-]{1,80}',
         '1-80 of [A-Za-z0-9_-], .fifo included'),
        ('aws_s3_bucket', 'bucket', r'(?!xn--)(?!.*-s3alias$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]',
         '3-63 of [a-z0-9.-], starting and ending with a letter or digit'),
        ('aws_iam_role', 'name', r'[\w+=,.@-]{1,64}', '1-64 of [\\w+=,.@-]'),
        ('aws_iam_role_policy', 'name', r'[\w+=,.@-]{1,128}', '1-128 of [\\w+=,.@-]'),
        ('aws_opensearch_domain', 'domain_name', r'[a-z][a-z0-9-]{2,27}',
         '3-28 of [a-z0-9-], starting with a letter'),
        ('aws_cloudwatch_metric_alarm', 'alarm_name', r'[^\x00-\x1f]{1,255}',
         '1-255 printable characters'),
        ('aws_sns_topic', 'name', r'[A-Za-z0-9_-]{1,256}', '1-256 of [A-Za-z0-9_-]'),
        ('aws_cloudwatch_log_group', 'name', r'[\w/.#-]{1,512}', '1-512 of [\\w/.#-]'),
        ('aws_secretsmanager_secret', 'name', r'[\w/+=.@-]{1,512}', '1-512 of [\\w/+=.@-]'),
        ('aws_api_gateway_rest_api', 'name', r'.{1,1024}', '1-1024 characters'),
        ('aws_api_gateway_stage', 'stage_name', r'[A-Za-z0-9_-]{1,128}',
         '1-128 of [A-Za-z0-9_-]'),
        ('aws_kms_alias', 'name', r'alias/[A-Za-z0-9/_-]{1,250}', 'alias/ and [A-Za-z0-9/_-]'),
    ]]


#: Stand-ins for what only AWS knows, as long as the real thing can be
ACCOUNT_STAND_IN = {'${data.aws_caller_identity.current.account_id}': '123456789012'}


def name_violations(documents: Mapping[str, dict]) -> list[str]:
    """
    Every name of a resource that AWS would refuse. A name computed by
    Terraform is checked with the stand-in for the account's id, or not at
    all.
    """
    violations = []
    for document in documents.values():
        for type_, attribute, pattern, rule in _limits():
            for name, block in document.get('resource', {}).get(type_, {}).items():
                value = block.get(attribute)
                for reference, stand_in in ACCOUNT_STAND_IN.items():
                    value = value and value.replace(reference, stand_in)
                if value is None:
                    violations.append(f'{type_}.{name}: no {attribute}')
                elif '${' not in value and not pattern.fullmatch(value):
                    violations.append(f'{type_}.{name}.{attribute} = {value!r}: AWS allows {rule}')
    return violations
