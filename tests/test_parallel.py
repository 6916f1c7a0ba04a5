"""fold_logs and `streamfold fold --jobs`: the process pool gives read_log's results, byte for byte.

The logs are generated: thousands of interleaved streams (text, parallel tool calls, n=2, logprobs,
usage chunks early, late or missing, trailing chunks after the finish, server errors, refused
chunks, reused ids), in every line form a log holds (plain, `data:`, records, noise, bad lines),
cut into several files (one gzipped) and, by a small block size, into many byte ranges, so that
streams are split across ranges and files and windows close streams across the cuts.
"""

from __future__ import annotations

import gzip
import io
import json
import multiprocessing
import pickle
import random
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import streamfold
from streamfold import _parallel
from streamfold.cli import main

EXAMPLES = Path(__file__).parent.parent / "examples"
WORDS = [" the", " fold", " Bogotá", " 東京", " 😀", ' "q"', "\\n", " a", " stream", " é"]


# ---------------------------------------------------------------------------------------------
# a generated log


def _chunk(sid: str, choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    head = {"id": sid, "object": "chat.completion.chunk", "created": 1751894000, "model": "m"}
    return {**head, "choices": choices, **extra}


def _choice(index: int = 0, finish: str | None = None, **delta: Any) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}


def _script(rng: random.Random, sid: str, *, gemini: bool = False) -> list[dict[str, Any]]:
    """The chunks of one stream, of a random shape and ending. ``gemini``: tool calls finish
    with "stop" (as Gemini, TGI and old Ollama send), and a refused chunk may follow the finish
    (its error carries the completion folded so far, finish reason included)."""
    out = [_chunk(sid, [_choice(role="assistant", content="")])]
    shape = rng.choice(["text", "text", "tools", "n2", "logprobs"])
    finish = "stop"
    if shape == "text":
        out += [
            _chunk(sid, [_choice(content=rng.choice(WORDS))]) for _ in range(rng.randint(1, 12))
        ]
    elif shape == "tools":
        finish = "stop" if gemini else "tool_calls"
        for index in range(rng.randint(1, 2)):
            call = {"index": index, "id": f"call_{sid}_{index}", "type": "function"}
            call["function"] = {"name": "get_weather", "arguments": ""}
            out.append(_chunk(sid, [_choice(tool_calls=[call])]))
            for piece in ['{"city', '": "Ly', 'on"}'][: rng.randint(1, 3)]:
                fragment = {"index": index, "function": {"arguments": piece}}
                out.append(_chunk(sid, [_choice(tool_calls=[fragment])]))
    elif shape == "n2":
        out[0]["choices"].append(_choice(1, role="assistant", content=""))
        for _ in range(rng.randint(2, 8)):
            index = rng.randrange(2)
            out.append(_chunk(sid, [_choice(index, content=rng.choice(WORDS))]))
        out.append(_chunk(sid, [_choice(rng.randrange(2), "length")]))  # one finishes first
        out.append(_chunk(sid, [_choice(1, content=" more")]))
    else:
        for _ in range(rng.randint(1, 6)):
            word = rng.choice(WORDS)
            entry = {"token": word, "logprob": -0.5, "bytes": None, "top_logprobs": []}
            choice = _choice(content=word)
            choice["logprobs"] = {"content": [entry], "refusal": None}
            out.append(_chunk(sid, [choice]))
    if rng.random() < 0.1:  # a chunk the core refuses, in the middle
        out.insert(rng.randint(1, len(out)), _chunk(sid, [_choice(content=5)]))
    ending = rng.random()
    if ending < 0.08:  # the server gives up
        out.append({"id": sid, "object": "chat.completion.chunk", "error": {"message": "busy"}})
        return out
    if ending < 0.15:  # cut short: no finish reason
        return out
    out.append(_chunk(sid, [_choice(0, finish)] + ([_choice(1, "stop")] if shape == "n2" else [])))
    if gemini and rng.random() < 0.1:  # (no draw without gemini: the other logs stay the same)
        out.append(_chunk(sid, [_choice(content=5)]))
    if ending < 0.3:  # Azure's trailing filter chunk after the finish
        filtered = {"index": 0, "content_filter_results": {"hate": {"filtered": False}}}
        out.append(_chunk(sid, [filtered]))
    elif ending < 0.35:  # a chunk with nothing in it
        out.append(_chunk(sid, []))
    if ending < 0.75:  # include_usage
        out.append(_chunk(sid, [], usage={"prompt_tokens": 3, "completion_tokens": 4}))
    return out


