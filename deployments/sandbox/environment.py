"""Settings of the `sandbox` deployment on AWS: see deployments/aws.py."""
import importlib.util
from collections.abc import Mapping
from pathlib import Path

_spec = importlib.util.spec_from_file_location('_aws', Path(__file__).parents[1] / 'aws.py')
_aws = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_aws)


def env() -> Mapping[str, str | None]:
    return _aws.aws_env('sandbox')
