"""
What every manifest format has: a name, a file name extension, a MIME type,
the command lines that download it, and a `write` that streams the manifest
to a binary output from what `ManifestContext` offers.

A format never touches the BlobStore or HTTP: it gets a context (the catalog,
its plugin, the parsed filters, the backend's scan, file URLs) and an output,
and returns the *base name* of the file name, if the content suggests one
(the original names a manifest of one project after the project's short name).
"""
import shlex
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, BinaryIO, ClassVar
from urllib.parse import quote, urlencode

import attrs

from azul.backends.base import SearchBackend
from azul.config import Catalog
from azul.core.filters import Filters
from azul.plugins.metadata.base import HitContext, MetadataPlugin

JSON = dict[str, Any]


@attrs.frozen
class ManifestContext:
    catalog: Catalog
    plugin: MetadataPlugin
    # The parsed filters, and their API form (what the cache key is made of)
    filters: Filters
    backend: SearchBackend
    # Absolute URL of the service root, without a trailing slash
    service_url: str
    # Called once per document scanned (progress bars)
    on_document: Callable[[], None] | None = None

    def scan(self, entity_type: str = 'files', include: Sequence[str] | None = None
             ) -> Iterator[Mapping[str, Any]]:
        """
        Every matching aggregate document, in entity id order, streamed; with
        `include`, possibly only those paths of each (see `SearchBackend.scan`).
        """
        documents = self.backend.scan(self.catalog.name, entity_type, self.filters, include)
        if self.on_document is None:
            return documents
        return self._counted(documents)

    def _counted(self, documents: Iterator[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        for document in documents:
            self.on_document()
            yield document

    def file_url(self, file: Mapping[str, Any], **args: Any) -> str | None:
        """
        Where the service serves a file's bytes (`GET /repository/files/...`),
        for an entry of `contents.files` (or one of its `related_files`);
        None if the file has no DRS URI, as the original decides.
        """
        if file.get('drs_uri') is None:
            return None
        # The link the file's hits carry, plus the arguments a related file needs
        url = HitContext(self.catalog.name, self.service_url).file_url(str(file['uuid']),
                                                                       file.get('version'))
        if args:
            url += '&' + urlencode({k: str(v) for k, v in args.items()}, quote_via=quote)
        return url


class ManifestFormat(ABC):
    #: The value of the `format` parameter
    name: ClassVar[str]
    #: File name extension (without the dot)
    extension: ClassVar[str]
    content_type: ClassVar[str]
    #: Entity type whose aggregates the manifest is made from
    entity_type: ClassVar[str] = 'files'
    #: Whether downloads get a file name of the manifest's own (see
    #: `azul.manifests.keys.file_name`); the original's curl manifest has none
    named: ClassVar[bool] = True

    @abstractmethod
    def write(self, context: ManifestContext, output: BinaryIO) -> str | None:
        """
        Write the whole manifest to `output`; return the base name of its file
        name (e.g. the short name of the one project all rows belong to) or
        None. Raise to abandon the manifest (nothing is published then).
        """

    @classmethod
    def command_lines(cls, url: str, file_name: str | None) -> dict[str, str]:
        """
        Command lines for `cmd.exe` and `bash` that download the manifest at
        `url`, as the original spells them: curl fails on an HTTP error and
        writes to the file name given explicitly (curl.exe on Windows
        mishandles --remote-name with long URLs).
        """
        def options(quote_) -> list[str]:
            return [] if file_name is None else ['--location', '--fail', '--output',
                                                 quote_(file_name)]
        return {
            'cmd.exe': ' '.join(['curl.exe', *options(cmd_exe_quote), cmd_exe_quote(url)]),
            'bash': ' '.join(['curl', *options(shlex.quote), shlex.quote(url)]),
        }


def cmd_exe_quote(s: str) -> str:
    """
    Quote a string for a cmd.exe command line, as the original does: in
    double quotes, as is. URLs are percent-encoded and file names sanitized,
    so neither quote nor backslash can occur; refuse them rather than guess.
    """
    if '\\' in s or '"' in s:
        raise ValueError(f'Cannot quote {s!r} for cmd.exe')
    return f'"{s}"'
