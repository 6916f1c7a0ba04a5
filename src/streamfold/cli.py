"""The ``streamfold`` command: fold SSE captures and JSON-lines logs, replay completions.

``streamfold fold FILE...`` (or just ``streamfold FILE...``) writes one completion per stream as
JSON lines (with ``--records``, a record per stream: key, completion, complete, errors, source,
line); every stream is written, with what arrived, errors or not; errors go to stderr as
``FILE:LINE: message``. Exit status: 0 when all went well, 1 when a line or a stream failed, 2 for
a usage error.
``streamfold replay COMPLETION.json`` writes the SSE body a server would have sent.

The command only opens inputs and loops: the folding is ``_LogFold`` (as ``read_log`` uses it),
or with ``--jobs`` the process pool of ``_parallel`` (as ``fold_logs`` uses it), whose output is
the same byte for byte; the replay is ``to_events`` / ``to_sse`` (a chat completion, a Responses
API response or an Anthropic message).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from typing import Any, Final, TextIO

from . import __version__
from ._convert import json_loads, to_json
from ._errors import StreamfoldError, _DecodeError, preview, where
from ._inputs import gunzip, one_input
from ._logs import (
    DEFAULT_WINDOW,
    LogResult,
    _default_key,
    _LogFold,
)
from ._parallel import InputError, Options, Rendered, assemble, cores, plan
from ._replay import to_events, to_sse

__all__ = ["main"]

_PROGRESS_EVERY: Final = 4096  # lines between two progress updates


class _Usage(Exception):
    """A usage error found after parsing the arguments (exit status 2)."""


_COMMANDS: Final = """commands:
  fold      fold SSE captures and JSON-lines logs into completions (the default command)
  replay    write a stored completion as the SSE body a server would have streamed

