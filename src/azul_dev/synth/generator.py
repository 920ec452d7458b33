"""
Write a deterministic set of synthetic bundles to a directory.
"""
import json
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from random import Random

from azul_dev.synth.bundle import Bundle, BundleBuilder
from azul_dev.synth.data import DATA_DIR, data_bytes, data_file_name
from azul_dev.synth.project import make_project

#: Fractions of the bundles the demo should treat as deleted, or that get a
#: second, newer version. No bundle is both.
DELETED_RATE = 0.02
UPDATED_RATE = 0.05

#: Bounds on the number of bundles per project
MIN_PROJECT_SIZE, MAX_PROJECT_SIZE = 20, 50

DELETIONS_FILE = 'deletions.json'
STATS_FILE = 'stats.json'
#: Where the bundles (and data files) of restricted projects go, under `out`
RESTRICTED_DIR = 'restricted'


@dataclass(frozen=True)
class SynthStats:
    #: Distinct bundle uuids written
    bundles: int
    #: Distinct data files (manifest entries, keyed by entity id) across all
    #: bundle files written, including files added by updates
    files: int
    #: Distinct projects
    projects: int
    #: Bundles listed in `deletions.json`
    deleted: int
    #: Bundles written in a second, newer version
    updated: int


def bundle_file_name(uuid: str, version: str) -> str:
    return f'{uuid}.{version}.json'


def _project_sizes(rng: Random, bundles: int) -> list[int]:
    sizes = []
    remaining = bundles
    while remaining > 0:
        size = rng.randint(MIN_PROJECT_SIZE, MAX_PROJECT_SIZE)
        # Fold a short tail into the last project rather than make a tiny one
        if remaining - size < MIN_PROJECT_SIZE:
            size = remaining
        sizes.append(size)
        remaining -= size
    return sizes


def _count(bundles: int, rate: float) -> int:
    """
    The number of bundles to pick at the given rate, at least one if the rate
    predicts half of one, so that small demos still show the feature.
    """
    return max(round(bundles * rate), 1 if bundles * rate >= 0.5 else 0)


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


class _Writer:
    """
    Write files on background threads. Creating a hundred thousand files is
    as slow as generating their content, and `os.open` and `os.write` release
    the GIL, so the two overlap. The order of the writes does not matter, and
    the number of pending writes is bounded to bound memory.
    """

    def __init__(self, threads: int = 2, pending: int = 256) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads,
                                            thread_name_prefix='synth-writer')
        self._pending: deque[Future[None]] = deque()
        self._limit = pending

    def submit(self, path: Path, data: bytes) -> None:
        while len(self._pending) >= self._limit:
            # Raises the first write error, if any
            self._pending.popleft().result()
        self._pending.append(self._executor.submit(_write, path, data))

    def __enter__(self) -> '_Writer':
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def bundle(self, out: Path, builder: BundleBuilder, bundle: Bundle,
               written: set[str]) -> None:
        data = bundle.to_json(builder.encoded)
        self.submit(out / bundle_file_name(bundle.uuid, bundle.version), data)
        # The bytes of its data files, each once: supplementary files recur
        # in bundles of a project, and an update keeps most files' versions
        for entry in bundle.manifest.values():
            name = data_file_name(entry['uuid'], entry['version'])
            if name not in written:
                written.add(name)
                self.submit(out / DATA_DIR / name,
                            data_bytes(entry['uuid'], entry['version'], entry['size']))


def generate(bundles: int,
             out: Path,
             seed: int = 0,
             progress: Callable[[int], None] | None = None,
             restrict_every: int = 0) -> SynthStats:
    """
    Write `bundles` synthetic bundles to `out`, one `<uuid>.<version>.json`
    file per bundle version, the bytes of each data file they declare as
    `data/<file uuid>.<file version>` (see `azul_dev.synth.data`), plus
    `deletions.json` and `stats.json`.

    The output depends only on `bundles` and `seed`. `out` is created if
    needed and must be empty so that no stale bundles mix with the new ones.
    `progress`, if given, is called with the number of bundles completed
    since the previous call, which suits `tqdm.update`.

    With `restrict_every` n > 0, every n-th project (the n-th, 2n-th, ...) is
    written to `out/restricted` instead, with its data files, so that a
    catalog can serve it as a source of its own that not everybody may read:
    managed access is granted per project (dataset), never per bundle. Its
    deletions are listed with `"restricted": true`.
    """
    if bundles < 0:
        raise ValueError(f'Number of bundles must not be negative: {bundles}')
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise FileExistsError(f'Output directory is not empty: {out}')
    rng = Random(seed)
    sizes = _project_sizes(rng, bundles)
    project_seeds = [rng.getrandbits(64) for _ in sizes]
    deleted_count, updated_count = _count(bundles, DELETED_RATE), _count(bundles, UPDATED_RATE)
    chosen = rng.sample(range(bundles), deleted_count + updated_count)
    deleted, updated = set(chosen[:deleted_count]), set(chosen[deleted_count:])

    short_names: dict[str, int] = {}
    deletions = []
    files = 0
    offset = 0
    (out / DATA_DIR).mkdir()
    if restrict_every > 0:
        (out / RESTRICTED_DIR / DATA_DIR).mkdir(parents=True)
    with _Writer() as writer:
        for number, (size, project_seed) in enumerate(zip(sizes, project_seeds, strict=True)):
            restricted = restrict_every > 0 and (number + 1) % restrict_every == 0
            target = out / RESTRICTED_DIR if restricted else out
            project_rng = Random(project_seed)
            project = make_project(project_rng, size, short_names)
            builder = BundleBuilder(project_rng, project)
            # Supplementary files recur in bundles of the same project
            file_keys: set[str] = set()
            # Data files of the project written so far (no file is in two projects)
            written: set[str] = set()
            for index in range(size):
                bundle = builder.build(index)
                writer.bundle(target, builder, bundle, written)
                file_keys.update(bundle.manifest)
                if offset + index in deleted:
                    deletions.append({'uuid': bundle.uuid, 'version': bundle.version,
                                      **({'restricted': True} if restricted else {})})
                elif offset + index in updated:
                    newer = builder.update(bundle)
                    writer.bundle(target, builder, newer, written)
                    file_keys.update(newer.manifest)
            files += len(file_keys)
            offset += size
            if progress is not None:
                progress(size)

    stats = SynthStats(bundles=bundles, files=files, projects=len(sizes),
                       deleted=len(deletions), updated=len(updated))
    _write(out / DELETIONS_FILE, json.dumps(deletions, indent=1).encode('ascii') + b'\n')
    _write(out / STATS_FILE, json.dumps(asdict(stats), indent=1).encode('ascii') + b'\n')
    return stats
