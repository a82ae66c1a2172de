"""Cold start: a returning launch of `kapsession --smoke` right after the page cache was emptied,
against the bare window after the same, alternating run by run (bench/startup.py's interleave),
each process preceded by its own eviction. A laptop just booted or woken after a long sleep
reads its Python, Qt and the app from disk; this is that launch.

Eviction, the strongest the machine allows:
- `sync` then `3` into /proc/sys/vm/drop_caches (root; the whole page cache, dentries, inodes);
- else `posix_fadvise(POSIX_FADV_DONTNEED)` on every file of the venv (Python packages, PySide6
  and its Qt libraries), the Python installation it was made from, the project's checkout and the
  byte-code cache: clean pages of those files are dropped unless another process maps them
  (a Qt library another running Qt program has mapped stays in memory: the row says which way).

The byte code stays cached on disk (PYTHONPYCACHEPREFIX filled by untimed warm runs), as an
installed app has it; only its pages are evicted.

    .venv/bin/python bench/cold_start.py [RUNS]
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from startup import (
    BARE_QT,
    AppRunner,
    Launch,
    LaunchResult,
    bench_env,
    bench_folder,
    interleave,
    kapsession_command,
    timed_run,
)

ROOT = Path(__file__).resolve().parent.parent
DROP_CACHES = Path("/proc/sys/vm/drop_caches")
DROPPED = "drop_caches (sync; echo 3 > /proc/sys/vm/drop_caches)"
FADVISED = "posix_fadvise(DONTNEED) on the venv's, Python's, the project's and the byte-code files"


def drop_page_cache() -> bool:
    """The whole page cache dropped, if this process may (root, /proc writable); else False."""
    try:
        os.sync()
        with DROP_CACHES.open("w") as out:
            out.write("3\n")
    except OSError:
        return False
    return True


def _files(roots: Iterable[Path]) -> Iterator[Path]:
    seen: set[Path] = set()
    for root in roots:
        root = root.resolve()
        if root in seen or not root.exists():
            continue
        seen.add(root)
        for folder, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if d != ".git"]
            for name in names:
                yield Path(folder) / name


def fadvise_evict(roots: Iterable[Path]) -> int:
    """Asks the kernel to drop the cached pages of every regular file under roots; the number of
    files asked about (unreadable ones are skipped)."""
    count = 0
    for path in _files(roots):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            count += 1
        except OSError:
            pass
        finally:
            os.close(fd)
    return count


def eviction_roots(pycache: Path) -> list[Path]:
    """What an app start reads: the venv, the Python it was made from, the checkout, the cache."""
    return [Path(sys.prefix), Path(sys.base_prefix) / "lib", ROOT, pycache]


class Evictor:
    """Empties the page cache before each process; remembers which way it could."""

    def __init__(self, pycache: Path, allow_drop: bool = True) -> None:
        self.roots = eviction_roots(pycache)
        self.method: str | None = None
        self._allow_drop = allow_drop

    def __call__(self) -> None:
        if self._allow_drop and self.method in (None, DROPPED) and drop_page_cache():
            self.method = DROPPED
            return
        fadvise_evict(self.roots)
        self.method = FADVISED


def bench_cold(
    platform: str, runs: int, tmp_root: Path | None = None, allow_drop: bool = True
) -> tuple[LaunchResult, str]:
    """The cold returning launch against the cold bare window, and the eviction used."""
    with bench_folder(tmp_root, "kapsession-bench-cold-") as work:
        env = bench_env(platform, work / "pycache", work / "home")
        launch = Launch.named("returning")
        app = AppRunner(launch, kapsession_command(), launch.env(env), work)
        stamps = work / "bare.stamps"

        def bare() -> object:
            return timed_run([sys.executable, str(BARE_QT)], env, stamps)

        # Warm, untimed: the data folder made, the byte-code cache written.
        app.once()
        bare()
        evict = Evictor(work / "pycache", allow_drop)
        results = interleave(
            lambda: timed_run([sys.executable, str(BARE_QT)], env, stamps),
            {"cold": app.once},
            runs,
            0,
            before_each=evict,
        )
        return results["cold"], evict.method or "none"


if __name__ == "__main__":
    result, method = bench_cold("offscreen", int(sys.argv[1]) if len(sys.argv) > 1 else 3)
    print(f"eviction: {method}")
    for kind, timings in (("app", result.app), ("bare", result.bare)):
        print(kind, [round(t.exit_ns / 1e6) for t in timings])
    if result.app_failure:
        print("app failed:", result.app_failure)