Exit status: 0 ok, 1 when a line or stream failed, 2 for a usage error.
'streamfold COMMAND --help' tells more of each."""


def _fold_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Fold streamed chat completion chunks (SSE captures or JSON-lines logs, "
        "many streams per file) into complete responses, one JSON line per stream; every "
        "stream is written, with what arrived, and errors go to stderr.",
        epilog=_COMMANDS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"streamfold {__version__}")
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="SSE captures or JSON-lines logs (.gz too), one log in the order given; - for stdin",
    )
    parser.add_argument("-o", "--output", metavar="OUT", help="write the completions to OUT")
    parser.add_argument("--pretty", action="store_true", help="indent the JSON output")
    parser.add_argument(
        "--records",
        action="store_true",
        help='write a JSON record per stream: {"key", "completion", "complete", "errors": '
        '[{"source", "line", "message"}], "source", "line"} (the key is the chunk id, or the '
        "--key field)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="fail streams that ended without a finish reason"
    )
    parser.add_argument(
        "--normalize-finish-reason",
        action="store_true",
        help='report "tool_calls" for a choice that called tools but finished with "stop"',
    )
    parser.add_argument(
        "--format",
        choices=("auto", "sse", "jsonl"),
        default="auto",
        help="input format (default: detected per file)",
    )
    parser.add_argument(
        "--key",
        metavar="FIELD",
        help="take the stream key from this field of each record (dotted path, such as "
        "request_id or meta.request_id) instead of the chunk id",
    )
    parser.add_argument(
        "--window",
        type=_count,
        default=DEFAULT_WINDOW,
        metavar="LINES",
        help="lines to wait after a finished stream's last chunk before writing it "
        f"(default {DEFAULT_WINDOW})",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=_count,
        default=1,
        metavar="N",
        help="processes to fold with: files and large byte ranges of files are read in "
        "parallel, the output is the same (default 1; 0: every core)",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar, even on a terminal"
    )
    return parser


def _replay_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamfold replay",
        description="Write a stored completion, Responses API response or Anthropic message "
        "(JSON, or JSON lines of several) as the SSE "
        "body a server would have streamed; a chat body ends with 'data: [DONE]'.",
    )
    parser.add_argument("--version", action="version", version=f"streamfold {__version__}")
    parser.add_argument("file", metavar="COMPLETION", help="a completion JSON file, - for stdin")
    parser.add_argument("-o", "--output", metavar="OUT", help="write the body to OUT")
    parser.add_argument("--seed", type=int, default=0, help="seed of the cut (default 0)")
    parser.add_argument(
        "--piece-size",
        type=_positive,
        default=4,
        metavar="N",
        help="average characters per text piece (default 4)",
    )
    return parser


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a count >= 0, got {value}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args[:1] == ["replay"]:
            return _replay(_replay_parser().parse_args(args[1:]))
        if args[:1] == ["fold"]:
            return _fold(_fold_parser("streamfold fold").parse_args(args[1:]))
        return _fold(_fold_parser("streamfold").parse_args(args))
    except SystemExit as exc:  # argparse: --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else 2
    except _Usage as exc:
        print(f"streamfold: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 1


# ---------------------------------------------------------------------------------------------
# fold


def _fold(args: argparse.Namespace) -> int:
    for path in args.files:
        if path != "-" and not os.access(path, os.R_OK):
            reason = "no such file" if not os.path.exists(path) else "not readable"
            raise _Usage(f"{path}: {reason}")
        if path != "-" and os.path.isdir(path):
            raise _Usage(f"{path}: is a directory")
    if args.records and args.pretty:
        raise _Usage("--records writes JSON lines: it does not go with --pretty")
    key = _FieldKey(args.key) if args.key else None
    jobs = args.jobs or cores()
    with _output(args.output) as out:
        progress = _Progress.start(args.files, enabled=not args.no_progress)
        report = _Reporter(out, args.pretty, progress, records=args.records)
        try:
            if jobs > 1:
                render = "pretty" if args.pretty else "json"
                options = Options(
                    key=key,
                    strict=args.strict,
                    window=args.window,
                    normalize_finish_reason=args.normalize_finish_reason,
                    render=render,
                )
                _fold_parallel(args, options, jobs, report, progress)
                report.done(args.files)
                return report.status
            fold = _LogFold(
                key=key,
                strict=args.strict,
                window=args.window,
                field_rules=None,
                normalize_finish_reason=args.normalize_finish_reason,
            )
            for path in args.files:
                try:
                    for result in _fold_input(fold, path, args.format, progress):
                        report(result)
                except BrokenPipeError:
                    raise  # the reader of our output went away: see main()
                except OSError as exc:  # the input could not be read
                    report.error(f"{_name(path)}: {exc.strerror or exc}")
            for result in fold.finish():
                report(result)
        finally:
            if progress is not None:
                progress.close()
        report.done(args.files)
        return report.status


def _fold_parallel(
    args: argparse.Namespace,
    options: Options,
    jobs: int,
    report: _Reporter,
    progress: _Progress | None,
) -> None:
    units = plan(args.files, map(_name, args.files), fmt=args.format, jobs=jobs, block_size=None)
    items = assemble(
        units, options, jobs=jobs, progress=None if progress is None else progress.advance
    )
    try:
        for item in items:
            if isinstance(item, InputError):  # as the loop above reports it
                report.error(f"{item.name}: {item.error.strerror or item.error}")
            else:
                report(item)
    finally:
        items.close()  # the process pool shuts down at once, even when the reader went away


def _fold_input(
    fold: _LogFold, path: str, fmt: str, progress: _Progress | None
) -> Iterator[LogResult]:
    name = _name(path)
    with one_input(path, reader="path") as opened:
        fmt = opened.format(fmt)  # a binary file: one message (read_log's) as lines
        if progress is not None:
            progress.begin(opened.raw)
        if fmt == "sse":
            pieces = opened.pieces()
            if progress is not None:
                pieces = progress.track(pieces, 1)
            yield from fold.sse(pieces, name)
        else:
            # a read error (a truncated or corrupt gzip file) becomes a line error
            lines: Iterator[bytes] = opened.lines()
            if progress is not None:
                lines = progress.track(lines, _PROGRESS_EVERY)
            yield from fold.lines(lines, name)
        if progress is not None:
            progress.end()


class _FieldKey:
    """``--key FIELD``: the stream key from a (dotted) field of each record; an object rather
    than a closure, so that it pickles for the worker processes of ``--jobs``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.parts = path.split(".")

    def __call__(self, record: Any) -> tuple[Any, Any] | None:
        value = record
        for part in self.parts:
            if not isinstance(value, dict) or part not in value:
                raise _DecodeError(0, f"no field {self.path!r} in this record (--key)")
            value = value[part]
        found = _default_key(record)
        return None if found is None else (value, found[1])

    def guess(self, raw: bytes) -> Any:
        """The key of a line that is not valid JSON (cut short), when the field is found."""
        name = re.escape(self.parts[-1].encode())
        found = re.search(rb'"' + name + rb'"\s*:\s*"([^"\\]{1,200})"', raw[:400])
        return None if found is None else found.group(1).decode("utf-8", "replace")


