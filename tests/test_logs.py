"""read_log: many interleaved streams per log, bounded memory, bad lines, keys, files."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import streamfold
from streamfold._logs import _LogFold

EXAMPLES = Path(__file__).parent.parent / "examples"


def chunk(sid: str, delta: dict[str, Any] | None = None, finish: str | None = None) -> str:
    """One chunk line of stream ``sid``."""
    choice = {"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish}
    data = {"id": sid, "object": "chat.completion.chunk", "created": 5, "model": "m"}
    return json.dumps({**data, "choices": [choice]}, ensure_ascii=False)


def usage(sid: str, total: int = 7) -> str:
    """The include_usage chunk of stream ``sid``."""
    data = {"id": sid, "object": "chat.completion.chunk", "created": 5, "model": "m"}
    return json.dumps({**data, "choices": [], "usage": {"total_tokens": total}})


def text(result: streamfold.LogResult, index: int = 0) -> str | None:
    """The text of one choice of a result."""
    assert isinstance(result.completion, streamfold.ChatCompletion)
    return result.completion.choices[index].message.content


class Counting:
    """An iterable of lines that counts how many were read (to see when results come out)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.read = 0

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            self.read += 1
            yield line


# ---------------------------------------------------------------------------------------------
# interleaved streams


def test_interleaved_example_log_gives_each_stream_whole() -> None:
    """The bundled log: three streams interleaved, some lines as `data:` lines, n=2, tools."""
    results = list(streamfold.read_log(EXAMPLES / "interleaved.jsonl"))
    assert all(r.ok for r in results)
    by_key = {r.key: r for r in results}
    assert set(by_key) == {"chatcmpl-A1", "chatcmpl-B2", "chatcmpl-C3"}
    assert text(by_key["chatcmpl-A1"]) == "Hello, Ada!"
    assert text(by_key["chatcmpl-C3"], 0) == "Two takes"
    assert text(by_key["chatcmpl-C3"], 1) == "TWO TAKES"
    tools = by_key["chatcmpl-B2"].completion
    assert isinstance(tools, streamfold.ChatCompletion)
    calls = tools.choices[0].message.tool_calls
    assert calls is not None
    assert [json.loads(c.function.arguments) for c in calls] == [
        {"city": "Lyon"},
        {"tz": "Europe/Paris"},
    ]
    for result in results:
        assert result.completion is not None
        assert result.completion.usage is not None
        assert result.source == str(EXAMPLES / "interleaved.jsonl")


def test_results_come_out_in_the_order_streams_close() -> None:
    """B's usage chunk comes before A's: B is emitted first."""
    lines = [
        chunk("A", {"content": "a"}),
        chunk("B", {"content": "b"}),
        chunk("A", {}, "stop"),
        chunk("B", {}, "stop"),
        usage("B"),
        usage("A"),
    ]
    assert [r.key for r in streamfold.read_log(lines)] == ["B", "A"]


def test_a_stream_is_emitted_as_soon_as_its_usage_chunk_arrives() -> None:
    """Results are yielded while the log is still being read."""
    lines = Counting(
        [chunk("A", {"content": "a"}, "stop"), usage("A"), chunk("B", {"content": "b"}), usage("B")]
    )
    results = streamfold.read_log(lines)
    first = next(results)
    assert first.key == "A"
    assert lines.read == 2
    assert [r.key for r in results] == ["B"]


def test_finished_stream_without_usage_waits_out_the_window() -> None:
    """Finished at line 1, no chunk of it in the next `window` lines: emitted then, not later."""
    others = [chunk("B", {"content": str(i)}) for i in range(10)]
    lines = Counting([chunk("A", {"content": "a"}, "stop"), *others])
    results = streamfold.read_log(lines, window=3)
    first = next(results)
    assert first.key == "A"
    assert lines.read == 5  # line 1 + 3 lines of window, seen when line 5 is read
    assert [r.key for r in results] == ["B"]  # unfinished: at the end of the log


