"""
AnVIL bundle files in the canned repository.

An AnVIL bundle file is named ``<uuid>.tdr.anvil.json`` and holds
``{"entities": {"<table>/<datarepo_row_id>": row, ...}, "links": [...]}``, the
form the original Azul cans `tdr_anvil` bundles in (fixtures README §6.2). Its
name carries no version, and needs none: every AnVIL bundle has the one fixed
version `FIXED_VERSION`, so listing never reads the file. A file of another
name whose JSON has ``entities`` is read the same way when fetched.

The bundle is the one the `tdr_anvil` plugin builds from the snapshot's
tables: the entities as metadata, the links list as ``{"links": [...]}``, no
manifest (AnVIL files are entities), nothing stitched.
"""
import re
from typing import Any

from azul.core.documents import BundleFQID
from azul.plugins.repository.base import Bundle
from azul.plugins.repository.canned.names import BadBundleFile
from azul.plugins.repository.tdr.anvil_bundles import FIXED_VERSION

SUFFIX = '.tdr.anvil.json'
_name_re = re.compile(r'^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'
                      + re.escape(SUFFIX) + '$')


def fqid_of(name: str) -> BundleFQID | None:
    """The FQID of the bundle in an AnVIL bundle file, or None if the name is no such file's."""
    match = _name_re.match(name)
    return None if match is None else BundleFQID(uuid=match.group(1), version=FIXED_VERSION)


def candidate_names(fqid: BundleFQID) -> list[str]:
    """The name an AnVIL file of that bundle would have."""
    return [fqid.uuid + SUFFIX] if fqid.version == FIXED_VERSION else []


def is_anvil(document: Any) -> bool:
    return isinstance(document, dict) and 'entities' in document


def check_bundle(document: Any) -> None:
    """Raise `BadBundleFile` unless `document` has the shape of an AnVIL bundle."""
    if not isinstance(document.get('entities'), dict):
        raise BadBundleFile("AnVIL bundle lacks the 'entities' object")
    if not all(isinstance(entity, dict) for entity in document['entities'].values()):
        raise BadBundleFile('AnVIL bundle has an entity that is not an object')
    if not isinstance(document.get('links'), list):
        raise BadBundleFile("AnVIL bundle lacks the 'links' list")


def bundle(fqid: BundleFQID, source: str, document: Any) -> Bundle:
    return Bundle(fqid=fqid,
                  source=source,
                  manifest={},
                  metadata=document['entities'],
                  links={'links': document['links']},
                  stitched=frozenset(),
                  kind='tdr')
