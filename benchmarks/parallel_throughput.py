"""Parallel log throughput, by hand (not run by pytest): `streamfold fold --jobs N`, several files.

Generates a JSON-lines log (OpenAI-shaped chunks of many interleaved streams, each closed by its
include_usage chunk, as ``log_throughput.py`` writes it), cuts it into several files at line
boundaries (so streams continue from one file into the next), runs ``python -m streamfold fold
--jobs N`` on the files for each N, checks that every run wrote the same bytes, and prints the
throughput, the peak memory and the speed-up over ``--jobs 1``::

    python benchmarks/parallel_throughput.py                 # 100 MB in 4 files, jobs 1 and 2
    python benchmarks/parallel_throughput.py 400 --files 8 --jobs 1 2 4 --repeat 3

Peak memory is given three ways: the peak of the resident memory of the command and all its
worker processes added up (sampled every 20 ms with psutil, when it is installed), the peak of the
command itself (``getrusage``, exact), and the largest peak of one worker (sampled). Times are
wall-clock, the best of ``--repeat`` runs (other work on the machine only ever slows a run down).
The machine's own ceiling is printed last: how much faster N processes running a bare Python loop
side by side go than one, right then (a shared machine often gives less than N).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # run as a script: the repository root holds the benchmarks package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.log_throughput import generate


def split(path: Path, parts: int) -> list[Path]:
    """Cut a log into ``parts`` files of about the same size, at line boundaries (streaming: the
    children of this process inherit its peak memory in their own figure)."""
    budget = path.stat().st_size / parts
    files = [path.with_name(f"{path.stem}-{number}.jsonl") for number in range(parts)]
    with path.open("rb") as source:
        outputs = [file.open("wb") for file in files]
        written = 0
        for line in source:
            outputs[min(parts - 1, int(written // budget))].write(line)
            written += len(line)
        for output in outputs:
            output.close()
    path.unlink()
    return files


class TreeMemory:
    """Samples the resident memory of a process and its descendants (needs psutil): the peak of
    their sum, and the peak of each descendant."""

    def __init__(self, pid: int) -> None:
        self.total: int | None = None
        self.worker: int | None = None
        try:
            psutil: Any = importlib.import_module("psutil")
        except ImportError:
            return
        self.total = self.worker = 0
        self.process: Any = psutil.Process(pid)
        self.errors: tuple[type[Exception], ...] = (psutil.Error,)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while not self.done.wait(0.02):
            try:
                parent = self.process.memory_info().rss
                others = [p.memory_info().rss for p in self.process.children(recursive=True)]
            except self.errors:  # a process ended while we looked
                continue
            self.total = max(self.total or 0, parent + sum(others))
            self.worker = max([self.worker or 0, *others])

    def stop(self) -> tuple[int | None, int | None]:
        if self.total is not None:
            self.done.set()
            self.thread.join()
        return self.total, self.worker


def fold(files: list[Path], jobs: int, out: Path) -> tuple[float, int | None, int, int | None, str]:
    """Run the command once: (seconds, peak RSS of all its processes added up, peak RSS of the
    command itself, peak RSS of its largest worker, md5 of the output)."""
    command = [sys.executable, "-m", "streamfold", "fold", "--no-progress", "--jobs", str(jobs)]
    command += [*map(str, files), "-o", str(out)]
    start = time.perf_counter()
    process = subprocess.Popen(command)
    memory = TreeMemory(process.pid)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    total, worker = memory.stop()
    if process.returncode != 0:
        raise SystemExit(f"streamfold fold --jobs {jobs} exited with {process.returncode}")
    digest = hashlib.md5(out.read_bytes()).hexdigest()
    out.unlink()
    return seconds, total, usage.ru_maxrss * 1024, worker, digest  # ru_maxrss: KiB on Linux


_LOOP = "s = 0\nfor i in range(15_000_000): s += i % 7"


def ceiling(jobs: int) -> float:
    """What this machine gives right now: the throughput of ``jobs`` processes running a pure
    Python loop side by side, over that of one (on a shared machine, often below ``jobs``)."""
    times = []
    for count in (1, jobs):
        start = time.perf_counter()
        loops = [subprocess.Popen([sys.executable, "-c", _LOOP]) for _ in range(count)]
        for loop in loops:
            loop.wait()
        times.append(time.perf_counter() - start)
    return jobs * times[0] / times[1]


def _mb(value: int | None) -> str:
    return "n/a" if value is None else f"{value / 1_000_000:.1f}"


def main() -> None:
    """Generate, fold with each number of jobs, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("size", nargs="?", type=float, default=100.0, help="MB (default 100)")
    parser.add_argument("--files", type=int, default=4, help="files to cut the log into")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="default: 1 2")
    parser.add_argument("--streams", type=int, default=20_000, help="streams in the log")
    parser.add_argument("--open", type=int, default=200, help="streams open at once")
    parser.add_argument("--repeat", type=int, default=1, help="runs per job count (best kept)")
    parser.add_argument("--dir", default=None, help="where to write the log (default: tmp)")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        whole = Path(tmp) / "log.jsonl"
        lines = generate(whole, args.size, args.streams, args.open)
        files = split(whole, args.files)
        megabytes = sum(f.stat().st_size for f in files) / 1_000_000
        print(f"{megabytes:.1f} MB in {len(files)} files, {lines} lines, {args.streams} streams")
        print(f"{'jobs':>4}{'seconds':>9}{'MB/s':>8}{'speed-up':>10}{'peak RSS MB: all':>18}"
              f"{'parent':>8}{'worker':>8}  output")  # fmt: skip
        baseline = None
        digests: set[str] = set()
        for jobs in args.jobs:
            runs = [fold(files, jobs, Path(tmp) / "out.jsonl") for _ in range(args.repeat)]
            seconds = min(r[0] for r in runs)
            total = max((r[1] for r in runs if r[1] is not None), default=None)
            parent = max(r[2] for r in runs)
            worker = max((r[3] for r in runs if r[3]), default=None)
            digests.update(r[4] for r in runs)
            baseline = baseline or seconds
            print(
                f"{jobs:>4}{seconds:>9.2f}{megabytes / seconds:>8.1f}{baseline / seconds:>9.2f}x"
                f"{_mb(total):>18}{_mb(parent):>8}{_mb(worker):>8}  {runs[0][4][:12]}"
            )
        print("outputs identical" if len(digests) == 1 else "OUTPUTS DIFFER")
    for jobs in args.jobs[1:]:
        print(f"machine ceiling for {jobs} processes, now: {ceiling(jobs):.2f}x (a bare loop)")


if __name__ == "__main__":
    main()
