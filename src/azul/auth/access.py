"""
The sources of a catalog a caller may read: the public ones, and those whose
group (a consent group, a Terra group) the caller belongs to. The catalog
configuration says which source needs which group (`AZUL_CATALOGS`).
"""
from collections.abc import Mapping

from azul.auth.identity import (
    ANONYMOUS,
    CachingVerifier,
    GoogleVerifier,
    Identity,
    LocalVerifier,
    TokenVerifier,
    bearer_token,
)
from azul.config import Catalog, Config


def readable_sources(catalog: Catalog, identity: Identity) -> frozenset[str]:
    return frozenset(s for s in catalog.sources
                     if (group := catalog.group(s)) is None or group in identity.groups)


def make_verifier(config: Config) -> TokenVerifier:
    verifier: TokenVerifier
    if config.auth == 'google':
        verifier = GoogleVerifier(config.google_tokeninfo_url, config.sam_url)
    else:
        verifier = LocalVerifier(config.tokens_file)
    return CachingVerifier(verifier, ttl=config.source_cache_ttl)


class Authenticator:
    """The identity behind a request's headers."""

    def __init__(self, verifier: TokenVerifier):
        self.verifier = verifier

    def identity(self, headers: Mapping[str, str]) -> Identity:
        token = bearer_token(headers)
        return ANONYMOUS if token is None else self.verifier.verify(token)
