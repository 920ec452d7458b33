"""
The `curl` manifest: a curl config (`curl --config`) that downloads every
file, as the original writes it.

The options come first, then per file a `url` and an `output` option. Each
file goes into a folder named after its newest bundle, so that two files of
the same name but different content can't overwrite each other. Related
files (the parts of a zarr store) follow their file; their URLs carry what
the file endpoint needs to resolve them without a document of their own.
"""
import io
import re
import shlex
from collections.abc import Iterable, Mapping
from math import ceil
from typing import Any, BinaryIO

import attrs

from azul.manifests.formats.base import ManifestContext, ManifestFormat, cmd_exe_quote

#: The options of the config, in the original's order
OPTIONS = (
    # Avoids a bug in curl 8.7.1 which doesn't retry a 429 over HTTP/2
    # (DataBiosphere/azul#7032)
    '--http1.1',
    '--create-dirs',
    '--compressed',
    '--location',
    # A `#` in a file name is not an output variable
    '--globoff',
    # Saves no error message in place of a file
    '--fail',
    '--fail-early',
    # Resumes partial downloads
    '--continue-at -',
    # A literal backslash-n: curl expands it in --write-out
    '--write-out "Downloading to: %{filename_effective}\\n\\n"',
)

#: The original's defaults for the rate limit of file downloads: its WAF
#: allows 10 requests per 5 minutes per IP and asks to retry after 30 seconds
RATE_LIMIT_PERIOD = 5 * 60
RATE_LIMIT_RETRY_AFTER = 30
#: Enough retries to wait one and a half windows of the rate rule, by which
#: time a tripped rule has cleared: ceil(300 * 1.5 / 30) = 15, as the original
#: computes it from those defaults. This deployment has no WAF of its own.
RETRIES = ceil(RATE_LIMIT_PERIOD * 1.5 / RATE_LIMIT_RETRY_AFTER)


def option(value: str) -> str:
    """A value of a curl config option: in double quotes, `\\` and `"` escaped."""
    return '"' + value.replace('\\', '\\\\').replace('"', '\\"') + '"'


@attrs.frozen
class InvalidPath(ValueError):
    path: str
    reason: str

    def __str__(self) -> str:
        return f'Invalid file path {self.path!r}: {self.reason}'


# Control characters and backslash likely mean an injection attack: no useful
# file name holds them
_malicious = re.compile(r'[\x00-\x1f\\]')
# Benign characters that some file systems refuse
_problematic = re.compile(r'[<>:"|?*]')
# A component may start with one dot if something other than a dot or space
# follows; it may not end in a dot or space; in between, anything but a slash
_component = r'\.?[^./ ]([^/]*[^./ ])?'
_valid_path = re.compile(rf'{_component}(/{_component})*')
# Names special on Windows, courtesy of DOS
DOS_DEVICES = frozenset({'CON', 'PRN', 'AUX', 'NUL',
                         *(f'{device}{i}' for device in ('COM', 'LPT') for i in range(1, 10))})


def sanitize_path(path: str) -> str:
    """
    The path with characters that Windows refuses replaced by `_`; raise
    InvalidPath if it is not a safe relative path.
    """
    match = _malicious.search(path)
    if match is not None:
        raise InvalidPath(path, f'control character or backslash at position {match.start()}')
    path = _problematic.sub('_', path)
    if _valid_path.fullmatch(path) is None:
        raise InvalidPath(path, 'empty, absolute or irregular component')
    devices = set(path.split('/')) & DOS_DEVICES
    if devices:
        raise InvalidPath(path, f'reserved on Windows: {", ".join(sorted(devices))}')
    return path


def newest_bundle(bundles: Iterable[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The bundle with the greatest version; of equal versions, the greatest UUID."""
    return max(bundles, key=lambda b: (b['version'], b['uuid']))


def entry(file: Mapping[str, Any], bundle_uuid: str, url: str | None, catalog: str) -> str:
    """The lines of one file, or a comment saying why there are none."""
    if url is None:
        return (f"# File {file['uuid']!r}, version {file['version']!r} "
                f'is currently not available in catalog {catalog!r}.\n\n')
    try:
        output = sanitize_path(f"{bundle_uuid}/{file['name']}")
    except InvalidPath as e:
        # Deviation: the original asserts, abandoning the whole manifest for
        # one bad file name; this skips the file and says so. The message
        # shows the path with repr(), so no control character reaches the config.
        return f"# File {file['uuid']!r}, version {file['version']!r} is skipped: {e}.\n\n"
    return f'url={option(url)}\noutput={option(output)}\n\n'


class CurlFormat(ManifestFormat):
    name = 'curl'
    extension = 'curlrc'
    content_type = 'text/plain'
    named = False

    @classmethod
    def command_lines(cls, url: str, file_name: str | None) -> dict[str, str]:
        """
        Fetch the config and pipe it into a second curl that downloads the
        files. The retry options are on the command line rather than in the
        config so that users can easily change them; curl honours a
        `Retry-After` header and waits 10 seconds otherwise.
        """
        retry = [f'--retry {RETRIES}', '--retry-delay 10', '--config', '-']
        return {
            'cmd.exe': ' '.join(['curl.exe', '--location', '--fail', cmd_exe_quote(url),
                                 '|', 'curl.exe', *retry]),
            'bash': ' '.join(['curl', '--location', '--fail', shlex.quote(url),
                              '|', 'curl', *retry]),
        }

    def write(self, context: ManifestContext, output: BinaryIO) -> str | None:
        catalog = context.catalog.name
        text = io.TextIOWrapper(output, encoding='utf-8', newline='', write_through=True)
        try:
            text.write('\n\n'.join(OPTIONS) + '\n\n')
            for document in context.scan(self.entity_type):
                (file,) = document['contents']['files']
                bundle_uuid = newest_bundle(document['bundles'])['uuid']
                text.write(entry(file, bundle_uuid, context.file_url(file), catalog))
                for related in file.get('related_files') or ():
                    # The file endpoint can't look a related file up in the
                    # index, so its URL says where to find it
                    url = context.file_url(related, requestIndex=1, fileName=related['name'],
                                           drsUri=related['drs_uri'])
                    text.write(entry(related, bundle_uuid, url, catalog))
        finally:
            text.detach()
        # The original offers no file name of its own for a curl manifest
        return None
