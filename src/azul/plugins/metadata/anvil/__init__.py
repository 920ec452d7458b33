"""The AnVIL metadata plugin (see `plugin.AnvilPlugin`)."""
from azul.plugins.metadata.anvil.plugin import AnvilPlugin

__all__ = ['AnvilPlugin']
