"""Log throughput, by hand (not run by pytest): `streamfold fold` on a large interleaved log.

Generates a JSON-lines log of 10,000 interleaved streams (OpenAI-shaped chunks, about 200 open at
any time, each stream closed by its include_usage chunk), runs ``python -m streamfold fold`` on
it, and prints the throughput and the peak resident memory of the fold process. Give several
sizes to see that the peak follows the streams open at once, not the size of the file::

    python benchmarks/log_throughput.py            # 200 MB
    python benchmarks/log_throughput.py 20 200     # 20 MB, then 200 MB
    python benchmarks/log_throughput.py 50 --streams 2000 --open 50 --keep
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = [
    " the", " of", " stream", " token", " model", " reply", " fold", " Paris", " Bogotá",
    " 東京", " café", " 😀", " and", " to", " is", " that", " server", " chunk",
]  # fmt: skip


def _words() -> list[str]:
    # each word as it appears inside a JSON string (escaped once, here)
    return [json.dumps(w, ensure_ascii=False)[1:-1] for w in WORDS]


def generate(path: Path, size_mb: float, streams: int, open_at_once: int, seed: int = 0) -> int:
    """Write the log; return its number of lines."""
    rng = random.Random(seed)
    words = _words()
    target = size_mb * 1_000_000
    # a content line is about 280 bytes: size each stream so the file reaches the target
    per_stream = max(1, round(target / streams / 280) - 3)
    head = '{"id":"chatcmpl-%06d","object":"chat.completion.chunk","created":1751894000,'
    head += '"model":"gpt-4o-mini-2024-07-18","service_tier":"default",'
    head += '"system_fingerprint":"fp_34a54ae93c","choices":['
    role = head + '{"index":0,"delta":{"role":"assistant","content":"","refusal":null},'
    role += '"logprobs":null,"finish_reason":null}],"usage":null}\n'
    text = head + '{"index":0,"delta":{"content":"%s"},"logprobs":null,"finish_reason":null}]'
    text += ',"usage":null}\n'
    finish = head + '{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}\n'
    usage = head + '],"usage":{"prompt_tokens":19,"completion_tokens":%d,"total_tokens":%d}}\n'

    def lines_of(n: int) -> list[str]:
        out = [role % n]
        out += [text % (n, rng.choice(words)) for _ in range(per_stream)]
        out += [finish % n, usage % (n, per_stream, per_stream + 19)]
        return out

    started = 0
    active: list[list[str]] = []
    count = 0
    with path.open("w", encoding="utf-8", buffering=1 << 20) as file:
        while active or started < streams:
            while len(active) < open_at_once and started < streams:
                active.append(lines_of(started)[::-1])  # popped from the end
                started += 1
            pick = rng.randrange(len(active))
            lines = active[pick]
            file.write(lines.pop())
            count += 1
            if len(lines) == 1:  # a server sends the usage chunk right after the finish chunk
                file.write(lines.pop())
                count += 1
            if not lines:
                active[pick] = active[-1]
                active.pop()
    return count


def fold(path: Path) -> tuple[float, int, int]:
    """Run `python -m streamfold fold PATH`; return (seconds, peak RSS in bytes, streams)."""
    out = path.with_suffix(".out")
    command = [sys.executable, "-m", "streamfold", "fold", "--no-progress", str(path), "-o", out]
    start = time.perf_counter()
    process = subprocess.Popen([str(c) for c in command])
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"streamfold fold exited with {process.returncode}")
    with out.open("rb") as file:
        streams = sum(1 for _ in file)
    out.unlink()
    return seconds, usage.ru_maxrss * 1024, streams  # ru_maxrss is in KiB on Linux


def main() -> None:
    """Generate, fold, print the figures for each size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=float, default=[200.0], help="sizes in MB")
    parser.add_argument("--streams", type=int, default=10_000, help="streams in the log")
    parser.add_argument("--open", type=int, default=200, help="streams open at once")
    parser.add_argument("--dir", default=None, help="where to write the log (default: tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the generated logs")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"{'size MB':>8}{'lines':>10}{'streams':>9}{'seconds':>9}{'MB/s':>8}{'peak RSS MB':>13}")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"log-{size:g}MB.jsonl"
            lines = generate(path, size, args.streams, args.open)
            megabytes = path.stat().st_size / 1_000_000
            seconds, peak, streams = fold(path)
            print(
                f"{megabytes:>8.1f}{lines:>10}{streams:>9}{seconds:>9.2f}"
                f"{megabytes / seconds:>8.1f}{peak / 1_000_000:>13.1f}"
            )
            if args.keep:
                kept = Path.cwd() / path.name
                path.replace(kept)
                print(f"kept {kept}")
            else:
                path.unlink()


if __name__ == "__main__":
    main()
