"""The `streamfold` command: fold, replay, errors as FILE:LINE, exit status, progress."""

from __future__ import annotations

import gzip
import io
import json
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import streamfold
from streamfold import _parallel
from streamfold.cli import main
from test_parallel import generate_log, write_files

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """Run the command in process; return (status, stdout, stderr)."""
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def completions(out: str) -> list[dict[str, Any]]:
    """The JSON-lines output as objects."""
    return [json.loads(line) for line in out.splitlines()]


def chunk_line(sid: str, content: str | None = None, finish: str | None = None) -> str:
    delta = {"content": content} if content is not None else {}
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return json.dumps({"id": sid, "object": "chat.completion.chunk", "choices": [choice]})


def test_readme_main_command_prints_the_folded_completion(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`streamfold --pretty examples/tool_calls.jsonl`: one indented JSON document."""
    status, out, err = run(capsys, "--pretty", EXAMPLES / "tool_calls.jsonl")
    assert (status, err) == (0, "")
    data = json.loads(out)
    assert out.startswith("{\n  ")
    assert [c["function"]["name"] for c in data["choices"][0]["message"]["tool_calls"]] == [
        "get_weather",
        "get_weather",
    ]


def test_fold_subcommand_several_files_one_line_per_stream(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`fold` with an SSE capture and an interleaved log: JSON lines, in emission order."""
    status, out, err = run(
        capsys, "fold", EXAMPLES / "openai_text.sse", EXAMPLES / "interleaved.jsonl"
    )
    assert (status, err) == (0, "")
    ids = [c["id"] for c in completions(out)]
    assert ids[0] == "chatcmpl-BpL3sQmTz4XqW8f1aK0vYk2nR5eUc"
    assert sorted(ids[1:]) == ["chatcmpl-A1", "chatcmpl-B2", "chatcmpl-C3"]
    assert ids[1:] == [r.key for r in streamfold.read_log(EXAMPLES / "interleaved.jsonl")]


def test_sse_capture_with_several_bodies_gives_several_completions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A proxy capture of bodies one after another, each closed by [DONE]."""
    capture = tmp_path / "proxy.sse"
    capture.write_bytes(
        (EXAMPLES / "openai_text.sse").read_bytes() + (EXAMPLES / "azure_filtered.sse").read_bytes()
    )
    status, out, _ = run(capsys, capture)
    assert status == 0
    assert [c["model"] for c in completions(out)] == ["gpt-4o-mini-2024-07-18", "gpt-4o-2024-11-20"]


def test_format_is_detected_and_can_be_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`data:` lines without blank lines are a JSON-lines log (interleaving allowed)."""
    log = tmp_path / "gateway.log"
    lines = [chunk_line("A", "a"), chunk_line("B", "b"), chunk_line("A", None, "stop")]
    log.write_text("".join(f"data: {line}\n" for line in lines))
    status, out, _ = run(capsys, log)
    assert (status, [c["id"] for c in completions(out)]) == (0, ["A", "B"])
    status, out, _ = run(capsys, "--format", "sse", EXAMPLES / "openai_text.sse")
    assert (status, len(completions(out))) == (0, 1)
    status, out, _ = run(capsys, "--format", "jsonl", EXAMPLES / "openai_text.sse")
    assert status == 0  # data lines and blank lines read one by one: the same stream
    assert len(completions(out)) == 1


def test_stdin_dash_reads_sse_jsonl_and_gzip(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`-` reads stdin; the format and gzip are detected there too."""
    for data in (
        (EXAMPLES / "openai_text.sse").read_bytes(),
        (EXAMPLES / "tool_calls.jsonl").read_bytes(),
        gzip.compress((EXAMPLES / "interleaved.jsonl").read_bytes()),
    ):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        status, out, err = run(capsys, "-")
        assert (status, err) == (0, "")
        assert completions(out)


def test_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """-o writes the completions to a file, nothing to stdout."""
    target = tmp_path / "out.jsonl"
    status, out, _ = run(capsys, "fold", EXAMPLES / "interleaved.jsonl", "-o", target)
    assert (status, out) == (0, "")
    assert len(completions(target.read_text(encoding="utf-8"))) == 3


def test_bad_lines_go_to_stderr_as_file_line_and_good_streams_are_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The corrupted log: exit 1, one `FILE:LINE: message` per problem, every stream written
    (A1, whose chunk was refused, and B2, whose first line was cut, too)."""
    path = EXAMPLES / "corrupted.jsonl"
    status, out, err = run(capsys, path)
    assert status == 1
    lines = err.splitlines()
    assert sorted(
        int(m.group(1))
        for m in (re.match(rf"^{re.escape(str(path))}:(\d+): ", line) for line in lines)
        if m
    ) == [6, 10, 13, 16]
    assert len(lines) == 4
    assert "Traceback" not in err
    assert sorted(c["id"] for c in completions(out)) == [
        "chatcmpl-A1",
        "chatcmpl-B2",
        "chatcmpl-C3",
        "chatcmpl-D4",
    ]


def test_strict_fails_unfinished_streams(capsys: pytest.CaptureFixture[str]) -> None:
    """--strict: a stream without a finish reason is an error (still written: what arrived)."""
    path = EXAMPLES / "corrupted.jsonl"
    status, out, err = run(capsys, "--strict", path)
    assert status == 1
    assert re.search(
        rf"^{re.escape(str(path))}:\d+: stream 'chatcmpl-D4': the stream ended early", err, re.M
    )
    (d4,) = [c for c in completions(out) if c["id"] == "chatcmpl-D4"]
    assert d4["choices"][0]["message"]["content"] == "cut off"


def test_server_errors_and_other_apis_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Groq's error event, llama.cpp's error line, and a malformed body of another API (named
    by its line and field, as a chat one is)."""
    for name, line in (("groq_error.sse", 14), ("llamacpp_error.sse", 11)):
        status, out, err = run(capsys, EXAMPLES / name)
        assert status == 1
        # what arrived before the error is written
        with pytest.raises(streamfold.StreamError) as caught:
            streamfold.from_sse(EXAMPLES / name)
        assert completions(out) == [streamfold.to_dict(caught.value.completion)]
        assert completions(out)[0]["choices"][0]["message"]["content"]
        assert err.startswith(f"{EXAMPLES / name}:{line}: chunk ")
        assert "the server reported an error" in err
    other = tmp_path / "anthropic.sse"
    other.write_text('event: message_start\ndata: {"type": "message_start"}\n\n')
    status, _, err = run(capsys, other)
    assert status == 1
    assert err.startswith(f"{other}:2: event 0: message: expected an object")


def test_binary_input_is_one_message_and_garbage_lines_are_capped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Random bytes: one message for the file; 300 lines of text garbage: 20 errors, then one
    line that counts the rest; the same with --jobs 2 and from read_log."""
    junk = tmp_path / "junk.bin"
    junk.write_bytes(random.Random(5).randbytes(1 << 20))
    status, out, err = run(capsys, junk)
    assert (status, out) == (1, "")
    assert err.splitlines() == [
        f"{junk}:1: {streamfold._logs.BINARY}",
        f"streamfold: no stream found in {junk}",
    ]
    assert run(capsys, "-j", "2", junk, junk) == run(capsys, junk, junk)
    text = tmp_path / "garbage.jsonl"
    lines = [f"garbage {n}" for n in range(300)]
    lines[150] = chunk_line("x", "kept", "stop")
    text.write_text("\n".join(lines) + "\n")
    status, out, err = run(capsys, text)
    assert status == 1
    assert [c["id"] for c in completions(out)] == ["x"]
    errors = err.splitlines()
    assert len(errors) == 21
    assert errors[-1].startswith(f"{text}:21: 279 more lines that belong to no stream")
    assert run(capsys, "-j", "2", text, text) == run(capsys, text, text)
    results = list(streamfold.read_log(text))
    assert sum(1 for r in results if r.key is None) == 21
    assert str(results[-2].errors[0]) == errors[-1]


def test_every_stream_is_written_and_records_tell_them_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--records: one record per stream (the errored and cut ones too) with key, completion,
    complete, errors and where it starts; --jobs 2 over many ranges writes the same bytes."""
    path = EXAMPLES / "corrupted.jsonl"
    status, out, err = run(capsys, "--records", path)
    assert status == 1
    records = completions(out)
    assert [list(r) for r in records] == [
        ["key", "completion", "complete", "errors", "source", "line"]
    ] * 4
    by_key = {r["key"]: r for r in records}
    assert by_key["chatcmpl-A1"]["completion"]["choices"][0]["message"]["content"] == (
        "Hello, Ada!"
    )
    assert [(e["source"], e["line"]) for e in by_key["chatcmpl-A1"]["errors"]] == [(str(path), 16)]
    assert [e["line"] for e in by_key["chatcmpl-B2"]["errors"]] == [6]  # its cut line
    assert by_key["chatcmpl-B2"]["errors"][0]["message"] in err
    assert (by_key["chatcmpl-C3"]["errors"], by_key["chatcmpl-C3"]["line"]) == ([], 3)
    assert [by_key[k]["complete"] for k in ("chatcmpl-A1", "chatcmpl-D4")] == [True, False]
    assert {r["source"] for r in records} == {str(path)}
    # a plain log cut in many ranges, with cut lines and refused chunks: -j 2 == -j 1
    logs = write_files(tmp_path, generate_log(23, 400), 2, 23)
    cut = tmp_path / "cut.jsonl"
    body = (
        logs[0].read_bytes() if logs[0].suffix != ".gz" else gzip.decompress(logs[0].read_bytes())
    )
    cut_lines = body.splitlines(keepends=True)
    for n in range(3, len(cut_lines), 37):
        cut_lines[n] = cut_lines[n][: len(cut_lines[n]) // 2] + b"\n"
    cut.write_bytes(b"".join(cut_lines))
    monkeypatch.setattr(_parallel, "_MAX_BLOCK", 16 << 10)
    names = [str(p) for p in [cut, *logs]]
    assert len(_parallel.plan(names, names, fmt="auto", jobs=2, block_size=16 << 10)) > 4
    for flags in (["--records"], []):
        serial = run(capsys, *flags, "--window", "30", *names)
        assert serial == run(capsys, *flags, "-j", "2", "--window", "30", *names)
        assert "a line of it is not valid JSON" in serial[2]
        if flags:
            serial_records = serial[1]
    folded = streamfold.read_log([Path(name) for name in names], window=30)
    keys = [r.key for r in folded if r.completion is not None]
    assert [line["key"] for line in completions(serial_records)] == keys
    assert sum(1 for r in completions(serial_records) if r["errors"]) > 5


def test_empty_ids_of_several_requests_are_a_warning(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gateway records with empty chunk ids, no --key: folded as one stream (as before), with
    one warning on stderr naming the line and --key, in LogResult.warnings too; exit 0."""
    path = EXAMPLES / "gateway_records.jsonl"
    status, out, err = run(capsys, path)
    assert status == 0
    assert [c["choices"][0]["message"]["content"] for c in completions(out)] == [
        "DeepBonjour learning"
    ]
    (warning,) = err.splitlines()
    assert warning.startswith(f"{path}:2: warning: chunks with an empty id")
    assert "--key" in warning
    (result,) = streamfold.read_log(path)
    assert result.ok
    assert result.warnings == (warning,)
    assert run(capsys, "-j", "2", path, path) == run(capsys, path, path)
    status, _, err = run(capsys, "--key", "request_id", path)
    assert (status, err) == (0, "")


def test_no_stream_found_is_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An empty file: exit 0, and stderr says that no stream was found."""
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert run(capsys, empty) == (0, "", f"streamfold: no stream found in {empty}\n")
    assert run(capsys, "-j", "2", empty, empty)[2].startswith("streamfold: no stream found")


def test_key_option_names_the_stream_field(capsys: pytest.CaptureFixture[str]) -> None:
    """--key request_id: gateway records whose chunk ids are empty."""
    status, out, _ = run(capsys, "--key", "request_id", EXAMPLES / "gateway_records.jsonl")
    assert status == 0
    contents = [c["choices"][0]["message"]["content"] for c in completions(out)]
    assert contents == ["Deep learning", "Bonjour"]
    status, _, err = run(capsys, "--key", "nope", EXAMPLES / "gateway_records.jsonl")
    assert status == 1
    assert ":1: no field 'nope' in this record (--key)" in err


def _gemini_sse() -> bytes:
    """An SSE body in Gemini's shape: a tool call, then finish_reason "stop"."""
    head = {"id": "gem-1", "object": "chat.completion.chunk", "created": 1, "model": "gemini"}
    call = {"index": 0, "id": "call_1", "type": "function"}
    call["function"] = {"name": "get_weather", "arguments": '{"city": "Lyon"}'}
    deltas: list[tuple[dict[str, Any], str | None]] = [
        ({"role": "assistant", "tool_calls": [call]}, None),
        ({}, "stop"),
    ]
    events = [
        {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        for delta, finish in deltas
    ]
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + (
        b"data: [DONE]\n\n"
    )


def _tool_finishes(out: str) -> Counter[Any]:
    """How the choices that called tools finished, in the JSON-lines output."""
    return Counter(
        choice["finish_reason"]
        for data in completions(out)
        for choice in data["choices"]
        if choice["message"].get("tool_calls")
    )


def test_normalize_finish_reason_flag_with_and_without_jobs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--normalize-finish-reason`: "tool_calls" for a choice that called tools but finished with
    "stop" (an SSE capture and logs of Gemini-style streams); the same bytes with --jobs 2 over
    many byte ranges, and those read_log(normalize_finish_reason=True) folds. Without the flag,
    "stop" stays."""
    sse = tmp_path / "gemini.sse"
    sse.write_bytes(_gemini_sse())
    logs = write_files(tmp_path, generate_log(17, 400, gemini=True), 2, 17)
    monkeypatch.setattr(_parallel, "_MAX_BLOCK", 16 << 10)  # many ranges from small files
    names = [str(p) for p in [sse, *logs]]
    assert len(_parallel.plan(names, names, fmt="auto", jobs=2, block_size=16 << 10)) > 6
    runs = {}
    for flag in [[], ["--normalize-finish-reason"]]:
        for jobs in ["1", "2"]:
            runs[bool(flag), jobs] = run(
                capsys, "fold", *flag, "-j", jobs, "--window", "30", *names
            )
    for normalize in [False, True]:
        assert runs[normalize, "1"] == runs[normalize, "2"]  # byte for byte, errors included
        status, out, err = runs[normalize, "1"]
        assert status == 1  # the generated logs hold bad lines
        assert err == runs[not normalize, "1"][2]
        first = streamfold.from_sse(sse, normalize_finish_reason=normalize)
        folded = streamfold.read_log(logs, window=30, normalize_finish_reason=normalize)
        expected = [streamfold.to_json(first)]
        expected += [streamfold.to_json(r.completion) for r in folded if r.completion is not None]
        assert out.splitlines() == expected
    sent = _tool_finishes(runs[False, "1"][1])
    normalized = _tool_finishes(runs[True, "1"][1])
    assert sent["stop"] > 20
    assert "tool_calls" not in sent
    assert normalized["tool_calls"] == sent["stop"]
    assert "stop" not in normalized
    assert completions(runs[True, "2"][1])[0]["choices"][0]["finish_reason"] == "tool_calls"
    assert completions(runs[False, "2"][1])[0]["choices"][0]["finish_reason"] == "stop"


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No file, a missing file, an unknown option, an unwritable output, a bad number."""
    assert run(capsys)[0] == 2
    status, out, err = run(capsys, tmp_path / "missing.jsonl", EXAMPLES / "tool_calls.jsonl")
    assert (status, out) == (2, "")  # nothing is folded when an argument is wrong
    assert "missing.jsonl: no such file" in err
    assert run(capsys, "--frobnicate", EXAMPLES / "tool_calls.jsonl")[0] == 2
    assert run(capsys, EXAMPLES / "tool_calls.jsonl", "-o", tmp_path / "no" / "dir")[0] == 2
    assert run(capsys, "replay", "--piece-size", "0", "-")[0] == 2
    assert run(capsys, "--window", "-3", EXAMPLES / "tool_calls.jsonl")[0] == 2


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the version; --help lists the options; both exit 0."""
    status, out, _ = run(capsys, "--version")
    assert (status, out.strip()) == (0, f"streamfold {streamfold.__version__}")
    status, out, _ = run(capsys, "--help")
    assert status == 0
    assert "--strict" in out
    assert "replay" in out
    assert run(capsys, "replay", "--help")[0] == 0


def test_help_lists_the_subcommands_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    """`streamfold --help` names fold and replay, each on a line of its own with what it does."""
    status, out, _ = run(capsys, "--help")
    assert status == 0
    commands = [line.split(None, 1) for line in out.splitlines() if line.startswith("  ")]
    found = {words[0]: words[1] for words in commands if len(words) == 2}
    assert "fold SSE captures" in found["fold"]
    assert "SSE body" in found["replay"]


def test_replay_of_json_that_is_no_completion_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`echo '{"not":"a completion"}' | streamfold replay -`: exit 1, a message, no chunk."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"not":"a completion"}\n')))
    status, out, err = run(capsys, "replay", "-")
    assert (status, out) == (1, "")
    assert err.startswith("<stdin>:1: not a completion (no 'choices' list")


# ---------------------------------------------------------------------------------------------
# replay


def test_replay_writes_an_sse_body_that_folds_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """replay then fold gives the stored completion back; the same seed, the same bytes."""
    stored = tmp_path / "completion.json"
    status, out, _ = run(capsys, "--pretty", EXAMPLES / "openrouter_reasoning.sse")
    stored.write_text(out, encoding="utf-8")
    body = tmp_path / "replayed.sse"
    assert run(capsys, "replay", stored, "--seed", "5", "--piece-size", "2", "-o", body)[0] == 0
    data = body.read_bytes()
    assert data.startswith(b"data: {")
    assert data.endswith(b"data: [DONE]\n\n")
    status, again, _ = run(capsys, "--pretty", body)
    assert status == 0
    assert json.loads(again) == json.loads(out)
    second = tmp_path / "second.sse"
    run(capsys, "replay", stored, "--seed", "5", "--piece-size", "2", "-o", second)
    assert second.read_bytes() == data
    run(capsys, "replay", stored, "--seed", "6", "--piece-size", "2", "-o", second)
    assert second.read_bytes() != data


def test_replay_json_lines_of_completions_and_bad_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Several stored completions: several bodies; a bad line is FILE:LINE on stderr, exit 1."""
    _, out, _ = run(capsys, EXAMPLES / "interleaved.jsonl")
    stored = tmp_path / "all.jsonl"
    stored.write_text(out + "not json\n", encoding="utf-8")
    status, body, err = run(capsys, "replay", stored)
    assert status == 1
    assert err.startswith(f"{stored}:4: invalid JSON")
    assert body.count("data: [DONE]") == 3
    replayed = tmp_path / "bodies.sse"
    replayed.write_text(body, encoding="utf-8")
    status, again, _ = run(capsys, replayed)
    assert completions(again) == completions(out)


# ---------------------------------------------------------------------------------------------
# progress and the installed command


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not a terminal: stderr stays clean. A terminal: tqdm draws bytes and streams."""
    pytest.importorskip("tqdm")
    status, _, err = run(capsys, EXAMPLES / "interleaved.jsonl")
    assert (status, err) == (0, "")
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main([str(EXAMPLES / "interleaved.jsonl"), str(EXAMPLES / "corrupted.jsonl")]) == 1
    drawn = terminal.getvalue()
    assert "folding" in drawn
    assert "streams=" in drawn
    assert f"{EXAMPLES / 'corrupted.jsonl'}:10: invalid JSON" in drawn
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["--no-progress", str(EXAMPLES / "interleaved.jsonl")]) == 0
    assert terminal.getvalue() == ""


def test_installed_command_with_a_pipe() -> None:
    """`python -m streamfold` reads a pipe; replay | fold round-trips (no shell involved)."""
    example = EXAMPLES / "tool_calls.jsonl"
    folded = subprocess.run(
        [sys.executable, "-m", "streamfold", "-"],
        input=example.read_bytes(),
        capture_output=True,
        check=True,
    )
    replayed = subprocess.run(
        [sys.executable, "-m", "streamfold", "replay", "-"],
        input=folded.stdout,
        capture_output=True,
        check=True,
    )
    again = subprocess.run(
        [sys.executable, "-m", "streamfold", "fold", "-"],
        input=replayed.stdout,
        capture_output=True,
        check=True,
    )
    assert json.loads(again.stdout) == json.loads(folded.stdout)


def test_a_reader_that_goes_away_is_no_error_trace(tmp_path: Path) -> None:
    """`streamfold ... | head`: stop quietly, no traceback, no bogus input error."""
    capture = tmp_path / "many.sse"
    capture.write_bytes((EXAMPLES / "openai_text.sse").read_bytes() * 300)
    with subprocess.Popen(
        [sys.executable, "-m", "streamfold", "--pretty", str(capture)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        assert process.stdout.read(10) == b'{\n  "id": '
        process.stdout.close()
        stderr = process.stderr.read()
        assert process.wait() == 1
    assert stderr == b""