def test_a_late_usage_chunk_inside_the_window_is_folded_in() -> None:
    """The usage chunk a few lines after the finish still belongs to the stream."""
    lines = [
        chunk("A", {"content": "a"}, "stop"),
        chunk("B", {"content": "b"}),
        chunk("B", {"content": "c"}),
        usage("A", total=42),
    ]
    results = {r.key: r for r in streamfold.read_log(lines, window=5)}
    completion = results["A"].completion
    assert isinstance(completion, streamfold.ChatCompletion)
    assert completion.usage is not None
    assert completion.usage.total_tokens == 42


def test_a_chunk_after_the_finish_restarts_the_window() -> None:
    """Azure's trailing filter chunk (no delta, no finish) after the end keeps the stream open."""
    trailing = json.loads(chunk("A"))
    trailing["choices"][0] = {"index": 0, "content_filter_results": {"hate": {"filtered": False}}}
    lines = Counting(
        [
            chunk("A", {"content": "a"}, "stop"),
            chunk("B"),
            json.dumps(trailing),
            *[chunk("B") for _ in range(10)],
        ]
    )
    results = streamfold.read_log(lines, window=2)
    first = next(results)
    assert first.key == "A"
    assert lines.read == 6  # line 3 + 2 lines of window, seen when line 6 is read
    assert isinstance(first.completion, streamfold.ChatCompletion)
    assert first.completion.choices[0].finish_reason == "stop"
    assert "content_filter_results" in first.completion.choices[0].extra


def test_unhashable_key_is_a_line_error() -> None:
    """A key function returning a list as the key: the line is reported."""
    lines = [json.dumps({"rid": [1], "c": json.loads(chunk("A"))})]
    (result,) = streamfold.read_log(lines, key=lambda r: (r["rid"], r["c"]))
    assert str(result.errors[0]) == "line 1: the stream key [1] is not hashable"


def test_window_none_waits_for_the_end_and_negative_is_refused() -> None:
    """window=None emits finished streams only at usage chunks or the end."""
    lines = Counting([chunk("A", {"content": "a"}, "stop"), *[chunk("B") for _ in range(50)]])
    results = streamfold.read_log(lines, window=None)
    assert next(results).key == "A"
    assert lines.read == 51
    with pytest.raises(streamfold.UsageError):
        list(streamfold.read_log([], window=-1))


def test_window_none_holds_no_stream_that_was_emitted() -> None:
    """window=None: streams closed by their usage chunk are not kept for a window that never
    comes (memory stays bounded by the open streams)."""
    fold = _LogFold(
        key=None, strict=False, window=None, field_rules=None, normalize_finish_reason=False
    )
    lines = []
    for i in range(100):
        lines += [chunk(f"s{i}", {"content": "x"}, "stop"), usage(f"s{i}")]
    assert [result.key for result in fold.lines(lines, None)] == [f"s{i}" for i in range(100)]
    assert not fold.open
    assert len(fold.finished) == 0


def test_streams_are_emitted_within_the_window_of_their_end() -> None:
    """Bounded memory: 2,000 sequential streams, none held longer than its window."""
    lines: list[str] = []
    for i in range(2000):
        sid = f"s{i}"
        lines += [chunk(sid, {"role": "assistant", "content": ""}), chunk(sid, {"content": "x"})]
        lines.append(chunk(sid, {}, "stop"))
        if i % 2:
            lines.append(usage(sid))  # half close at their usage chunk, half by the window
    counting = Counting(lines)
    lags = []
    for result in streamfold.read_log(counting, window=10):
        assert result.ok
        assert result.line is not None
        lags.append(counting.read - result.line)
    assert len(lags) == 2000
    assert max(lags) <= 3 + 10 + 1  # its own lines, the window, the line that showed it


