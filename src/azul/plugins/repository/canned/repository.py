"""
The canned repository: bundles from JSON files in one directory.

A source is

* ``file:///abs/dir`` or ``file:///abs/dir/<glob>``, e.g.
  ``file:///x/indexer/*.dss.hca.json``: the files of a local directory; or
* ``http(s)://host/dir`` (optionally ``/<glob>``): a directory served over
  HTTP, listed by the JSON file ``index.json`` (a list of file names) beside
  the bundles.

Listing is non-recursive and considers names ending in ``.json`` only (never
``index.json``). See `names` for file names and derived versions, `anvil` for
AnVIL bundle files (``<uuid>.tdr.anvil.json``, of the fixed AnVIL version).

**Data files.** The bytes of a data file may lie beside the bundles, in the
subdirectory ``data`` of the source's directory, named
``<file uuid>.<file version>`` with the version in the DCP/2 spelling the API
shows (``files[].version``), e.g.
``data/7b07f99e-4a8a-4ad0-bd4f-db0d7a00c7bb.2018-11-02T11:33:44.698028Z``
(over http(s): ``<dir>/data/<name>``, the colons percent-encoded). Named by
uuid and version rather than by content hash, because a related file of a
zarr store (requested with ``requestIndex=1``) is known by uuid and version
only, not by any checksum. Bytes whose SHA-256 differs from the one the
manifest declares are refused (`RepositoryError`) rather than served. Sources
sharing a directory (different globs) share its ``data``.

Listing is cheap: the parsed index (file name -> FQID or problem) is cached
per source and rebuilt only when the directory's mtime (for http: the bytes of
``index.json``) changes, and even then a file is only read again if its own
mtime or size changed and its name has no version. A file whose name carries
its version is never read when listing, so its content problems surface when
the bundle is fetched (as a `RepositoryError` naming the file).

Fetching never lists: in a local directory it looks for the few names the
bundle's file can have (`names.candidate_names`); over http the cached
listing names the file, and only a bundle missing from it reads
``index.json`` again.
"""
import fnmatch
import hashlib
import json
import logging
import os
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import orjson

from azul.core.documents import BundleFQID, normalize_version
from azul.errors import AzulError, NotFoundError, RepositoryError
from azul.plugins.repository.base import (
    Bundle,
    BundleProblem,
    Listing,
    RepositoryPlugin,
    drs_object_url,
)
from azul.plugins.repository.canned import anvil
from azul.plugins.repository.canned.names import (
    BadBundleFile,
    candidate_names,
    check_bundle,
    derive_version,
    fqid_of,
)

log = logging.getLogger(__name__)

INDEX_FILE = 'index.json'
DATA_DIR = 'data'
HTTP_TIMEOUT = 30
_UUID_RE = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')


@attrs.frozen
class _Directory:
    """Where the bundle files of a source live and which of them to consider."""
    scheme: str
    # A local path for file://, a URL ending in '/' for http(s)://
    base: str
    pattern: str

    @classmethod
    def parse(cls, source: str) -> '_Directory':
        url = urllib.parse.urlsplit(source)
        if url.scheme == 'file':
            path = urllib.parse.unquote(url.path)
        elif url.scheme in ('http', 'https') and url.netloc:
            path = url.path
        else:
            raise RepositoryError(f'Canned source {source!r} is not a file:// or http(s):// URL')
        head, _, last = path.rstrip('/').rpartition('/')
        if any(c in last for c in '*?['):
            path, pattern = head, last
        else:
            pattern = '*.json'
        if url.scheme == 'file':
            return cls('file', path or '/', pattern)
        base = urllib.parse.urlunsplit((url.scheme, url.netloc, path.rstrip('/') + '/', '', ''))
        return cls(url.scheme, base, pattern)

    def location(self, name: str) -> str:
        if self.scheme == 'file':
            return os.path.join(self.base, name)
        return self.base + urllib.parse.quote(name)

    def wanted(self, name: str) -> bool:
        return (name.endswith('.json') and name != INDEX_FILE
                and fnmatch.fnmatchcase(name, self.pattern))

    def read(self, name: str) -> bytes:
        location = self.location(name)
        try:
            if self.scheme == 'file':
                return Path(location).read_bytes()
            with urllib.request.urlopen(location, timeout=HTTP_TIMEOUT) as response:
                return response.read()
        except urllib.error.HTTPError as e:
            if e.code == 404:
                raise NotFoundError(f'{location}: not found') from None
            raise RepositoryError(f'{location}: HTTP {e.code}') from None
        except FileNotFoundError:
            raise NotFoundError(f'{location}: not found') from None
        except (OSError, urllib.error.URLError) as e:
            raise RepositoryError(f'{location}: {e}') from None

    def read_data(self, name: str) -> bytes | None:
        """The data file of that name, or None if there is none."""
        if self.scheme == 'file' and not os.path.isfile(self.location(f'{DATA_DIR}/{name}')):
            return None
        try:
            return self.read(f'{DATA_DIR}/{name}')
        except NotFoundError:
            return None

    def scan(self) -> tuple[Any, dict[str, Any]]:
        """
        A stamp that changes when the listing may have changed, and the wanted
        file names, each with a stamp that changes when the file may have.
        """
        if self.scheme == 'file':
            try:
                stamp = os.stat(self.base).st_mtime_ns
                files = {}
                with os.scandir(self.base) as entries:
                    for entry in entries:
                        if entry.is_file() and self.wanted(entry.name):
                            st = entry.stat()
                            files[entry.name] = (st.st_mtime_ns, st.st_size)
            except OSError as e:
                raise RepositoryError(f'Cannot list {self.base}: {e}') from None
            return stamp, files
        else:
            raw = self.read(INDEX_FILE)
            stamp = hashlib.sha256(raw).hexdigest()
            try:
                names = json.loads(raw)
            except ValueError as e:
                raise RepositoryError(f'{self.location(INDEX_FILE)}: bad JSON: {e}') from None
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise RepositoryError(f'{self.location(INDEX_FILE)}: expected a list of '
                                      f'file names')
            # Without per-file metadata, a file is re-read when the index changes
            return stamp, {n: stamp for n in names if '/' not in n and self.wanted(n)}


