"""
Limits on the size of a request, so that no single request can cost more than
a fraction of a second (settings AZUL_MAX_*, see the README).

Without them, one request with 20,000 ranges kept DuckDB busy for 22 s of CPU
and 20,000 `is` values for 11 s; on OpenSearch every range is a query of its
own, repeated under every facet, so a few hundred of them cost seconds and
1,025 exceed the cluster's clause limit; JSON nested a thousand levels deep
exhausted Python's recursion limit in the parser. Every violation is a 400
whose message names the limit, its setting and its value.
"""
import re
from itertools import accumulate

import attrs

# The defaults, also those of environment.py. The HCA Data Browser sends a
# handful of values and at most one range per field.
MAX_FILTER_TERMS = 100
MAX_FILTER_RANGES = 16
MAX_FILTER_VALUES = 256
MAX_JSON_DEPTH = 32
MAX_BODY_SIZE = 256 * 1024


@attrs.frozen
class Limits:
    # Values of one field's `is` filter (AZUL_MAX_FILTER_TERMS)
    filter_terms: int = MAX_FILTER_TERMS
    # Ranges of `within`, `contains` and `intersects`, of all fields of one
    # `filters` parameter together (AZUL_MAX_FILTER_RANGES)
    filter_ranges: int = MAX_FILTER_RANGES
    # Values and ranges of all fields of one `filters` parameter (AZUL_MAX_FILTER_VALUES)
    filter_values: int = MAX_FILTER_VALUES
    # Levels of nesting of arrays and objects in a JSON parameter or body
    # (AZUL_MAX_JSON_DEPTH)
    json_depth: int = MAX_JSON_DEPTH
    # Bytes of a request body (AZUL_MAX_BODY_SIZE)
    body_size: int = MAX_BODY_SIZE


def exceeded(what: str, actual: int | str, limit: int, setting: str, unit: str = '') -> str:
    """The message of a violated limit, e.g. for a 400."""
    return (f'{what}: {actual}, more than the limit of {limit}{unit} '
            f'(setting {setting})')


# A JSON string, or an unterminated one up to the end of the text (JSON
# holding one does not parse anyway): never a failed match that a retry at a
# later quote would repeat, so the scan is linear in the length of the text
_string_re = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_bracket_re = re.compile(r'[\[\]{}]')
_steps = {'[': 1, '{': 1, ']': -1, '}': -1}


def json_depth(text: str | bytes) -> int:
    """
    The deepest nesting of arrays and objects in a JSON text, without parsing
    it (Python's parser recurses, and fails with a RecursionError at about a
    thousand levels): `1` is 0 deep, `[1]` and `{}` 1, `[{"a": []}]` 3.
    Brackets in strings do not count. Linear in the length of the text.
    """
    if isinstance(text, bytes):
        text = text.decode('utf-8', errors='replace')
    brackets = _bracket_re.findall(_string_re.sub('', text))
    return max(accumulate(_steps[b] for b in brackets), default=0)
