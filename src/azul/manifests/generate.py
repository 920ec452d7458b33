"""
One manifest, start to end, without the store: what the preparation jobs, the
`azul manifest` command and the format tests share.
"""
from collections.abc import Mapping
from typing import Any, BinaryIO

from azul.core.filters import decode_filters
from azul.manifests.formats import ManifestContext, format_class
from azul.runtime import Runtime


def manifest_context(runtime: Runtime, catalog: str, filters: Mapping[str, Any] | None,
                     service_url: str) -> ManifestContext:
    """The context of a manifest of `catalog` under `filters` (their API form)."""
    catalog_ = runtime.catalog(catalog)
    plugin = runtime.metadata_plugin(catalog_)
    parsed = decode_filters(dict(filters or {}), plugin.field_registry, runtime.config.limits)
    return ManifestContext(catalog=catalog_, plugin=plugin, filters=parsed,
                           backend=runtime.backend, service_url=service_url.rstrip('/'))


def write_manifest(context: ManifestContext, format_name: str, output: BinaryIO) -> str | None:
    """Write the manifest in the named format; the base name of its file name, or None."""
    return format_class(format_name)().write(context, output)