def _line(rng: random.Random, chunk: dict[str, Any], number: int) -> bytes:
    """One log line holding the chunk, in one of the forms logs use."""
    text = json.dumps(chunk, ensure_ascii=rng.random() < 0.5)
    form = rng.random()
    if form < 0.7:
        return text.encode()
    if form < 0.8:
        return b"data: " + text.encode()
    if form < 0.9:
        return json.dumps({"ts": number, "level": "debug", "chunk": chunk}).encode()
    return json.dumps({"ts": number, "body": "data: " + text}).encode()


NOISE = [b"", b": keep-alive", b"data: [DONE]", b"event: message", b"  "]
BAD = [b"{not json", b"[1, 2]", b'{"level": "info", "msg": "GET /v1"}', b"\xff\xfe\x00garbage"]


def generate_log(seed: int, streams: int, *, active: int = 40, gemini: bool = False) -> list[bytes]:
    """The lines of a log of ``streams`` interleaved streams (about ``active`` open at once);
    ``gemini``: see ``_script``."""
    rng = random.Random(seed)
    pending: list[tuple[list[dict[str, Any]], float]] = []
    lines: list[bytes] = []
    started = 0
    while pending or started < streams:
        while len(pending) < active and started < streams:
            # a few ids come back: a new stream after the first closed, or one stream of both
            sid = f"chatcmpl-{seed}-{rng.randrange(streams) if rng.random() < 0.05 else started}"
            speed = rng.choice([1.0, 1.0, 1.0, 0.05])  # some streams stall: windows run out
            pending.append((_script(rng, sid, gemini=gemini)[::-1], speed))
            started += 1
        pick = rng.choices(range(len(pending)), [speed for _, speed in pending])[0]
        chunks = pending[pick][0]
        lines.append(_line(rng, chunks.pop(), len(lines)))
        if not chunks:
            pending[pick] = pending[-1]
            pending.pop()
        if rng.random() < 0.02:
            lines.append(rng.choice(NOISE))
        if rng.random() < 0.003:
            lines.append(rng.choice(BAD))
    return lines


def write_files(tmp_path: Path, lines: list[bytes], parts: int, seed: int) -> list[Path]:
    """The log cut into ``parts`` files at random lines (streams continue across files); the
    second file is gzipped, the last has no final newline."""
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(lines)), parts - 1))
    paths = []
    for number, (start, end) in enumerate(zip([0, *cuts], [*cuts, len(lines)], strict=True)):
        data = b"\n".join(lines[start:end]) + (b"\n" if number < parts - 1 else b"")
        path = tmp_path / f"log-{number}.jsonl"
        if number == 1:
            path = path.with_suffix(".jsonl.gz")
            data = gzip.compress(data)
        path.write_bytes(data)
        paths.append(path)
    return paths


def signature(result: streamfold.LogResult) -> tuple[Any, ...]:
    """Everything a result says, comparable: the completion as JSON, each error as text, with
    the position and completion it carries, whether the fold is complete, the warnings."""
    errors = tuple(
        (
            type(err).__name__,
            str(err),
            err.position,
            None if err.completion is None else streamfold.to_json(err.completion),
        )
        for err in result.errors
    )
    completion = None if result.completion is None else streamfold.to_json(result.completion)
    return (
        result.key,
        result.source,
        result.line,
        result.chunks,
        completion,
        errors,
        result.complete,
        result.warnings,
    )


def signatures(results: Iterable[streamfold.LogResult]) -> list[tuple[Any, ...]]:
    """The signatures of results, in order."""
    return [signature(r) for r in results]


def assembled(paths: list[Path], block_size: int, **options: Any) -> list[tuple[Any, ...]]:
    """The parallel machinery run in this process (no pool): plan, fold each unit and send it
    through pickle as a worker would, assemble."""
    names = [str(p) for p in paths]
    units = _parallel.plan(names, names, fmt="jsonl", jobs=2, block_size=block_size)
    return assembled_units(units, **options)


