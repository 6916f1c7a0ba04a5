"""The ``streamfold`` command: fold chunk files into complete responses."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from typing import TextIO

from . import __version__
from ._convert import json_loads, to_json
from ._errors import StreamfoldError
from ._fold import Accumulator

__all__ = ["main"]


def _lines(stream: TextIO) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(stream, 1):
        line = line.strip()
        if line.startswith("data:"):
            line = line[5:].strip()
        if not line or line == "[DONE]" or line.startswith(":"):
            continue
        yield number, line


def _fold_file(path: str, out: TextIO, *, pretty: bool, strict: bool) -> int:
    acc = Accumulator()
    status = 0
    stream = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    try:
        for number, line in _lines(stream):
            try:
                acc.add(json_loads(line))
            except ValueError as exc:
                print(f"{path}:{number}: {exc}", file=sys.stderr)
                status = 1
            except StreamfoldError as exc:
                print(f"{path}:{number}: {exc}", file=sys.stderr)
                status = 1
    finally:
        if stream is not sys.stdin:
            stream.close()
    try:
        completion = acc.completion(strict=strict)
    except StreamfoldError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1
    out.write(to_json(completion, pretty=pretty) + "\n")
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="streamfold", description="Fold streamed chat completion chunks into completions."
    )
    parser.add_argument("--version", action="version", version=f"streamfold {__version__}")
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="JSON-lines chunk files, - for stdin"
    )
    parser.add_argument("--pretty", action="store_true", help="indent the JSON output")
    parser.add_argument("--strict", action="store_true", help="fail on streams that did not finish")
    args = parser.parse_args(argv)
    files = [f for f in args.files if f != "fold"] if args.files[0] == "fold" else args.files
    if not files:
        parser.error("no FILE given")
    status = 0
    for path in files:
        try:
            status |= _fold_file(path, sys.stdout, pretty=args.pretty, strict=args.strict)
        except OSError as exc:
            print(f"{path}: {exc.strerror or exc}", file=sys.stderr)
            status = 1
    return status
