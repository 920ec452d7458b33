"""
Sorting more documents than fit in memory: for `DuckDBBackend.scan`, and for
a reindex, which groups every contribution by entity.

DuckDB sorts a query's whole result in memory when the rows carry large
strings (an `ORDER BY entity_id` over 500,000 file documents took 4.2 GB, and
with a `memory_limit` it failed rather than spill). So the scan reads rows in
storage order, which DuckDB streams, and sorts them here: runs of about
`run_bytes` are sorted in memory and, if there is more than one, spilled to
temporary files and merged. Memory stays near one run; the temporary files
take about the size of the documents and are deleted as soon as the merge
ends (or is abandoned).
"""
import heapq
import os
import tempfile
from collections.abc import Iterable, Iterator
from operator import itemgetter
from typing import IO

# Keys (entity ids) never hold a tab or a line break, documents (compact JSON)
# never a raw line break: a run's line is `key TAB document`
_SEP = '\t'


def sort_by_key(rows: Iterable[tuple[str, str]], run_bytes: int = 32 * 1024 * 1024,
                directory: str | None = None) -> Iterator[str]:
    """The values of `(key, value)` rows in key order, in bounded memory."""
    return (value for _, value in sort_items(rows, run_bytes, directory))


def sort_items(rows: Iterable[tuple[str, str]], run_bytes: int = 32 * 1024 * 1024,
               directory: str | None = None) -> Iterator[tuple[str, str]]:
    """`(key, value)` rows in key order, in bounded memory."""
    runs: list[IO[str]] = []
    run: list[tuple[str, str]] = []
    size = 0
    try:
        for key, value in rows:
            if _SEP in key or '\n' in key or '\n' in value:
                raise ValueError(f'Cannot sort row {key!r}: a separator occurs in it')
            run.append((key, value))
            size += len(key) + len(value) + 100
            if size >= run_bytes:
                runs.append(_spill(run, directory))
                run, size = [], 0
        run.sort(key=itemgetter(0))
        if not runs:
            yield from run
            return
        runs.append(_spill(run, directory))
        del run
        for line in heapq.merge(*(iter(f) for f in runs)):
            key, _, value = line[:-1].partition(_SEP)
            yield key, value
    finally:
        for f in runs:
            f.close()


def _spill(run: list[tuple[str, str]], directory: str | None) -> IO[str]:
    run.sort(key=itemgetter(0))
    # Unlinked at once: the file lives as long as it is open, whatever happens
    fd, path = tempfile.mkstemp(prefix='azul-sort-', dir=directory)
    os.unlink(path)
    f = os.fdopen(fd, 'w+', encoding='utf-8', buffering=256 * 1024)
    for key, value in run:
        f.write(f'{key}{_SEP}{value}\n')
    f.seek(0)
    return f
