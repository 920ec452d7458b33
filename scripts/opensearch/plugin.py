"""
Azul's aggregations (``src/main/java/azul/facets``: ``azul_facet_counts``
and ``azul_summary``) as an OpenSearch plugin zip, for clusters that do not
run the launcher in this directory, which loads them from its classpath:
Amazon OpenSearch Service installs the zip as a custom package (type
``ZIP-PLUGIN``, see ``terraform/opensearch.tf.json.template.py``), any other
node with ``opensearch-plugin install file:///path/to/the.zip``.

The zip holds ``plugin-descriptor.properties`` and one jar of the classes
under ``azul/facets``, both written with fixed timestamps, so that its bytes
(and the etag of its S3 object) change only when the classes do. The
descriptor admits every OpenSearch 2.19.x (the minor version of ``pom.xml``):
the plugin uses no API that changes within a minor version, and the
service's own patch level is not ours to choose.

Only the Python standard library is used, as in ``node.py``::

    python scripts/opensearch/plugin.py OUT.zip
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import re
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAME = 'azul-aggregations'
CLASSNAME = 'azul.facets.FacetCountsPlugin'
PACKAGE = 'azul/facets'
# A zip entry's time: the earliest a zip can hold, the same in every build
EPOCH = (1980, 1, 1, 0, 0, 0)


def _node():
    spec = importlib.util.spec_from_file_location('azul_opensearch_node', HERE / 'node.py')
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module


def _pom(tag: str) -> str:
    match = re.search(rf'<{re.escape(tag)}>([^<]+)</{re.escape(tag)}>',
                      (HERE / 'pom.xml').read_text())
    if match is None:
        raise ValueError(f'pom.xml declares no <{tag}>')
    return match.group(1).strip()


def descriptor() -> str:
    """The plugin's ``plugin-descriptor.properties``."""
    major, minor, _ = _pom('opensearch.version').split('.', 2)
    return '\n'.join([
        f'name={NAME}',
        'description=Azul\'s aggregations azul_facet_counts and azul_summary',
        f'version={_pom("version")}',
        f'classname={CLASSNAME}',
        f'java.version={_pom("maven.compiler.release")}',
        # A range rather than `opensearch.version`, which must equal the
        # node's version exactly
        f'dependencies={{opensearch:"~{major}.{minor}.0"}}',
        '',
    ])


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _jar(classes: Path) -> bytes:
    files = sorted((classes / PACKAGE).rglob('*.class'))
    if not files:
        raise FileNotFoundError(f'No classes under {classes / PACKAGE}')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w') as jar:
        jar.writestr(_entry('META-INF/MANIFEST.MF'), 'Manifest-Version: 1.0\r\n\r\n')
        for path in files:
            jar.writestr(_entry(path.relative_to(classes).as_posix()), path.read_bytes())
    return buffer.getvalue()


def build_zip(out: Path) -> Path:
    """Builds the node's classes if they are not up to date, then the zip at `out`."""
    node = _node()
    node.build()
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, 'w') as plugin:
        plugin.writestr(_entry('plugin-descriptor.properties'), descriptor())
        plugin.writestr(_entry(f'{NAME}.jar'), _jar(node.CLASSES))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('out', type=Path, help='where to write the zip')
    args = parser.parse_args(argv)
    print(build_zip(args.out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
