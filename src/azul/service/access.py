"""
The caller's access for one request: who the bearer token says they are
(anonymous without one), which of the catalog's sources they may read, and
the filters a backend runs for them (`azul.auth.reify`).
"""
from azul.auth.access import readable_sources
from azul.auth.reify import Access, reify
from azul.config import Catalog
from azul.core.filters import Filters
from azul.plugins.metadata.base import MetadataPlugin
from azul.runtime import Runtime
from azul.service.request import Request


def readable(runtime: Runtime, request: Request, catalog: Catalog) -> frozenset[str]:
    identity = runtime.authenticator.identity(request.headers)
    return readable_sources(catalog, identity)


def access(catalog: Catalog, readable_: frozenset[str], *, limited: bool) -> Access:
    return Access(readable=readable_, unreadable=frozenset(catalog.sources) - readable_,
                  limited=limited)


def entity_access(catalog: Catalog, plugin: MetadataPlugin, readable_: frozenset[str],
                  entity_type: str) -> Access:
    """Limited to what the caller may read, except for the plugin's open entity types."""
    return access(catalog, readable_, limited=entity_type not in plugin.open_entity_types)


def reified(filters: Filters, plugin: MetadataPlugin, access_: Access) -> Filters:
    return reify(filters, plugin.field_registry, access_, plugin.source_id_field)
