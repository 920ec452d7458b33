"""
The SQL of an `is` filter on a field's codes (`sql.term_condition`), apart
from `sql` for its size.
"""

from collections.abc import Sequence

from azul.backends.duckdb.schema import FieldSpec


def has_any(spec: FieldSpec, codes: Sequence[int], single: bool) -> str:
    """
    A boolean SQL expression, never NULL, true iff the row has one of the
    field's `codes` (integers from the dictionary, not from the request:
    literals). One list_contains per code: list_has_any took 4.5 times the
    CPU (1M rows). With `single` (the table's `s{i}` column, see
    `schema.TableSpec.singled`) rows with one term compare that code and
    only the others read the list, as reading a list costs more than
    comparing an integer: the flags of a filtered page over 1M bench rows
    (three groups, six codes) took 33 instead of 52 ms of CPU.
    """
    if not codes:
        return 'FALSE'
    listed = ' OR '.join(f'list_contains({spec.codes}, {code})' for code in codes)
    listed = f'({listed})' if len(codes) > 1 else listed
    if not single:
        return listed
    values = ', '.join(str(code) for code in codes)
    return (f'CASE WHEN {spec.single} IS NOT NULL THEN {spec.single} IN ({values}) '
            f'ELSE {listed} END')
