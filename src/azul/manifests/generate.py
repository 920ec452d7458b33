"""
One manifest, start to end, without the store: what the preparation jobs, the
`azul manifest` command and the format tests share.
"""
from collections.abc import Mapping
from typing import Any, BinaryIO

from azul.auth.reify import Access, reify
from azul.core.filters import decode_filters
from azul.manifests.formats import ManifestContext, format_class
from azul.runtime import Runtime


def manifest_context(runtime: Runtime, catalog: str, filters: Mapping[str, Any] | None,
                     service_url: str, readable: frozenset[str] | None = None
                     ) -> ManifestContext:
    """
    The context of a manifest of `catalog` under `filters` (their API form),
    of what a requester who may read the `readable` sources may see (every
    source if None: the operator's `azul manifest`).
    """
    catalog_ = runtime.catalog(catalog)
    plugin = runtime.metadata_plugin(catalog_)
    parsed = decode_filters(dict(filters or {}), plugin.field_registry, runtime.config.limits)
    if readable is not None:
        # As the original: a manifest is always limited to what its requester may read
        parsed = reify(parsed, plugin.field_registry, Access(
            readable=readable, unreadable=frozenset(catalog_.sources) - readable),
            plugin.source_id_field)
    return ManifestContext(catalog=catalog_, plugin=plugin, filters=parsed,
                           backend=runtime.backend, service_url=service_url.rstrip('/'))


def write_manifest(context: ManifestContext, format_name: str, output: BinaryIO) -> str | None:
    """Write the manifest in the named format; the base name of its file name, or None."""
    return format_class(format_name)().write(context, output)
