"""
Bundle file names and versions of the canned repository.

A bundle file is named

* ``<uuid>.<version>[.dss|.tdr].hca.json`` or ``<uuid>.<version>.json``, where
  the version is a UTC timestamp in either the DCP/2 form
  ``2019-09-24T09:35:06.958773Z`` or the compact DSS form
  ``2018-08-03T082009.272868Z``; or
* ``<uuid>[.dss|.tdr].hca.json`` without a version.

**Derived versions.** A file without a version in its name gets the newest
date found in its metadata documents: ``provenance.update_date`` and
``provenance.submission_date`` of every flat document, ``hca_ingest.updateDate``
and ``hca_ingest.submissionDate`` of every v5 wrapped document. Dates with a
UTC offset are converted to UTC; unparseable dates are ignored. The result is
normalized like every other version, so the same content always yields the
same version, and an edit that touches a document's ``update_date`` yields a
newer one. For example, `4426adc5….tdr.hca.json` gets
``2020-08-10T21:24:26.174274Z`` from a date written with a ``-07:00`` offset.
"""
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from azul.core.documents import BundleFQID, format_date, normalize_version
from azul.errors import BadRequestError

_uuid = r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
_version = r'\d{4}-\d{2}-\d{2}T\d{2}:?\d{2}:?\d{2}(?:\.\d{1,6})?Z'
_versioned_re = re.compile(rf'^({_uuid})\.({_version})(?:\.(?:dss|tdr)\.hca)?\.json$')
_unversioned_re = re.compile(rf'^({_uuid})(?:\.(?:dss|tdr))?\.hca\.json$')


class BadBundleFile(Exception):
    """A bundle file that cannot be listed; the message is the reason."""


def parse_name(name: str) -> tuple[str, str | None]:
    """
    The uuid and the normalized version in a file name, or the uuid and None
    if the name carries no version.
    """
    match = _versioned_re.match(name)
    if match is not None:
        uuid, version = match.groups()
        try:
            return uuid, normalize_version(version)
        except BadRequestError as e:
            raise BadBundleFile(e.message) from None
    match = _unversioned_re.match(name)
    if match is not None:
        return match.group(1), None
    raise BadBundleFile('File name is not <uuid>[.<version>][.dss|.tdr].hca.json '
                        'or <uuid>.<version>.json')


_VERSIONED_SUFFIXES = ('.dss.hca.json', '.tdr.hca.json', '.json')
_UNVERSIONED_SUFFIXES = ('.dss.hca.json', '.tdr.hca.json', '.hca.json')


def spellings(version: str) -> list[str]:
    """
    Every spelling of a normalized version that `parse_name` accepts: with or
    without each colon, the fraction cut after any digit that leaves only
    zeros behind, or left out when it is zero. So that a bundle can be fetched
    by probing for its file instead of listing the directory.
    """
    date, _, time = version.rstrip('Z').partition('T')
    hms, _, fraction = time.partition('.')
    hh, mm, ss = hms.split(':')
    fractions = [fraction[:n] for n in range(1, 7) if not fraction[n:].strip('0')]
    if not fraction.strip('0'):
        fractions.append('')
    return [f'{date}T{hh}{c1}{mm}{c2}{ss}{"." + f if f else ""}Z'
            for c1 in (':', '') for c2 in (':', '') for f in fractions]


def candidate_names(fqid: BundleFQID) -> tuple[list[str], list[str]]:
    """
    The names a file of that bundle may have: those carrying its version, and
    those carrying none (whose derived version must then be checked).
    """
    versioned = [f'{fqid.uuid}.{spelling}{suffix}'
                 for spelling in spellings(fqid.version) for suffix in _VERSIONED_SUFFIXES]
    unversioned = [f'{fqid.uuid}{suffix}' for suffix in _UNVERSIONED_SUFFIXES]
    return versioned, unversioned


def check_bundle(document: Any) -> None:
    """Raise `BadBundleFile` unless `document` has the shape of a bundle."""
    if not isinstance(document, dict):
        raise BadBundleFile('Bundle is not a JSON object')
    for key in ('manifest', 'metadata', 'links'):
        if not isinstance(document.get(key), dict):
            raise BadBundleFile(f'Bundle lacks the {key!r} object')
    projects = [key for key in document['metadata'] if key.startswith('project/')]
    if len(projects) != 1:
        what = 'no project' if not projects else f'{len(projects)} projects'
        raise BadBundleFile(f'Bundle has {what}; expected exactly one')


def _dates(doc: Mapping[str, Any]) -> list[Any]:
    provenance = doc.get('provenance')
    if isinstance(provenance, dict):
        return [provenance.get('update_date'), provenance.get('submission_date')]
    ingest = doc.get('hca_ingest')
    if isinstance(ingest, dict):
        return [ingest.get('updateDate'), ingest.get('submissionDate')]
    return []


def _parse_date(value: Any) -> str | None:
    try:
        return normalize_version(value)
    except BadRequestError:
        pass
    # A few documents carry a UTC offset, e.g. 2020-08-10T14:24:26.174274-07:00
    try:
        dt = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return format_date(dt if dt.tzinfo else dt.replace(tzinfo=UTC))


def derive_version(document: Mapping[str, Any]) -> str:
    """The version of a bundle whose file name has none (see module docstring)."""
    newest = None
    for doc in document['metadata'].values():
        if not isinstance(doc, dict):
            continue
        for date in _dates(doc):
            if date is None:
                continue
            version = _parse_date(date)
            if version is None:
                continue
            if newest is None or version > newest:
                newest = version
    if newest is None:
        raise BadBundleFile('File name has no version and no metadata document has a '
                            'submission or update date to derive one from')
    return newest


def fqid_of(name: str, load: Callable[[], Any]) -> BundleFQID:
    """
    The FQID of the bundle in the named file. `load` is only called when the
    name has no version, so that listing a directory of versioned files reads
    no file contents.
    """
    uuid, version = parse_name(name)
    if version is None:
        document = load()
        check_bundle(document)
        version = derive_version(document)
    return BundleFQID(uuid=uuid, version=version)

