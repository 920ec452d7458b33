"""
Generate a synthetic AnVIL catalog and reindex it in bulk, as
`bench_reindex.py` does for HCA: one JSON line for the generation, one per
tenth of the bundles transformed and of the contributions folded, then a
summary of the reindex (wall and CPU seconds, contributions, aggregates, peak
RSS, the load average on every line).

    python scripts/bench_anvil.py --biosamples N [--seed S]
        [--backend duckdb|opensearch] [--duckdb-path FILE] [--workers N] [--keep DIR]

The catalog `bench` has atlas and metadata plugin `anvil` over the canned
repository. The DuckDB file is created anew (default: in a temporary
directory); with OpenSearch, AZUL_ES_ENDPOINT names the node.
"""
import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from azul.plugins.repository.canned.anvil import SUFFIX
from azul_dev.synth.anvil import generate_anvil
from bench_reindex import add_reindex_arguments, bench, emit


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--biosamples', type=int, required=True)
    parser.add_argument('--seed', type=int, default=0)
    add_reindex_arguments(parser)
    parser.add_argument('--keep', type=Path,
                        help='generate into this (empty or new) directory and keep it')
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix='azul-bench-anvil-') as tmp:
        source = args.keep or Path(tmp, 'catalog')
        start = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_SELF)
        stats = generate_anvil(args.biosamples, source, seed=args.seed)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        emit({'measure': 'generate', 'biosamples': stats.biosamples, 'bundles': stats.bundles,
              'datasets': stats.datasets, 'donors': stats.donors,
              'files': stats.files + stats.supplementary_files,
              'seconds': round(time.perf_counter() - start, 1),
              'cpu_seconds': round(_cpu(usage) - _cpu(before), 1)})
        # The bundle files only, not the generator's stats.json
        return bench(f'file://{source.resolve()}/*{SUFFIX}', 'anvil', args,
                     biosamples=args.biosamples)


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


if __name__ == '__main__':
    sys.exit(main())
