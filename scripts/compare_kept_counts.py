"""
Whether the OpenSearch backend's answers to bench_backends' portal mix are
the same with its kept counts and without (searching), on an index loaded by
bench_backends (`--reuse`): every measure's result compared with `==`, and
the order of each facet's terms. Prints one JSON line per measure and exits
non-zero if any differs.

  python scripts/compare_kept_counts.py --deployment D [--measures a,b]
"""
import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from azul.backends.opensearch import OpenSearchBackend  # noqa: E402
from azul_dev import benchdata  # noqa: E402
from bench_backends import portal_mix  # noqa: E402


def _facet_order(result: object) -> object:
    facets = getattr(result, 'facets', None)
    if facets is None:
        return None
    return [(name, list(facet.counts.items())) for name, facet in facets.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--deployment', required=True)
    parser.add_argument('--measures', help='comma-separated measures (default: all)')
    args = parser.parse_args()
    registry = benchdata.registry()
    backends = [OpenSearchBackend(os.environ['AZUL_ES_ENDPOINT'], prefix='azul',
                                  deployment=args.deployment, request_cache=False,
                                  kept_counts=kept) for kept in (True, False)]
    mixes = [portal_mix(backend, registry) for backend in backends]
    names = args.measures.split(',') if args.measures else list(mixes[0])
    differ = False
    for name in names:
        kept, searched = mixes[0][name](), mixes[1][name]()
        same = kept == searched and _facet_order(kept) == _facet_order(searched)
        differ |= not same
        print(json.dumps({'measure': name, 'equal': same}))
    for backend in backends:
        backend.close()
    sys.exit(1 if differ else 0)


if __name__ == '__main__':
    main()