def assembled_units(units: list[_parallel.Unit], **options: Any) -> list[tuple[Any, ...]]:
    """Each unit folded in this process and sent through pickle as a worker sends it, then
    assembled: the results' signatures."""
    settings = _parallel.Options(**options)
    assembler = _parallel._Assembler(settings)
    out: list[streamfold.LogResult | _parallel.Rendered] = []
    for unit in units:
        sent = pickle.dumps(_parallel.fold_unit(unit, settings), pickle.HIGHEST_PROTOCOL)
        out += assembler.unit(unit, pickle.loads(sent))
    out += assembler.finish()
    return [signature(r) for r in out if isinstance(r, streamfold.LogResult)]


def tool_finishes(results: Iterable[streamfold.LogResult]) -> tuple[Counter[Any], Counter[Any]]:
    """How the choices that called tools finished: in the results' completions, and in the
    completions their errors carry."""

    def count(completions: Iterable[Any]) -> Counter[Any]:
        return Counter(
            choice.finish_reason
            for completion in completions
            if isinstance(completion, streamfold.ChatCompletion)
            for choice in completion.choices
            if choice.message.tool_calls
        )

    results = list(results)
    return count(r.completion for r in results), count(
        e.completion for r in results for e in r.errors
    )


def request_key(record: dict[str, Any]) -> tuple[Any, Any] | None:
    """A key function for records of a gateway (module level: it pickles)."""
    return record["request_id"], record["chunk"]


# ---------------------------------------------------------------------------------------------
# the assembly, in process: many logs, windows and cuts


@pytest.mark.parametrize(("seed", "window"), list(enumerate([0, 2, 3, 17, 40, 200, None, 10_000])))
def test_assembled_pieces_equal_read_log_for_every_window_and_cut(
    tmp_path: Path, seed: int, window: int | None
) -> None:
    """Any log cut into files and byte ranges of any size gives read_log's results in order."""
    paths = write_files(tmp_path, generate_log(seed, 100, active=20), 3, seed)
    expected = signatures(streamfold.read_log(paths, window=window))
    assert len(expected) >= 90
    rng = random.Random(seed)
    for block_size in [rng.randint(30, 400), rng.randint(1000, 8000)]:  # some hold no line
        assert assembled(paths, block_size, window=window) == expected, block_size


def test_the_generated_logs_exercise_every_way_a_stream_ends(tmp_path: Path) -> None:
    """The test data is not too kind: windows close streams, errors and bad lines are there."""
    paths = write_files(tmp_path, generate_log(7, 400), 3, 7)
    results = list(streamfold.read_log(paths, window=17))
    messages = [str(e) for r in results for e in r.errors]
    assert any("the server reported an error" in m for m in messages)
    assert any("choices[0].delta.content" in m for m in messages)
    assert any(r.key is None for r in results)  # lines of no stream
    keys = [r.key for r in results if r.key is not None]
    assert len(keys) > len(set(keys))  # an id used by two streams one after another
    unclosed = list(streamfold.read_log(paths, window=None))
    assert [r.key for r in unclosed] != [r.key for r in results]  # windows changed the order


def test_strict_and_a_key_function_through_the_pieces(tmp_path: Path) -> None:
    """strict=True (IncompleteStreamError per stream) and records keyed by a request id."""
    rng = random.Random(3)
    lines = []
    for number, line in enumerate(generate_log(3, 120)):
        if line.startswith(b"{") and b'"choices"' in line and not line.startswith(b'{"ts"'):
            chunk = json.loads(line)
            request = f"req-{chunk['id']}-{rng.randrange(2)}" if number % 7 == 0 else chunk["id"]
            line = json.dumps({"request_id": request, "chunk": chunk}).encode()
        lines.append(line)
    paths = write_files(tmp_path, lines, 2, 3)
    runs: list[dict[str, Any]] = [{"strict": True, "window": 5}, {"key": request_key, "window": 30}]
    for options in runs:
        expected = signatures(streamfold.read_log(paths, **options))
        errors = {e[0] for s in expected for e in s[5]}
        assert "IncompleteStreamError" in errors or "strict" not in options
        for block_size in [300, 4000]:
            assert assembled(paths, block_size, **options) == expected


