"""The benchmark scripts run end to end at tiny sizes, so they cannot rot (no timing asserted)."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from benchmarks import compare, instructions, logprob_floor, memory, targets


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a missing parent package
        return False


def test_compare_quick_prints_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    """compare --quick prints streamfold, the floor and each installed peer on every scenario."""
    assert compare.main(["--quick", "--rounds", "1", "--scales", "1,2"]) == 0
    out = capsys.readouterr().out
    rows = out.splitlines()
    for scenario in ("text", "tools", "logprobs", "n4"):
        mine = [row for row in rows if row.startswith(scenario)]
        assert any(" streamfold " in row and " dicts " in row for row in mine)
        assert any(row.split()[1:2] == ["2"] for row in mine), "no scaling row at 2x"
        assert any("floor (append + join)" in row for row in mine)
    peers = {
        "openai": ("openai", "openai ChatCompletionStreamState"),
        "litellm": ("litellm", "litellm stream_chunk_builder"),
        "langchain": ("langchain_core", "langchain AIMessageChunk acc + c"),
    }
    for peer, (module, row) in peers.items():
        if _installed(module):
            assert row in out
        else:
            assert f"skipped {peer}: not installed" in out
    # --quick leaves out the SDK's state on logprobs (seconds per round)
    assert not any(
        row.startswith("logprobs") and "ChatCompletionStreamState" in row for row in rows
    )


def test_memory_small_stream(capsys: pytest.CaptureFixture[str]) -> None:
    """memory --chunks 20000 folds the stream under tracemalloc and prints the peak ratio."""
    assert memory.main(["--chunks", "20000"]) == 0
    out = capsys.readouterr().out
    assert "peak/final" in out
    assert any(line.split()[:1] == ["20003"] for line in out.splitlines())


def test_targets_quick_prints_every_target(capsys: pytest.CaptureFixture[str]) -> None:
    """targets --quick prints a verdict for every target of issue 7 on each of its scenarios."""
    assert targets.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "quick mode" in out
    assert "yardstick" in out
    rows = [
        line.strip("| ").split(" | ")
        for line in out.splitlines()
        if line.startswith("| ") and not line.startswith(("| target ", "| --- "))
    ]
    scenarios = ("text", "tools", "logprobs", "n4")
    # (target number, a word of the target, scenario, the module it needs)
    expected: list[tuple[int, str, str, str | None]]
    expected = [(1, "dicts", name, None) for name in scenarios]
    expected += [(2, "openai", name, "openai") for name in scenarios]
    expected += [(2, "LiteLLM", name, "litellm") for name in scenarios]
    expected += [(3, "length", name, None) for name in scenarios]
    expected += [(4, "from_sse", name, "orjson") for name in scenarios]
    expected += [(5, "memory", "text", None)]
    expected += [(6, "SDK objects", name, "openai") for name in ("text", "tools")]
    assert len(rows) == len(expected)
    for number, word, scenario, module in expected:
        found = [
            row
            for row in rows
            if row[0].startswith(f"{number}. ") and word in row[0] and row[1] == scenario
        ]
        assert len(found) == 1, (number, word, scenario, rows)
        verdict = found[0][-1]
        if module is None or _installed(module):
            assert verdict in ("met", "NOT met"), found
        else:
            assert verdict == "skipped: not installed", found


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="counts with callgrind")
def test_instructions_counts_one_cell(capsys: pytest.CaptureFixture[str]) -> None:
    """instructions.py --json counts orjson.loads of text chunks under callgrind, per chunk."""
    status = instructions.main(["--paths", "parse", "--scenarios", "text", "--json"])
    assert status == 0
    report = json.loads(capsys.readouterr().out)
    parse = report["per_chunk"]["parse"]["text"]
    # one more chunk costs thousands of instructions, not millions (start-up cancelled out)
    assert 1_000 < parse < 100_000
    assert report["ratio_to_parse"] == {}


def test_instructions_without_valgrind_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without valgrind, instructions.py exits 2 with a message naming it, not a traceback."""
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert instructions.main(["--paths", "parse", "--scenarios", "text"]) == 2
    assert "valgrind is not installed" in capsys.readouterr().err


def test_instructions_table_renders_ratios() -> None:
    """The text table shows thousands per chunk and each path's ratio to orjson.loads."""
    table = {"parse": {"text": 10_000.0}, "log": {"text": 35_000.0}}
    text = instructions.render(table, ["text"])
    assert "10.0k" in text
    assert "35.0k (3.50x)" in text


def test_instructions_keep_path_runs(tmp_path: Path) -> None:
    """The ``keep`` path's work (orjson.loads keeping every line) runs on the written inputs."""
    files = instructions.write_inputs(tmp_path, "logprobs", 1)
    path, chunks = files["keep"]
    assert chunks == len(path.read_bytes().splitlines())
    instructions.child("keep", str(path), "work")


def test_logprob_floor_ways_run() -> None:
    """Every way logprob_floor.py counts runs on the logprobs stream's lists (the regex accepts
    every one of them, or the child exits)."""
    lists = logprob_floor.lists(1)
    assert len(lists) == 500
    for way in logprob_floor.WAYS:
        logprob_floor.child(way, 1, "work")


def test_logprob_floor_regex_refuses_what_the_check_refuses() -> None:
    """The regex that stands for a check without a parse accepts only well-formed entries:
    each entry the fold refuses, or a list JSON cannot parse, it refuses too."""
    good = logprob_floor.lists(1)[0]
    match = logprob_floor.ENTRIES.fullmatch
    assert match(good)

    def dumped(change: dict[str, object]) -> bytes:
        entries = json.loads(good)
        entries[0].update(change)
        return json.dumps(entries, separators=(",", ":"), ensure_ascii=False).encode()

    assert match(dumped({"token": "naïve 日本"}))  # UTF-8 text is well-formed
    bad_fields: list[dict[str, object]] = [
        {"logprob": "low"},
        {"token": 7},
        {"bytes": "ab"},
        {"top_logprobs": {}},
    ]
    for bad_field in bad_fields:
        assert match(dumped(bad_field)) is None, bad_field
    ok = dumped({"token": "ok"})
    assert match(ok.replace(b'"ok"', rb'"\ud800"')) is None  # a lone surrogate (orjson refuses)
    assert match(ok.replace(b'"ok"', b'"o\xffk"')) is None  # not UTF-8
    assert match(good[:-1]) is None  # cut short
