"""The pure helpers of scripts/bench_scale.py (the script itself needs a full run)."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location('bench_scale', ROOT / 'scripts' / 'bench_scale.py')
bench_scale = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_scale)


def test_percentile_nearest_rank():
    values = [float(v) for v in range(100, 0, -1)]  # unsorted on purpose
    assert bench_scale.percentile(values, 50) == 50
    assert bench_scale.percentile(values, 95) == 95
    assert bench_scale.percentile(values, 99) == 99
    assert bench_scale.percentile(values, 100) == 100
    # Few samples: p99 is the maximum, p50 the lower middle
    assert bench_scale.percentile([3.0, 1.0, 2.0, 4.0], 99) == 4
    assert bench_scale.percentile([3.0, 1.0, 2.0, 4.0], 50) == 2
    assert bench_scale.percentile([7.0], 1) == 7
    assert bench_scale.percentile([], 50) is None


def test_latency_stats_in_milliseconds():
    stats = bench_scale.latency_stats([0.010, 0.020, 0.030])
    assert stats == {'n': 3, 'p50_ms': 20.0, 'p95_ms': 30.0, 'p99_ms': 30.0,
                     'mean_ms': 20.0, 'max_ms': 30.0}
    assert bench_scale.latency_stats([])['p50_ms'] is None


def test_parse_report():
    text = ("Indexed 2100 bundle(s) into catalog 'scale': "
            "20512 contribution(s), 17001 aggregate(s)\n")
    assert bench_scale.parse_report(text) == {'indexed_bundles': 2100, 'contributions': 20512,
                                              'aggregates': 17001}
    assert bench_scale.parse_report('') == {'indexed_bundles': None, 'contributions': None,
                                            'aggregates': None}


def test_last_progress():
    last = 'scale: bundles:   5%|  | 5/105 [00:04<01:25,  1.17bundle/s]'
    log = f'scale: bundles:   0%|  | 0/105 [00:00<?, ?bundle/s]\r{last}\nINFO something else\n'
    assert bench_scale.last_progress(log) == last
    assert bench_scale.last_progress('INFO nothing\n') is None