@pytest.mark.parametrize("window", [0, 3, 40, None])
def test_normalize_finish_reason_through_the_pieces(tmp_path: Path, window: int | None) -> None:
    """Gemini-style streams (tool calls finished with "stop", refused chunks after the finish)
    cut into files and byte ranges: normalize_finish_reason gives read_log's normalized results,
    the completions of errors included; without it "stop" stays, as read_log keeps it."""
    paths = write_files(tmp_path, generate_log(31, 150, active=20, gemini=True), 3, 31)
    normalized = list(streamfold.read_log(paths, window=window, normalize_finish_reason=True))
    plain = list(streamfold.read_log(paths, window=window))
    finishes, error_finishes = tool_finishes(normalized)
    assert "stop" not in finishes  # (None: streams cut short)
    assert finishes["tool_calls"] > 10
    if window != 0:  # (window 0: the chunk after the finish starts a stream of its own)
        assert "tool_calls" in error_finishes  # a refused chunk after the finish
    assert set(tool_finishes(plain)[0]) <= {"stop", None}
    assert tool_finishes(plain)[0]["stop"] > 10
    if window != 0:
        assert "stop" in tool_finishes(plain)[1]
    for block_size in [300, 4000]:
        got = assembled(paths, block_size, window=window, normalize_finish_reason=True)
        assert got == signatures(normalized), block_size
        assert assembled(paths, block_size, window=window) == signatures(plain), block_size


@settings(max_examples=200, deadline=None)
@given(
    data=st.lists(st.sampled_from([b"a", b"bb", b"\n", b"\r\n", b"x" * 40]), max_size=40),
    block_size=st.integers(1, 60),
)
def test_byte_ranges_hold_every_line_once(
    tmp_path_factory: Any, data: list[bytes], block_size: int
) -> None:
    """A range starts after the first newline at or after its offset: no line lost or doubled."""
    path = tmp_path_factory.mktemp("ranges") / "log"
    path.write_bytes(b"".join(data))
    units = _parallel.plan([str(path)], [str(path)], fmt="jsonl", jobs=2, block_size=block_size)
    read: list[bytes] = []
    for unit in units:
        assert unit.stop is not None
        read += _parallel._range_lines(unit.path, unit.start, unit.stop)
    with path.open("rb") as file:
        assert read == list(file)


# ---------------------------------------------------------------------------------------------
# the process pool


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Thousands of interleaved streams in four files (one gzipped)."""
    tmp = tmp_path_factory.mktemp("big")
    return write_files(tmp, generate_log(11, 3000, active=60), 4, 11)


def test_fold_logs_on_two_processes_equals_read_log(big_log: list[Path]) -> None:
    """jobs=2 over files cut into many byte ranges: read_log's results, in its order."""
    expected = signatures(streamfold.read_log(big_log, window=40))
    assert len(expected) > 2900
    got = signatures(streamfold.fold_logs(big_log, jobs=2, window=40, block_size=64 << 10))
    assert got == expected
    here = signatures(streamfold.fold_logs(big_log, jobs=1, window=40))
    assert here == expected


