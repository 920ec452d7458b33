"""
Credentials in URLs, masked wherever settings are shown or reported.

A URL setting may carry credentials (`https://user:secret@search.example/`);
`azul config`, the health checks, error messages and the log show it with its
user information replaced by `********`, so that neither a terminal, a public
`/health` nor a log collector ever sees them.
"""
import logging
import re

MASK = '********'

# scheme://userinfo@ where userinfo is whatever precedes the first @ of the
# authority (no /, ?, # or whitespace)
_userinfo = re.compile(r'(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#@\s]+)@')


def mask_credentials(text: str) -> str:
    """`text` with the user information of every URL in it masked."""
    return _userinfo.sub(lambda m: f'{m["scheme"]}{MASK}@', text)


class _MaskingLogRecord(logging.LogRecord):

    def getMessage(self) -> str:
        return mask_credentials(super().getMessage())


def install_log_masking() -> None:
    """Mask credentials in URLs of every log message from now on (idempotent)."""
    factory = logging.getLogRecordFactory()
    if factory is logging.LogRecord:
        logging.setLogRecordFactory(_MaskingLogRecord)
