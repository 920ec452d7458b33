"""The HCA metadata plugin (see `plugin.HCAPlugin` and `contents.md`)."""
from azul.plugins.metadata.hca.plugin import HCAPlugin

__all__ = ['HCAPlugin']