@pytest.fixture(scope="module")
def gemini_log(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Interleaved Gemini-style streams in three files (one gzipped)."""
    tmp = tmp_path_factory.mktemp("gemini")
    return write_files(tmp, generate_log(13, 1500, active=60, gemini=True), 3, 13)


def test_fold_logs_normalize_finish_reason_on_one_and_two_processes(
    gemini_log: list[Path],
) -> None:
    """fold_logs(normalize_finish_reason=True), jobs=1 and jobs=2 over many byte ranges: the
    results of read_log(normalize_finish_reason=True), "tool_calls" for tools that "stop"ped;
    the default keeps "stop", on the pool too."""
    names = [str(p) for p in gemini_log]
    assert len(_parallel.plan(names, names, fmt="jsonl", jobs=2, block_size=32 << 10)) > 10
    expected = list(streamfold.read_log(gemini_log, window=40, normalize_finish_reason=True))
    assert len(expected) > 1400
    finishes, error_finishes = tool_finishes(expected)
    assert "stop" not in finishes  # (None: streams cut short)
    assert finishes["tool_calls"] > 200
    assert "tool_calls" in error_finishes
    pool = streamfold.fold_logs(
        gemini_log, jobs=2, window=40, block_size=32 << 10, normalize_finish_reason=True
    )
    assert signatures(pool) == signatures(expected)
    here = streamfold.fold_logs(gemini_log, jobs=1, window=40, normalize_finish_reason=True)
    assert signatures(here) == signatures(expected)
    plain = list(streamfold.fold_logs(gemini_log, jobs=2, window=40, block_size=32 << 10))
    assert signatures(plain) == signatures(streamfold.read_log(gemini_log, window=40))
    assert set(tool_finishes(plain)[0]) <= {"stop", None}
    assert tool_finishes(plain)[0]["stop"] > 10


def test_cli_jobs_2_writes_the_same_bytes_and_errors(
    big_log: list[Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`streamfold fold --jobs 2`: stdout, stderr (FILE:LINE errors) and status as --jobs 1."""
    monkeypatch.setattr(_parallel, "_MAX_BLOCK", 96 << 10)  # many ranges from small files
    files = [*big_log[:2], EXAMPLES / "openai_text.sse", *big_log[2:], EXAMPLES / "corrupted.jsonl"]
    runs = []
    for jobs in ["1", "2"]:
        status = main(["fold", "--jobs", jobs, "--window", "25", *map(str, files)])
        out, err = capsys.readouterr()
        runs.append((status, out, err))
    assert runs[0] == runs[1]
    status, out, err = runs[0]
    assert status == 1
    assert out.count("\n") > 2500
    assert f"{big_log[0]}:" in err
    assert f"{EXAMPLES / 'corrupted.jsonl'}:6: " in err


def test_cli_jobs_with_a_key_field_stdin_and_a_truncated_gzip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--key (pickled to the workers), --pretty, standard input read in its turn, a cut gzip
    file."""
    records = [
        json.dumps({"request_id": f"r{i % 5}", "chunk": json.loads(line)}).encode()
        for i, line in enumerate(generate_log(5, 300))
        if line.startswith(b"{") and b'"choices"' in line and not line.startswith(b'{"ts"')
    ]
    third = len(records) // 3
    first = tmp_path / "a.jsonl"
    first.write_bytes(b"\n".join(records[:third]) + b"\n")
    cut = tmp_path / "b.jsonl.gz"
    cut.write_bytes(gzip.compress(b"\n".join(records[third : 2 * third]))[:-300])
    stdin = b"\n".join(records[2 * third :])
    monkeypatch.setattr(_parallel, "_MAX_BLOCK", 16 << 10)
    runs = []
    for jobs in ["1", "0"]:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        args = ["fold", "-j", jobs, "--key", "request_id", "--window", "9", "--pretty"]
        args += [str(first), str(cut)]
        status = main([*args, "-"])
        runs.append((status, *capsys.readouterr()))
    assert runs[0] == runs[1]
    assert "cannot read further" in runs[0][2]
    assert runs[0][1].count("\n") > 5


def test_reading_only_the_first_results_stops_the_pool(big_log: list[Path]) -> None:
    """Closing the iterator early shuts the worker processes down."""
    results = streamfold.fold_logs(big_log, jobs=2, block_size=32 << 10)
    assert signature(next(results)) == signature(next(streamfold.read_log(big_log)))
    results.close()
    assert multiprocessing.active_children() == []


def test_bad_arguments_are_usage_errors_and_missing_files_os_errors(tmp_path: Path) -> None:
    """jobs < 0, a lambda key with jobs > 1; a missing file raises when its turn comes."""
    log = tmp_path / "a.jsonl"
    log.write_bytes(b"\n".join(generate_log(1, 3)) + b"\n")
    with pytest.raises(streamfold.UsageError, match="jobs"):
        streamfold.fold_logs(log, jobs=-1)
    with pytest.raises(streamfold.UsageError, match="picklable"):
        streamfold.fold_logs(log, jobs=2, key=lambda r: (r["id"], r))
    with pytest.raises(streamfold.UsageError, match="window"):
        streamfold.fold_logs(log, window=-1)
    results = streamfold.fold_logs([log, tmp_path / "missing.jsonl"], jobs=2)
    with pytest.raises(FileNotFoundError):
        list(results)