def test_a_key_seen_again_after_its_stream_closed_starts_a_new_stream() -> None:
    """Memory is freed on emission: a reused id is a new stream."""
    lines = [chunk("A", {"content": "one"}, "stop"), usage("A"), chunk("A", {"content": "two"})]
    results = list(streamfold.read_log(lines))
    assert [(r.key, text(r)) for r in results] == [("A", "one"), ("A", "two")]


# ---------------------------------------------------------------------------------------------
# bad lines


def test_corrupted_log_reports_every_bad_line_and_keeps_the_other_streams() -> None:
    """The bundled corrupted log: a cut line, binary garbage, a JSON array, a bad field."""
    path = EXAMPLES / "corrupted.jsonl"
    results = list(streamfold.read_log(path))
    orphans = [r for r in results if r.key is None]
    assert [r.line for r in orphans] == [10, 13]
    for r in orphans:
        assert r.completion is None
        (err,) = r.errors
        assert isinstance(err, streamfold.InvalidLineError)
        assert str(err).startswith(f"{path}:{r.line}: ")
    by_key = {r.key: r for r in results if r.key is not None}
    # line 6, B2's first, was cut: an error of B2 (its other chunks folded), not of no stream
    cut = by_key["chatcmpl-B2"]
    assert not cut.ok
    (cut_err,) = cut.errors
    assert isinstance(cut_err, streamfold.InvalidLineError)
    assert (cut.line, cut_err.line) == (6, 6)
    assert "stream 'chatcmpl-B2': a line of it is not valid JSON" in str(cut.errors[0])
    assert len(cut.completion.choices[0].message.tool_calls or ()) == 2  # type: ignore[union-attr]
    assert [by_key[k].complete for k in ("chatcmpl-A1", "chatcmpl-B2", "chatcmpl-D4")] == [
        True,
        True,
        False,
    ]
    assert by_key["chatcmpl-C3"].ok
    assert text(by_key["chatcmpl-C3"], 1) == "TWO TAKES"
    bad = by_key["chatcmpl-A1"]
    assert not bad.ok
    (err,) = bad.errors
    assert isinstance(err, streamfold.InvalidLineError)
    assert err.line == 16
    assert err.path == "choices[0].delta.content"
    assert text(bad) == "Hello, Ada!"  # the bad chunk is skipped, the rest folded
    assert by_key["chatcmpl-D4"].ok  # unfinished, but not strict


def test_strict_reports_unfinished_streams_with_file_and_line() -> None:
    """strict=True: a stream without a finish reason is an error of its result."""
    path = EXAMPLES / "corrupted.jsonl"
    results = {r.key: r for r in streamfold.read_log(path, strict=True) if r.key}
    (err,) = results["chatcmpl-D4"].errors
    assert isinstance(err, streamfold.IncompleteStreamError)
    assert str(err).startswith(f"{path}:{results['chatcmpl-D4'].line}: stream 'chatcmpl-D4'")
    assert text(results["chatcmpl-D4"]) == "cut off"


def test_bad_lines_of_every_kind_are_reported_not_raised() -> None:
    """Not JSON, not an object, a record without a chunk, a key function that fails."""
    lines = [
        chunk("A", {"content": "a"}),
        "{not json",
        "42",
        '"a string"',
        json.dumps({"level": "info", "msg": "request started"}),
        chunk("A", {}, "stop"),
    ]
    results = list(streamfold.read_log(lines))
    messages = [str(r.errors[0]) for r in results if r.key is None]
    assert messages[0].startswith("line 2: invalid JSON")
    assert messages[1].startswith("line 3: expected a JSON object")
    assert messages[2].startswith("line 4: expected a JSON object")
    assert messages[3].startswith("line 5: no chat completion chunk in this record")
    assert [text(r) for r in results if r.key == "A"] == ["a"]


