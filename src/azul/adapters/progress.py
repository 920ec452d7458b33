"""Progress bars for long-running commands; the indexer itself knows nothing of them."""
import sys
from collections.abc import Sequence

from tqdm import tqdm

from azul.indexer.reindex import ReindexReport, reindex
from azul.runtime import Runtime

_units = {'bundles': 'bundle', 'entities': 'entity'}


def reindex_with_progress(runtime: Runtime, catalog: str,
                          sources: Sequence[str] | None = None,
                          quiet: bool = False) -> ReindexReport:
    """`reindex` with one bar for contributing bundles and one for aggregating entities."""
    bars: dict[str, tqdm] = {}

    def on_total(what: str, total: int) -> None:
        for bar in bars.values():
            bar.close()
        bars[what] = tqdm(total=total, desc=f'{catalog}: {what}', unit=_units[what],
                          disable=quiet, file=sys.stderr)

    try:
        return reindex(runtime, catalog, sources,
                       on_bundle=lambda n: bars['bundles'].update(n),
                       on_entities=lambda n: bars['entities'].update(n),
                       on_total=on_total)
    finally:
        for bar in bars.values():
            bar.close()
