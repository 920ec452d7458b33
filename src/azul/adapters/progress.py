"""Progress bars for long-running commands; the indexer itself knows nothing of them."""
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from azul.indexer.reindex import ReindexReport, reindex
from azul.runtime import Runtime

_units = {'bundles': 'bundle', 'contributions': 'contribution'}


def reindex_with_progress(runtime: Runtime, catalog: str,
                          sources: Sequence[str] | None = None,
                          quiet: bool = False) -> ReindexReport:
    """`reindex` with one bar for transforming bundles and one for folding contributions."""
    bars: dict[str, tqdm] = {}

    def on_total(what: str, total: int) -> None:
        for bar in bars.values():
            bar.close()
        bars[what] = tqdm(total=total, desc=f'{catalog}: {what}', unit=_units[what],
                          disable=quiet, file=sys.stderr)

    try:
        return reindex(runtime, catalog, sources,
                       on_bundle=lambda n: bars['bundles'].update(n),
                       on_entities=lambda n: bars['contributions'].update(n),
                       on_total=on_total)
    finally:
        for bar in bars.values():
            bar.close()


def manifest_with_progress(runtime: Runtime, catalog: str, filters: Mapping[str, Any],
                           format_name: str | None, out: Path, quiet: bool = False) -> Path:
    """
    Write a manifest to `out` (or into it, under the manifest's own file name,
    if it is a directory), with a bar over the documents scanned. The file
    appears only when complete.
    """
    import attrs

    from azul.core.search import SearchRequest, Sort
    from azul.manifests.formats import choose_format, format_class
    from azul.manifests.generate import manifest_context, write_manifest
    from azul.manifests.keys import file_name

    config = runtime.config
    service_url = config.service_url or f'http://{config.host}:{config.port}'
    context = manifest_context(runtime, catalog, filters, service_url)
    format_name = choose_format(context.plugin.manifest_formats, format_name)
    cls = format_class(format_name)
    plugin = context.plugin
    sort_field, order = plugin.default_sort(cls.entity_type)
    sort = Sort(plugin.field_registry[sort_field], order)
    request = SearchRequest(entity_type=cls.entity_type, filters=context.filters, sort=sort,
                            size=1)
    total = runtime.backend.search(catalog, request).total
    directory = out if out.is_dir() else out.parent
    with tqdm(total=total, desc=f'{catalog}: {format_name}', unit='doc', disable=quiet,
              file=sys.stderr) as bar:
        context = attrs.evolve(context, on_document=lambda: bar.update(1))
        fd, temp = tempfile.mkstemp(dir=directory, prefix='.manifest-')
        try:
            with os.fdopen(fd, 'wb') as output:
                base_name = write_manifest(context, format_name, output)
            if out.is_dir():
                name = file_name(context.catalog.atlas, 'local', cls.extension, base_name)
                out = out / name.replace('/', '_')
            os.replace(temp, out)
        except BaseException:
            os.unlink(temp)
            raise
    return out