def test_server_error_ends_its_stream_with_the_error() -> None:
    """A chunk with an error: that stream is emitted at once with a LineStreamError."""
    error = {"id": "A", "object": "chat.completion.chunk", "error": {"message": "overloaded"}}
    lines = [chunk("A", {"content": "a"}), chunk("B", {"content": "b"}), json.dumps(error)]
    lines += [chunk("B", {}, "stop")]
    results = list(streamfold.read_log(lines))
    assert [r.key for r in results] == ["A", "B"]
    (err,) = results[0].errors
    assert isinstance(err, streamfold.LineStreamError)
    assert err.error == {"message": "overloaded"}
    assert err.line == 3
    assert text(results[0]) == "a"
    assert results[1].ok


def test_truncated_gzip_is_reported_and_earlier_streams_kept(tmp_path: Path) -> None:
    """A gzip file cut short: an error naming the file; everything before it folds."""
    lines = []
    for i in range(3000):
        lines += [chunk(f"s{i}", {"content": f"text {i}"}, "stop"), usage(f"s{i}")]
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(lines).encode())[:-200])
    results = list(streamfold.read_log(path))
    good = [r for r in results if r.ok]
    assert len(good) > 100
    assert [r.key for r in good] == [f"s{i}" for i in range(len(good))]
    (bad,) = [r for r in results if not r.ok]
    assert bad.line == (good[-1].line or 0) + 1  # right after the last line that was read
    assert str(bad.errors[0]).startswith(f"{path}:")
    assert "cannot read further" in str(bad.errors[0])


# ---------------------------------------------------------------------------------------------
# line forms, keys, sources


def test_sse_framed_lines_comments_and_done_are_accepted() -> None:
    """`data:` lines, `[DONE]`, `event:` / `id:` / comment lines, blank lines, CRLF."""
    lines = [
        ": keep-alive",
        "data: " + chunk("A", {"content": "a"}),
        "",
        "event: message",
        "id: 3",
        "data:" + chunk("A", {}, "stop"),
        "data: [DONE]",
    ]
    log = "\r\n".join(lines) + "\r\n"
    (result,) = streamfold.read_log(log)
    assert result.ok
    assert text(result) == "a"


def test_error_line_in_a_log_is_a_stream_error() -> None:
    """llama.cpp's `error:` line in a log fails the stream without an id."""
    (result,) = streamfold.read_log(['error: {"message": "context shift is disabled"}'])
    (err,) = result.errors
    assert isinstance(err, streamfold.LineStreamError)
    assert err.error == {"message": "context shift is disabled"}


def test_records_wrapping_chunks_are_unwrapped() -> None:
    """A chunk as an object, as JSON text, or as a `data:` string inside a record."""
    lines = [
        json.dumps({"ts": 1, "error": None, "chunk": json.loads(chunk("A", {"content": "a"}))}),
        json.dumps({"ts": 2, "body": chunk("A", {"content": "b"})}),
        json.dumps({"ts": 3, "line": "data: " + chunk("A", {}, "stop")}),
        json.dumps({"ts": 4, "line": "data: [DONE]"}),
    ]
    (result,) = streamfold.read_log(lines)
    assert result.ok
    assert text(result) == "ab"


def test_key_function_separates_streams_whose_ids_are_empty() -> None:
    """TGI behind a gateway: ids are "" throughout; the record's request id tells them apart."""
    path = EXAMPLES / "gateway_records.jsonl"
    merged = list(streamfold.read_log(path))
    assert len(merged) == 1  # the default key (the chunk id) cannot tell them apart
    results = list(streamfold.read_log(path, key=lambda r: (r["request_id"], r["chunk"])))
    # neither stream sends a separate usage chunk: both close when the log ends
    assert [(r.key, text(r)) for r in results] == [("req-1", "Deep learning"), ("req-2", "Bonjour")]


