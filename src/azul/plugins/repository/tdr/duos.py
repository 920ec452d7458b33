"""
The description of an AnVIL dataset, which lives in DUOS (the Data Use
Oversight System), not in the snapshot's tables. As the original: TDR names
the snapshot's DUOS dataset (`duosFirecloudGroup.duosId` of the snapshot
resource, the snapshot found by its name), and that dataset's registration
in DUOS holds the `studyDescription`. A TDR AnVIL snapshot holds one dataset,
so the description is the snapshot's.

Both services are reached over HTTP with the indexer's Google credentials
(the service account of AZUL_GOOGLE_SERVICE_ACCOUNT) if it has any; a server
error or a broken connection is retried a few times and then fails the
bundle (the queue retries it later), a missing DUOS registration is no
description.
"""
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from azul.errors import RepositoryError
from azul.plugins.repository.tdr.spec import TDRSourceSpec

log = logging.getLogger(__name__)

#: What TDR asks of credentials calling DUOS on its behalf
SCOPES = ['openid', 'https://www.googleapis.com/auth/userinfo.email',
          'https://www.googleapis.com/auth/userinfo.profile']


class TerraDUOS:

    def __init__(self, tdr_url: str, duos_url: str, credentials: Any = None, *,
                 timeout: float = 30.0, retries: int = 3, initial_delay: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep):
        self.tdr_url = tdr_url.rstrip('/')
        self.duos_url = duos_url.rstrip('/')
        self._credentials = credentials
        self.timeout = timeout
        self.retries = retries
        self.initial_delay = initial_delay
        self._sleep = sleep
        self._session = requests.Session()
        self._lock = threading.Lock()
        self._descriptions: dict[str, str | None] = {}

    def for_source(self, spec: TDRSourceSpec) -> '_SnapshotDUOS':
        """The `DUOSClient` of one snapshot (see `anvil_bundles`)."""
        return _SnapshotDUOS(self, spec)

    def study_description(self, spec: TDRSourceSpec) -> str | None:
        key = f'{spec.project}.{spec.name}'
        with self._lock:
            if key in self._descriptions:
                return self._descriptions[key]
        description = self._study_description(spec)
        with self._lock:
            self._descriptions[key] = description
        return description

    def _study_description(self, spec: TDRSourceSpec) -> str | None:
        snapshots = self._get(f'{self.tdr_url}/api/repository/v1/snapshots',
                              {'filter': spec.name, 'limit': '2'})
        # TDR's filter matches substrings of names and descriptions
        items = [item for item in (snapshots or {}).get('items', [])
                 if item.get('name') == spec.name]
        if len(items) != 1:
            raise RepositoryError(f'TDR lists {len(items)} snapshots named {spec.name!r} '
                                  f'that the indexer may read, not one')
        snapshot = self._get(f'{self.tdr_url}/api/repository/v1/snapshots/{items[0]["id"]}')
        group = (snapshot or {}).get('duosFirecloudGroup') or {}
        duos_id = group.get('duosId') if isinstance(group, dict) else None
        if not duos_id:
            log.warning('Snapshot %s names no DUOS dataset', spec.name)
            return None
        registration = self._get(f'{self.duos_url}/api/dataset/registration/{duos_id}')
        if registration is None:
            log.warning('DUOS has no registration of %s (snapshot %s)', duos_id, spec.name)
            return None
        description = registration.get('studyDescription')
        return description if isinstance(description, str) else None

    def _headers(self) -> dict[str, str]:
        headers = {'Accept': 'application/json'}
        if self._credentials is not None:
            with self._lock:
                if not self._credentials.valid:
                    import google.auth.transport.requests
                    self._credentials.refresh(google.auth.transport.requests.Request())
                headers['Authorization'] = f'Bearer {self._credentials.token}'
        return headers

    def _get(self, url: str, params: dict[str, str] | None = None) -> dict | None:
        """The JSON object at `url`, None for a 404."""
        delay = self.initial_delay
        for attempt in range(self.retries + 1):
            try:
                response = self._session.get(url, params=params, headers=self._headers(),
                                             timeout=self.timeout)
            except requests.RequestException as e:
                problem = f'{type(e).__name__}'
            else:
                if response.status_code == 404:
                    return None
                elif response.status_code == 200:
                    try:
                        body = response.json()
                    except ValueError:
                        raise RepositoryError(f'{url} answered no JSON') from None
                    if not isinstance(body, dict):
                        raise RepositoryError(f'{url} answered no JSON object')
                    return body
                elif response.status_code < 500 and response.status_code != 429:
                    # Credentials or the request are wrong: trying again does not help
                    raise RepositoryError(f'{url} answered {response.status_code}')
                problem = f'status {response.status_code}'
            if attempt < self.retries:
                self._sleep(delay)
                delay *= 2
        raise RepositoryError(f'{url} failed {self.retries + 1} times, last with {problem}')

    def close(self) -> None:
        self._session.close()


class _SnapshotDUOS:

    def __init__(self, duos: TerraDUOS, spec: TDRSourceSpec):
        self._duos = duos
        self._spec = spec

    def description(self, dataset_id: str) -> str | None:
        # The snapshot holds one dataset, so its description is the dataset's
        return self._duos.study_description(self._spec)