def _name(path: str) -> str:
    return "<stdin>" if path == "-" else path


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
        return
    try:
        out = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise _Usage(f"{path}: cannot write: {exc.strerror or exc}") from None
    with out:
        yield out


class _Reporter:
    """Writes every stream to the output (errors or not: what arrived) and every error and
    warning to stderr; keeps the exit status."""

    def __init__(
        self, out: TextIO, pretty: bool, progress: _Progress | None, *, records: bool = False
    ) -> None:
        self.out = out
        self.pretty = pretty
        self.progress = progress
        self.records = records
        self.status = 0
        self.written = 0  # streams written

    def __call__(self, result: LogResult | Rendered) -> None:
        if isinstance(result, Rendered):  # --jobs: a worker wrote the JSON of a good stream
            if self.records:
                self.out.write(
                    _record_head(result.key)
                    + result.text
                    + _record_tail(result.complete, [], result.source, result.line)
                )
            else:
                self.out.write(result.text + "\n")
            self.written += 1
        else:
            for warning in result.warnings:
                self.warn(warning)
            for err in result.errors:
                self.error(str(err))
            if result.completion is not None:
                self.written += 1
                if self.records:
                    errors = [
                        {
                            "source": getattr(err, "source", result.source),
                            "line": getattr(err, "line", None),
                            "message": str(err),
                        }
                        for err in result.errors
                    ]
                    text = to_json(result.completion)
                    self.out.write(
                        _record_head(result.key)
                        + text
                        + _record_tail(result.complete, errors, result.source, result.line)
                    )
                else:
                    self.out.write(to_json(result.completion, pretty=self.pretty) + "\n")
        if self.progress is not None:
            self.progress.streams += 1

    def error(self, message: str) -> None:
        self.status = 1
        self.warn(message)

    def warn(self, message: str) -> None:
        if self.progress is not None:
            self.progress.write(message)
        else:
            print(message, file=sys.stderr)

    def done(self, files: Sequence[str]) -> None:
        """The end: say so when no stream was found at all."""
        if not self.written:
            names = ", ".join(_name(path) for path in files)
            self.warn(f"streamfold: no stream found in {names}")


def _record_head(key: Any) -> str:
    return '{"key":' + json.dumps(key, ensure_ascii=False, default=str) + ',"completion":'


