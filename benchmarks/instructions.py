"""Instructions per chunk of every fold path, counted by callgrind (deterministic, load-proof).

Wall-clock figures drift with whatever else the machine runs; instruction counts do not. Each
cell of the table runs a child interpreter under ``valgrind --tool=callgrind`` four times: the
work and its setup alone, at N and at 3N chunks. Start-up, imports and setup cancel in

    ((work(3N) - setup(3N)) - (work(N) - setup(N))) / 2N

so what is left is the cost of one more chunk on that path. Inputs are written to files first and
read back in the child, so a fold sees fresh objects as it would from a parser, never shared ones.

Paths (each on the text / tools / logprobs / n4 streams of ``benchmarks/streams.py``):

- ``parse``: ``orjson.loads`` of each chunk line, the floor every log reader pays;
- ``keep``: the same, keeping every parsed line: the floor of any fold that keeps what it
  parsed (the garbage collector walks what stays alive);
- ``fold``: ``accumulate`` on the parsed dicts;
- ``sse``: ``from_sse`` on the SSE body (parse and fold);
- ``log``: ``read_log`` on the JSON-lines log (one chunk per line);
- ``log-data``: ``read_log`` on ``data: {...}`` lines;
- ``log-mixed``: ``read_log`` on four such streams interleaved line by line.

Ratios are to ``parse`` of the same chunks::

    python benchmarks/instructions.py                         # the whole table (a few minutes)
    python benchmarks/instructions.py --paths parse,log --scenarios text --json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(ROOT))

from benchmarks import streams  # noqa: E402

PATHS = ("parse", "keep", "fold", "sse", "log", "log-data", "log-mixed")
SCENARIOS = tuple(streams.SCENARIOS)
_COLLECTED = re.compile(rb"(?:Collected|refs)\s*:\s*([\d,]+)")


def _compact(chunk: dict[str, Any]) -> bytes:
    return json.dumps(chunk, separators=(",", ":"), ensure_ascii=False).encode()


def _interleaved(scenario: str, scale: int, streams_at_once: int = 4) -> Iterator[bytes]:
    """``streams_at_once`` copies of the stream under distinct ids, one line of each in turn."""
    copies = []
    for k in range(streams_at_once):
        lines = []
        for chunk in streams.SCENARIOS[scenario](scale):
            chunk["id"] = f"{chunk['id']}-{k}"
            lines.append(b"data: " + _compact(chunk))
        copies.append(lines)
    for row in zip(*copies, strict=True):
        yield from row


def write_inputs(directory: Path, scenario: str, scale: int) -> dict[str, tuple[Path, int]]:
    """Write every path's input file; return path name -> (file, chunks in it)."""
    chunks = [_compact(c) for c in streams.SCENARIOS[scenario](scale)]
    stem = directory / f"{scenario}-{scale}"
    plain = stem.with_suffix(".jsonl")
    plain.write_bytes(b"\n".join(chunks) + b"\n")
    data = stem.with_suffix(".data.jsonl")
    data.write_bytes(b"".join(b"data: " + c + b"\n" for c in chunks))
    sse = stem.with_suffix(".sse")
    sse.write_bytes(b"".join(b"data: " + c + b"\n\n" for c in chunks) + b"data: [DONE]\n\n")
    mixed_lines = list(_interleaved(scenario, scale))
    mixed = stem.with_suffix(".mixed.jsonl")
    mixed.write_bytes(b"\n".join(mixed_lines) + b"\n")
    n = len(chunks)
    return {
        "parse": (plain, n),
        "keep": (plain, n),
        "fold": (plain, n),
        "sse": (sse, n),
        "log": (plain, n),
        "log-data": (data, n),
        "log-mixed": (mixed, len(mixed_lines)),
    }


def child(path: str, file: str, mode: str) -> None:
    """What runs under callgrind: the setup of ``path`` and, unless ``mode`` is setup, its work."""
    import orjson  # imported in setup as in work, so their cost cancels

    if path not in ("parse", "keep"):
        import streamfold

    raw = Path(file).read_bytes()
    if path in ("parse", "fold"):
        lines = raw.splitlines()
        if path == "fold":
            chunks = [orjson.loads(line) for line in lines]
            if mode == "work":
                streamfold.accumulate(chunks)
        elif mode == "work":
            for line in lines:
                orjson.loads(line)
    elif path == "keep":
        lines = raw.splitlines()
        if mode == "work":
            kept = [orjson.loads(line) for line in lines]
            del kept  # freed here, as the other paths free what they built
    elif path == "sse":
        if mode == "work":
            streamfold.from_sse(raw)
    elif path.startswith("log"):
        if mode == "work":
            for result in streamfold.read_log(raw):
                if not result.ok:
                    raise SystemExit(f"{path}: {result.errors}")
    else:
        raise SystemExit(f"unknown path {path!r}")


