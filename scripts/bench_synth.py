"""
Measure how fast `azul_dev.synth` generates synthetic bundles.

Prints one JSON line, for example:

{"measure": "synth", "bundles": 10000, "seconds": 6.1, "bundles_per_second": 1639.3,
 "bytes": 236000000}
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

try:
    from azul_dev.synth import generate
except ImportError:
    # Allow running from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'src'))
    from azul_dev.synth import generate


def total_bytes(directory: Path) -> int:
    with os.scandir(directory) as entries:
        return sum(entry.stat().st_size for entry in entries)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--bundles', type=int, default=10000,
                        help='Number of distinct bundles to generate (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--dir', type=Path, default=None,
                        help='Parent of the temporary output directory, to measure a specific '
                             'file system (default: the system temporary directory)')
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix='bench_synth_', dir=args.dir) as tmp:
        out = Path(tmp) / 'bundles'
        start = time.perf_counter()
        stats = generate(args.bundles, out, seed=args.seed)
        seconds = time.perf_counter() - start
        size = total_bytes(out)
    print(json.dumps({
        'measure': 'synth',
        'bundles': stats.bundles,
        'seconds': round(seconds, 3),
        'bundles_per_second': round(stats.bundles / seconds, 1) if seconds else None,
        'bytes': size,
    }))


if __name__ == '__main__':
    main()