def test_key_function_may_skip_records_and_return_json_text() -> None:
    """None skips a record; the chunk may be JSON text; a failing key names its line."""

    def key(record: dict[str, Any]) -> tuple[Any, Any] | None:
        if record.get("kind") == "noise":
            return None
        return record["rid"], record["raw"]

    lines = [
        json.dumps({"kind": "noise"}),
        json.dumps({"rid": 1, "raw": chunk("", {"content": "x"}, "stop")}),
        json.dumps({"oops": True}),
    ]
    results = list(streamfold.read_log(lines, key=key))
    assert [(r.key, text(r) if r.completion else None) for r in results] == [
        (None, None),
        (1, "x"),
    ]
    assert str(results[0].errors[0]) == "line 3: the key function raised KeyError: 'rid'"


def test_several_files_are_one_log_in_order_gz_included(tmp_path: Path) -> None:
    """A stream that continues in the next (rotated, gzipped) file folds whole."""
    first = tmp_path / "app.log.1"
    first.write_text(chunk("A", {"content": "a"}) + "\n" + chunk("B", {"content": "b"}) + "\n")
    second = tmp_path / "app.log.2.gz"
    second.write_bytes(gzip.compress((chunk("A", {"content": "c"}, "stop") + "\n").encode()))
    results = list(streamfold.read_log([first, second]))
    assert [(r.key, text(r)) for r in results] == [("A", "ac"), ("B", "b")]
    assert results[0].source == str(first)


def test_every_source_type(tmp_path: Path) -> None:
    """Text and bytes of a log, iterables of str and bytes lines, files, paths."""
    lines = [chunk("A", {"content": "a"}), chunk("A", {}, "stop")]
    log = "\n".join(lines) + "\n"
    path = tmp_path / "x.jsonl"
    path.write_text(log, encoding="utf-8")
    sources: list[Any] = [
        log,
        log.encode(),
        lines,
        [line.encode() for line in lines],
        io.StringIO(log),
        io.BytesIO(log.encode()),
        path,
        [path],
        iter(lines),
    ]
    for source in sources:
        (result,) = streamfold.read_log(source)
        assert text(result) == "a"
    with path.open("rb") as file:
        (result,) = streamfold.read_log(file)
        assert result.source == str(path)


def test_a_str_naming_a_file_is_a_path_in_read_log_and_fold_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A str (or list of str) naming existing files is read as paths by both readers; a str
    that names no file, or starts as JSON does, is the log's text."""
    names = [str(EXAMPLES / "interleaved.jsonl"), str(EXAMPLES / "tool_calls.jsonl")]
    by_path = [
        (r.key, r.source, r.completion) for r in streamfold.read_log([Path(name) for name in names])
    ]
    assert len(by_path) >= 3
    for reader in (streamfold.read_log, streamfold.fold_logs):
        found = [(r.key, r.source, r.completion) for r in reader(names)]
        assert found == by_path
        (one,) = {r.source for r in reader(names[0])}
        assert one == names[0]
        (result,) = reader(str(tmp_path / "missing.jsonl"))
        assert result.completion is None
        assert str(result.errors[0]).startswith("line 1: invalid JSON")
    # a file whose name starts as JSON does is not opened: the str is a line of the log
    monkeypatch.chdir(tmp_path)
    Path("{x").write_text((EXAMPLES / "tool_calls.jsonl").read_text())
    (result,) = streamfold.read_log("{x")
    assert str(result.errors[0]).startswith("line 1: invalid JSON")


def test_unsupported_sources_are_usage_errors(tmp_path: Path) -> None:
    """An int, or a list of files with something else in it."""
    with pytest.raises(streamfold.UsageError):
        list(streamfold.read_log(42))  # type: ignore[arg-type]
    with pytest.raises(streamfold.UsageError):
        list(streamfold.read_log([tmp_path / "a", 42]))


def test_missing_file_raises_os_error(tmp_path: Path) -> None:
    """A file that cannot be opened is not bad data: OSError, as open() says."""
    with pytest.raises(FileNotFoundError):
        list(streamfold.read_log(tmp_path / "missing.jsonl"))
