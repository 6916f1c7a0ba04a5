"""Fold cost per scenario (pytest-benchmark): dict chunks, JSON lines, and the bare floor.

Timed:  python -m pytest benchmarks/bench_fold.py --benchmark-enable
Figures (µs per chunk, with the ratio to the floor in the same run):  python -m benchmarks.report
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import streamfold
from benchmarks.streams import SCENARIOS, floor

Bench = Any  # pytest-benchmark's fixture type is not exported


@pytest.fixture(params=sorted(SCENARIOS))
def scenario(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    """One generated stream per scenario, at 1x length."""
    name: str = request.param
    return name, list(SCENARIOS[name](1))


def test_fold_dicts(benchmark: Bench, scenario: tuple[str, list[dict[str, Any]]]) -> None:
    """Folding parsed chunk dicts into the completion (add every chunk, then completion())."""
    _, chunks = scenario
    benchmark.extra_info["chunks"] = len(chunks)
    completion = benchmark(streamfold.accumulate, chunks)
    assert completion.choices[0].finish_reason in ("stop", "tool_calls")


def test_fold_json_lines(benchmark: Bench, scenario: tuple[str, list[dict[str, Any]]]) -> None:
    """Folding the JSON text of each chunk (parse + fold)."""
    _, chunks = scenario
    lines = [json.dumps(c).encode() for c in chunks]
    benchmark.extra_info["chunks"] = len(lines)
    completion = benchmark(streamfold.accumulate, lines)
    assert completion.usage is not None


def test_floor(benchmark: Bench, scenario: tuple[str, list[dict[str, Any]]]) -> None:
    """The floor: a loop that only appends and joins the text, for scale."""
    _, chunks = scenario
    benchmark.extra_info["chunks"] = len(chunks)
    assert benchmark(floor, chunks)