@attrs.frozen
class _Index:
    stamp: Any
    names: Mapping[BundleFQID, str]
    listing: Listing


class CannedRepository(RepositoryPlugin):

    def __init__(self, config: Any = None) -> None:
        # Nothing of the settings is needed: a source spec says it all
        self._lock = threading.Lock()
        self._indices: dict[str, _Index] = {}
        # (location, file stamp) -> FQID or problem reason
        self._files: dict[tuple[str, Any], BundleFQID | str] = {}

    def list_bundles(self, source: str, prefix: str = '') -> Listing:
        listing = self._index(source).listing
        if not prefix:
            return listing
        return Listing(bundles=tuple(b for b in listing.bundles if b.uuid.startswith(prefix)),
                       problems=listing.problems)

    def fetch_bundle(self, source: str, fqid: BundleFQID) -> Bundle:
        directory = _Directory.parse(source)
        try:
            # The uuid becomes part of a path: it must be one, nothing else
            if not _UUID_RE.fullmatch(fqid.uuid):
                raise NotFoundError(fqid.uuid)
            key = BundleFQID(fqid.uuid, normalize_version(fqid.version))
        except AzulError:
            raise NotFoundError(f'No bundle {fqid.uuid} version {fqid.version!r} '
                                f'in {source}') from None
        name, document = self._locate(source, directory, key)
        if anvil.is_anvil(document):
            return anvil.bundle(key, source, document)
        stitched = document.get('stitched') or ()
        return Bundle(fqid=key,
                      source=source,
                      manifest=document['manifest'],
                      metadata=document['metadata'],
                      links=document['links'],
                      stitched=frozenset(stitched),
                      kind='tdr' if name.endswith('.tdr.hca.json') else 'dss')

    def file_url(self, source: str, descriptor: Mapping[str, Any]) -> str | None:
        return drs_object_url(descriptor)

    def file_bytes(self, source: str, descriptor: Mapping[str, Any]) -> bytes | None:
        name = data_file_name(descriptor.get('uuid'), descriptor.get('version'))
        if name is None:
            return None
        directory = _Directory.parse(source)
        content = directory.read_data(name)
        if content is None:
            return None
        sha256 = descriptor.get('sha256')
        if isinstance(sha256, str) and hashlib.sha256(content).hexdigest() != sha256.lower():
            # Serving them would hand out bytes other than those the metadata describes
            raise RepositoryError(f'{directory.location(DATA_DIR + "/" + name)}: the SHA-256 '
                                  f'of the bytes differs from the manifest\'s {sha256}')
        return content

    def _locate(self, source: str, directory: _Directory, fqid: BundleFQID
                ) -> tuple[str, Any]:
        """
        The name and checked document of the bundle's file. A local directory
        is probed for the few names the file may have, so that the cost of a
        fetch does not grow with the directory (listing 100k files took 2 s);
        over http, where a probe is a request, the cached listing names it.
        """
        if directory.scheme == 'file':
            found = self._probe(directory, fqid)
        else:
            name = self._cached_name(source, fqid) or self._index(source).names.get(fqid)
            found = {} if name is None else {name: _checked(directory, name)}
        if not found:
            raise NotFoundError(f'No bundle {fqid.uuid} version {fqid.version} in {source}')
        if len(found) > 1:
            locations = ', '.join(directory.location(n) for n in sorted(found))
            raise RepositoryError(f'Bundle {fqid.uuid} version {fqid.version} is in more than '
                                  f'one file: {locations}')
        [(name, document)] = found.items()
        return name, document

    def _probe(self, directory: _Directory, fqid: BundleFQID) -> dict[str, Any]:
        versioned, unversioned = candidate_names(fqid)
        # An AnVIL file's name implies its (fixed) version
        versioned += anvil.candidate_names(fqid)
        found = {}
        for name in versioned + unversioned:
            if not directory.wanted(name) or not os.path.isfile(directory.location(name)):
                continue
            document = _checked(directory, name)
            # A file without a version in its name holds this bundle only if
            # the version derived from its content is the one asked for
            if name in versioned or _derived(directory, name, document) == fqid.version:
                found[name] = document
        return found

    def _cached_name(self, source: str, fqid: BundleFQID) -> str | None:
        with self._lock:
            index = self._indices.get(source)
        return None if index is None else index.names.get(fqid)

    def _index(self, source: str) -> _Index:
        directory = _Directory.parse(source)
        stamp, files = directory.scan()
        with self._lock:
            index = self._indices.get(source)
        if index is not None and index.stamp == stamp:
            return index
        index = self._build(directory, stamp, files)
        with self._lock:
            self._indices[source] = index
        return index

    def _build(self, directory: _Directory, stamp: Any, files: Mapping[str, Any]) -> _Index:
        problems: list[BundleProblem] = []
        by_fqid: dict[BundleFQID, list[str]] = {}
        for name in sorted(files):
            location = directory.location(name)
            result = self._fqid(directory, name, files[name])
            if isinstance(result, str):
                problems.append(BundleProblem(location, result))
            else:
                by_fqid.setdefault(result, []).append(name)
        names = {}
        for fqid, group in by_fqid.items():
            if len(group) == 1:
                names[fqid] = group[0]
            else:
                locations = ', '.join(directory.location(n) for n in group)
                reason = (f'Bundle {fqid.uuid} version {fqid.version} is in more than one '
                          f'file: {locations}; all of them are skipped')
                problems.extend(BundleProblem(directory.location(n), reason) for n in group)
        for problem in problems:
            log.warning('Skipping bundle file %s: %s', problem.location, problem.reason)
        listing = Listing(bundles=tuple(sorted(names)), problems=tuple(problems))
        return _Index(stamp=stamp, names=names, listing=listing)

    def _fqid(self, directory: _Directory, name: str, file_stamp: Any) -> BundleFQID | str:
        key = (directory.location(name), file_stamp)
        with self._lock:
            cached = self._files.get(key)
        if cached is not None:
            return cached
        try:
            result = anvil.fqid_of(name) or fqid_of(name, lambda: _load(directory, name))
        except BadBundleFile as e:
            result = str(e)
        except AzulError as e:
            result = e.message
        with self._lock:
            self._files[key] = result
        return result