def _record_tail(
    complete: bool, errors: list[dict[str, Any]], source: str | None, line: int | None
) -> str:
    rest = json.dumps(
        {"complete": complete, "errors": errors, "source": source, "line": line},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return "," + rest[1:] + "\n"


class _Progress:
    """A progress bar on stderr (bytes read of the total, streams done), when it is a terminal
    and tqdm is installed (``pip install streamfold[progress]``)."""

    def __init__(self, bar: Any, tqdm: Any) -> None:
        self.bar = bar
        self.tqdm = tqdm
        self.streams = 0
        self.done = 0  # bytes of the inputs already finished
        self.raw: Any = None

    @classmethod
    def start(cls, files: Sequence[str], *, enabled: bool) -> _Progress | None:
        if not enabled or not sys.stderr.isatty():
            return None
        try:
            tqdm = importlib.import_module("tqdm").tqdm
        except ImportError:
            return None
        total: int | None = 0
        for path in files:
            try:
                total = None if path == "-" or total is None else total + os.path.getsize(path)
            except OSError:
                total = None
        bar = tqdm(
            total=total,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc="folding",
            file=sys.stderr,
            dynamic_ncols=True,
        )
        return cls(bar, tqdm)

    def advance(self, size: int) -> None:
        """``--jobs``: an input, or a range of one, is done."""
        self.bar.set_postfix(streams=self.streams, refresh=False)
        self.bar.update(size)

    def begin(self, raw: Any) -> None:
        self.raw = raw

    def track(self, items: Iterator[Any], every: int) -> Iterator[Any]:
        count = 0
        for item in items:
            yield item
            count += 1
            if count >= every:
                count = 0
                self.update()

    def update(self) -> None:
        try:
            position = self.done + self.raw.tell()
        except (OSError, ValueError, AttributeError):  # a pipe: no position
            position = self.bar.n
        self.bar.set_postfix(streams=self.streams, refresh=False)
        self.bar.update(max(0, position - self.bar.n))

    def end(self) -> None:
        self.update()
        self.done = self.bar.n
        self.raw = None

    def write(self, message: str) -> None:
        self.tqdm.write(message, file=sys.stderr)

    def close(self) -> None:
        self.bar.set_postfix(streams=self.streams, refresh=False)
        self.bar.close()


# ---------------------------------------------------------------------------------------------
# replay


def _replay(args: argparse.Namespace) -> int:
    name = _name(args.file)
    try:
        if args.file == "-":
            stdin: Any = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else sys.stdin
            text = stdin.read()
        else:
            with open(args.file, "rb") as file:
                text = file.read()
    except OSError as exc:
        raise _Usage(f"{name}: {exc.strerror or exc}") from None
    if isinstance(text, str):
        text = text.encode("utf-8", "surrogatepass")
    text = gunzip(text)
    status = 0
    with _output(args.output) as out:
        sink = out.buffer if hasattr(out, "buffer") else None
        for line, completion in _completions(text):
            if isinstance(completion, str):  # not a completion: the string says why
                print(f"{where(name, line)}: {completion}", file=sys.stderr)
                status = 1
                continue
            try:
                body = b"".join(
                    to_sse(to_events(completion, piece_size=args.piece_size, seed=args.seed))
                )
            except StreamfoldError as exc:
                print(f"{where(name, line)}: {exc}", file=sys.stderr)
                status = 1
                continue
            if sink is not None:
                sink.write(body)
                sink.flush()
            else:
                out.write(body.decode())
    return status


def _completions(text: bytes) -> Iterator[tuple[int, Any]]:
    """The completions of a file: one JSON document, or JSON lines; errors as strings."""
    try:
        whole = json_loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, dict):
        yield 1, _checked(whole, text)
        return
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            data = json_loads(line)
        except ValueError as exc:
            yield number, f"invalid JSON: {exc}: {preview(line)}"
            continue
        if not isinstance(data, dict):
            yield number, f"expected a completion object, got {preview(line)}"
            continue
        yield number, _checked(data, line)


def _checked(data: dict[str, Any], text: bytes) -> dict[str, Any] | str:
    """A completion's data, or why it is not one: it has a list of choices (each an object),
    or it is a Responses API ``response`` or an Anthropic ``message``."""
    if data.get("object") == "response" or (
        data.get("type") == "message" and "choices" not in data
    ):
        return data
    choices = data.get("choices")
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        return f"not a completion (no 'choices' list of objects): {preview(text.strip())}"
    return data
