"""
Azul's aggregations as the plugin zip that Amazon OpenSearch Service installs
(scripts/opensearch/plugin.py): its descriptor, its jar, and a node that
loads it the way any node loads an installed plugin, from its home's
plugins/ directory through OpenSearch's own plugin service (descriptor
checks, version range, a class loader of its own, the jar hell check),
without the classes on its classpath. The backend then finds the
aggregations there and its summaries equal the reference semantics.
"""
import importlib.util
import io
import shutil
import subprocess
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from azul.backends.opensearch import OpenSearchBackend
from azul.core.search import reference_summary
from azul_dev import benchdata

ROOT = Path(__file__).resolve().parents[2]

# A node of its own: started once, by one worker
pytestmark = pytest.mark.xdist_group('opensearch_plugin_zip')


def _module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


plugin = _module('azul_opensearch_plugin', ROOT / 'scripts' / 'opensearch' / 'plugin.py')


@pytest.fixture(scope='module')
def built(tmp_path_factory) -> Path:
    return plugin.build_zip(tmp_path_factory.mktemp('plugin') / 'azul-aggregations.zip')


def test_the_zip(built, tmp_path):
    with zipfile.ZipFile(built) as z:
        assert z.namelist() == ['plugin-descriptor.properties', 'azul-aggregations.jar']
        # By hand from pom.xml: OpenSearch 2.19.6, Java 11, version 1.0
        assert z.read('plugin-descriptor.properties').decode().splitlines() == [
            'name=azul-aggregations',
            "description=Azul's aggregations azul_facet_counts and azul_summary",
            'version=1.0',
            'classname=azul.facets.FacetCountsPlugin',
            'java.version=11',
            'dependencies={opensearch:"~2.19.0"}',
        ]
        jar = zipfile.ZipFile(io.BytesIO(z.read('azul-aggregations.jar')))
    names = set(jar.namelist())
    assert {'META-INF/MANIFEST.MF', 'azul/facets/FacetCountsPlugin.class',
            'azul/facets/SummaryBuilder.class', 'azul/facets/SegmentTerms.class'} <= names
    # Only the plugin: the launcher's classes would clash with the node's own
    assert all(n.startswith(('META-INF/', 'azul/facets/')) for n in names)
    # The same bytes from the same classes: the S3 object changes only with them
    again = plugin.build_zip(tmp_path / 'again.zip')
    assert again.read_bytes() == built.read_bytes()


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def node_with_the_zip(built, tmp_path_factory):
    node = plugin._node()
    home = tmp_path_factory.mktemp('home')
    with zipfile.ZipFile(built) as z:
        z.extractall(home / 'plugins' / 'azul-aggregations')
    # The launcher without Azul's classes, which it then does not load itself
    launcher = tmp_path_factory.mktemp('launcher')
    shutil.copytree(node.CLASSES, launcher, dirs_exist_ok=True,
                    ignore=lambda d, names: ['facets'] if Path(d).name == 'azul' else [])
    assert not (launcher / 'azul' / 'facets').exists()
    port = _free_port()
    process = subprocess.Popen(
        [node._java(), '-Xms256m', '-Xmx512m', '-cp', f'{launcher}:{node.LIB}/*', node.MAIN_CLASS,
         '--port', str(port), '--data-dir', str(home), '--exit-on-stdin-close'],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f'http://127.0.0.1:{port}'
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (home / 'logs' / 'node.log')
                    pytest.fail('The node did not start: '
                                + (log.read_text()[-3000:] if log.exists() else 'no log'))
                time.sleep(1)
        yield url
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_node_loads_it_from_its_plugins_directory(node_with_the_zip, tmp_path):
    plugins = urllib.request.urlopen(f'{node_with_the_zip}/_cat/plugins?h=component').read()
    assert 'azul-aggregations' in plugins.decode().split()
    registry = benchdata.registry()
    docs = list(benchdata.generate(200, seed=5))
    backend = OpenSearchBackend(node_with_the_zip, prefix='azul', deployment='zip',
                                request_cache=False, kept_counts=False)
    backend.create_indices('bench', [benchdata.ENTITY_TYPE], registry)
    backend.load_aggregates('bench', benchdata.ENTITY_TYPE, docs)
    for filters in (benchdata.filtered(registry), benchdata.one_filter(registry)):
        request = benchdata.summary_request(registry, filters)
        assert backend.summary('bench', request) == reference_summary(docs, request)
    # Found by asking the node, which has them only from the zip
    assert backend.facet_counts is True
    backend.close()
