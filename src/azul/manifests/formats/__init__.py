"""
The registry of manifest formats: format name → the class that writes it.

Classes are imported on first use so that a format's dependencies (bdbag,
fastavro) are loaded only by those who ask for the format.
"""
import importlib
from collections.abc import Sequence

from azul.errors import BadRequestError
from azul.manifests.formats.base import ManifestContext, ManifestFormat

__all__ = ['FORMATS', 'ManifestContext', 'ManifestFormat', 'choose_format', 'format_class']

# In the order of the reference API's `format` enum; a plugin lists the ones
# its catalogs offer (`MetadataPlugin.manifest_formats`), the first is the default
FORMATS: dict[str, str] = {
    'compact': 'azul.manifests.formats.compact:CompactFormat',
    'terra.bdbag': 'azul.manifests.formats.bdbag:TerraBDBagFormat',
    # HCA's or, for AnVIL catalogs, AnVIL's
    'terra.pfb': 'azul.manifests.formats.pfb_anvil:TerraPFBFormat',
    'curl': 'azul.manifests.formats.curl:CurlFormat',
    'verbatim.jsonl': 'azul.manifests.formats.verbatim:VerbatimJSONLFormat',
    'verbatim.pfb': 'azul.manifests.formats.verbatim_pfb:VerbatimPFBFormat',
}


def format_class(name: str) -> type[ManifestFormat]:
    """The class writing the named format; KeyError for an unknown name."""
    module, _, attribute = FORMATS[name].partition(':')
    cls = getattr(importlib.import_module(module), attribute)
    assert cls.name == name, (cls, name)
    return cls


def choose_format(offered: Sequence[str], name: str | None) -> str:
    """
    The format a request names among those a catalog offers, the first of
    them by default; a 400 worded as the original's otherwise.
    """
    if name is None and offered:
        return offered[0]
    if name not in offered:
        shown = '{' + ', '.join(repr(f) for f in offered) + '}'
        raise BadRequestError(f'Unknown manifest format `{name}`. Must be one of {shown}')
    return name
