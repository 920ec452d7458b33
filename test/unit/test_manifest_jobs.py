"""Manifest jobs: a process accepts a bounded number at once."""
import threading

import pytest

from azul import envfiles
from azul.config import Config
from azul.errors import ServiceUnavailableError
from azul.manifests import jobs as jobs_module
from azul.manifests.keys import ManifestKey
from azul.runtime import Runtime


def test_jobs_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(jobs_module, 'MAX_PENDING', 2)
    env = {**envfiles.evaluate({}), 'AZUL_DATA_DIR': str(tmp_path),
           'AZUL_MANIFEST_WORKERS': '1'}
    runtime = Runtime(Config.from_env(env))
    jobs = runtime.manifests
    release = threading.Event()
    # The one worker is busy, so that started jobs stay pending
    jobs._executor.submit(release.wait)
    try:
        keys = [ManifestKey(catalog='dcp', format='compact', filters=f'{{"n":{i}}}',
                            content='c', code='code', service_url='http://azul.test')
                for i in range(3)]
        for key in keys[:2]:
            jobs.prepare(key)
        # The same manifest again is the same job, not a new one
        jobs.prepare(keys[0])
        with pytest.raises(ServiceUnavailableError):
            jobs.prepare(keys[2])
    finally:
        release.set()
        jobs.close()