def _count(valgrind: str, path: str, file: Path, mode: str) -> int:
    command = [
        valgrind,
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        path,
        str(file),
        mode,
    ]
    # a fixed hash seed: set and dict layouts, and so the counts, repeat from run to run
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, check=False, cwd=ROOT, env=env)
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"callgrind run failed: {' '.join(command)}\n{tail}")
    found = _COLLECTED.findall(done.stderr)
    if not found:
        raise RuntimeError(f"no instruction count in callgrind's output for {path} {file}")
    return int(found[-1].replace(b",", b""))


def measure(
    paths: Sequence[str], scenarios: Sequence[str], scale: int = 1, jobs: int | None = None
) -> dict[str, dict[str, float]]:
    """Instructions per chunk, ``{path: {scenario: figure}}``, from N = ``scale`` vs 3N."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise RuntimeError("valgrind is not installed: instructions.py counts with callgrind")
    with tempfile.TemporaryDirectory(prefix="streamfold-ir-") as tmp:
        cells: list[tuple[str, str, tuple[Path, int], tuple[Path, int]]] = []
        for scenario in scenarios:
            small = write_inputs(Path(tmp), scenario, scale)
            large = write_inputs(Path(tmp), scenario, 3 * scale)
            cells.extend((path, scenario, small[path], large[path]) for path in paths)
        runs = [
            (path, file, mode)
            for path, _, (f1, _), (f3, _) in cells
            for file in (f1, f3)
            for mode in ("setup", "work")
        ]
        workers = jobs or max(1, os.cpu_count() or 1)
        with ThreadPoolExecutor(workers) as pool:
            counts = dict(
                zip(runs, pool.map(lambda run: _count(valgrind, *run), runs), strict=True)
            )
    table: dict[str, dict[str, float]] = {}
    for path, scenario, (f1, n1), (f3, n3) in cells:
        one = counts[path, f1, "work"] - counts[path, f1, "setup"]
        three = counts[path, f3, "work"] - counts[path, f3, "setup"]
        table.setdefault(path, {})[scenario] = (three - one) / (n3 - n1)
    return table


def render(table: dict[str, dict[str, float]], scenarios: Sequence[str]) -> str:
    """The table as text: thousands of instructions per chunk, and the ratio to ``parse``."""
    base = table.get("parse")
    head = f"{'path':<10}" + "".join(f"{s:>18}" for s in scenarios)
    rows = [
        "instructions per chunk (callgrind, N vs 3N)"
        + ("; x = ratio to orjson.loads" if base else ""),
        head,
    ]
    for path, figures in table.items():
        cells: list[str] = []
        for scenario in scenarios:
            value = figures[scenario]
            ratio = f" ({value / base[scenario]:.2f}x)" if base and path != "parse" else ""
            cells.append(f"{value / 1000:.1f}k{ratio}".rjust(18))
        rows.append(f"{path:<10}" + "".join(cells))
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table (``--json``: as JSON); return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paths", default=",".join(PATHS), help="comma-separated paths")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated")
    parser.add_argument("--scale", type=int, default=1, help="N = scale x the stream's length")
    parser.add_argument("--jobs", type=int, default=None, help="callgrind runs at once")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument(
        "--child", nargs=3, metavar=("PATH", "FILE", "MODE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    paths = [p for p in args.paths.split(",") if p]
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = sorted(set(paths) - set(PATHS)) + sorted(set(scenarios) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown path or scenario: {', '.join(unknown)}")
    try:
        table = measure(paths, scenarios, args.scale, args.jobs)
    except RuntimeError as error:
        print(f"instructions.py: {error}", file=sys.stderr)
        return 2
    if args.json:
        base = table.get("parse")
        ratios = {
            path: {s: v / base[s] for s, v in figures.items()}
            for path, figures in table.items()
            if base and path != "parse"
        }
        print(json.dumps({"per_chunk": table, "ratio_to_parse": ratios}, indent=2))
    else:
        print(render(table, scenarios))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
