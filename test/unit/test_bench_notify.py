"""The pure helpers of scripts/bench_notify.py (the script itself needs a server)."""
import importlib.util
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location('bench_notify', ROOT / 'scripts' / 'bench_notify.py')
bench_notify = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_notify)


def test_split_takes_the_newest_version_of_each_uuid(tmp_path):
    synth = tmp_path / 'synth'
    synth.mkdir()
    uuids = [f'{i:08x}-0000-4000-8000-000000000000' for i in range(6)]
    names = [f'{u}.2020-01-01T00:00:00.000000Z.json' for u in uuids]
    # An update: the newer version alone may be used, or the bundle would be
    # found before its notification is handled
    names.append(f'{uuids[0]}.2021-01-01T00:00:00.000000Z.json')
    for name in [*names, 'stats.json', 'deletions.json']:
        (synth / name).write_text('{}')
    dirs, parts = bench_notify.split(synth, tmp_path / 'parts', [2, 1, 3])
    assert [len(p) for p in parts] == [2, 1, 3]
    used = [fqid for part in parts for fqid in part]
    assert sorted(u for u, _ in used) == uuids  # each uuid once, in one part only
    assert dict(used)[uuids[0]] == '2021-01-01T00:00:00.000000Z'
    for part_dir, part in zip(dirs, parts, strict=True):
        assert sorted(p.name for p in part_dir.iterdir()) == sorted(f'{u}.{v}.json'
                                                                    for u, v in part)
    # Splitting again (a reused --dir) replaces the parts, and is deterministic
    assert bench_notify.split(synth, tmp_path / 'parts', [2, 1, 3])[1] == parts


def test_cpu_seconds_of_this_process():
    before = bench_notify.cpu_s(os.getpid())
    sum(i * i for i in range(200_000))
    assert 0 <= before <= bench_notify.cpu_s(os.getpid())
