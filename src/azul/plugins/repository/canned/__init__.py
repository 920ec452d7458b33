"""Bundles from a local directory or an http(s) URL; see `repository`."""
from azul.plugins.repository.canned.repository import CannedRepository

__all__ = ['CannedRepository']