def data_file_name(uuid: Any, version: Any) -> str | None:
    """
    The name of a data file in the ``data`` directory, or None for a uuid or
    version that cannot name one (checked, since both come from requests and
    must never reach outside the directory).
    """
    if not isinstance(uuid, str) or not _UUID_RE.fullmatch(uuid) or not isinstance(version, str):
        return None
    try:
        version = normalize_version(version)
    except AzulError:
        return None
    return f'{uuid}.{version}'


def _checked(directory: _Directory, name: str) -> Any:
    try:
        document = _load(directory, name)
        (anvil.check_bundle if anvil.is_anvil(document) else check_bundle)(document)
    except BadBundleFile as e:
        raise RepositoryError(f'{directory.location(name)}: {e}') from None
    return document


def _derived(directory: _Directory, name: str, document: Any) -> str:
    try:
        return derive_version(document)
    except BadBundleFile as e:
        raise RepositoryError(f'{directory.location(name)}: {e}') from None


def _load(directory: _Directory, name: str) -> Any:
    raw = directory.read(name)
    # orjson parses the fixture bundles in two thirds of the CPU time (10.7
    # MB: 0.067 -> 0.043 s), and a reindex parses each twice; what it
    # refuses (NaN, integers beyond 64 bits, lone surrogates, a byte order
    # mark) the standard library reads as it always did, or names the error
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(raw)
    except ValueError as e:
        raise BadBundleFile(f'Bad JSON: {e}') from None
