"""
Render terraform/*.tf.json.template.py into terraform/*.tf.json for the
selected deployment. The generated files are not committed; the Lambda
functions and API Gateway come from `chalice package --pkg-format terraform`.
"""
import importlib.util
import json
import os
import sys
from pathlib import Path

from azul import envfiles
from azul.config import Config

ROOT = Path(__file__).resolve().parents[1]


def render(config: Config, directory: Path = ROOT / 'terraform') -> list[Path]:
    written = []
    for path in sorted(directory.glob('*.tf.json.template.py')):
        spec = importlib.util.spec_from_file_location(path.stem.replace('.', '_'), path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        document = module.template(config)
        target = path.with_name(path.name.removesuffix('.template.py'))
        if document:
            target.write_text(json.dumps(document, indent=4) + '\n')
            written.append(target)
        elif target.exists():
            target.unlink()
    return written


def main() -> int:
    envfiles.load(os.environ)
    for path in render(Config.from_env(os.environ)):
        print(f'Wrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
