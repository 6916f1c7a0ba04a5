"""SSE bytes -> completion, against parsing the same data lines alone.

Timed with pytest-benchmark::

    python -m pytest benchmarks/bench_sse.py --benchmark-enable --benchmark-group-by=param:scenario

or as a script, which interleaves the three contenders over many rounds (the machines are noisy)
and prints the median µs per chunk and the median ratio to ``orjson.loads``, with the target of
issue 7 and the share of chunks the SSE fast path took (its template hits)::

    python benchmarks/bench_sse.py [ROUNDS]

As ``timeit`` does, the garbage collector is off while a contender is timed (and runs between
rounds): a full collection costs more than a whole 1,000-chunk stream and lands on whichever
contender happens to be running, which made the medians flip between rounds.

The streams are generated here, in the shape OpenAI sends them, at 1x length: text (1,000
content chunks), tools (4 parallel calls x 250 argument fragments), logprobs (500 chunks with
top-5 alternatives), n=4 (1,000 chunks, 4 choices interleaved). The bare parse is
``[orjson.loads(line) for line in data_lines]`` with the list kept: what any SSE consumer pays
before folding anything.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest

import streamfold

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is in the test extra
    orjson = None  # type: ignore[assignment]

_TEXT = (
    "the of and to in is that for it as was with be by on not this are or from at which "
    "stream chunk token model server reply fold parse event Paris Bogotá 東京 naïve café 😀"
)
WORDS = _TEXT.split(" ")

ENVELOPE: dict[str, Any] = {
    "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
    "object": "chat.completion.chunk",
    "created": 1741570283,
    "model": "gpt-4o-2024-08-06",
    "service_tier": "default",
    "system_fingerprint": "fp_eb9dce56a8",
}


def _chunk(index: int, delta: dict[str, Any], **fields: Any) -> dict[str, Any]:
    choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": None, **fields}
    return {**ENVELOPE, "choices": [choice], "usage": None}


def _usage(completion_tokens: int) -> dict[str, Any]:
    usage = {"prompt_tokens": 19, "completion_tokens": completion_tokens}
    usage["total_tokens"] = 19 + completion_tokens
    return {**ENVELOPE, "choices": [], "usage": usage}


def _role(index: int = 0) -> dict[str, Any]:
    return _chunk(index, {"role": "assistant", "content": "", "refusal": None})


def text_stream(n: int = 1000) -> Iterator[dict[str, Any]]:
    """Role, ``n`` content chunks of one word each, finish, usage."""
    rng = random.Random(1)
    yield _role()
    for _ in range(n):
        yield _chunk(0, {"content": " " + rng.choice(WORDS)})
    yield _chunk(0, {}, finish_reason="stop")
    yield _usage(n)


def tools_stream(calls: int = 4, fragments: int = 250) -> Iterator[dict[str, Any]]:
    """Role, then ``calls`` parallel tool calls, each announced then ``fragments`` pieces."""
    rng = random.Random(2)
    yield _role()
    for i in range(calls):
        head = {"index": i, "id": f"call_{i:04d}AbCdEfGhIjKlMnOp", "type": "function"}
        head["function"] = {"name": "get_weather", "arguments": ""}
        yield _chunk(0, {"tool_calls": [head]})
        for j in range(fragments):
            piece = '{"location": "' if j == 0 else rng.choice(WORDS)[:4]
            yield _chunk(0, {"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
    yield _chunk(0, {}, finish_reason="tool_calls")
    yield _usage(calls * fragments)


def logprobs_stream(n: int = 500, top: int = 5) -> Iterator[dict[str, Any]]:
    """Role, ``n`` one-token chunks each with its logprob and ``top`` alternatives."""
    rng = random.Random(3)
    yield _role()
    for _ in range(n):
        token = " " + rng.choice(WORDS)
        alternatives = [
            {
                "token": t,
                "logprob": -rng.random() * 8,
                "bytes": list(t.encode()),
            }
            for t in [token, *(" " + rng.choice(WORDS) for _ in range(top - 1))]
        ]
        entry = {**alternatives[0], "top_logprobs": alternatives}
        chunk = _chunk(0, {"content": token})
        chunk["choices"][0]["logprobs"] = {"content": [entry], "refusal": None}
        yield chunk
    yield _chunk(0, {}, finish_reason="stop")
    yield _usage(n)


def n4_stream(n: int = 1000, choices: int = 4) -> Iterator[dict[str, Any]]:
    """Four choices interleaved, ``n`` content chunks in all."""
    rng = random.Random(4)
    for i in range(choices):
        yield _role(i)
    for k in range(n):
        yield _chunk(k % choices, {"content": " " + rng.choice(WORDS)})
    for i in range(choices):
        yield _chunk(i, {}, finish_reason="stop")
    yield _usage(n)


SCENARIOS: dict[str, Callable[[], Iterator[dict[str, Any]]]] = {
    "text": text_stream,
    "tools": tools_stream,
    "logprobs": logprobs_stream,
    "n4": n4_stream,
}


def _dumps(chunk: dict[str, Any]) -> bytes:
    if orjson is not None:
        return orjson.dumps(chunk)
    return json.dumps(chunk, separators=(",", ":"), ensure_ascii=False).encode()


def data_lines(name: str) -> list[bytes]:
    """The JSON text of each chunk of a scenario, as the data lines carry it."""
    return [_dumps(chunk) for chunk in SCENARIOS[name]()]


def sse_body(lines: list[bytes]) -> bytes:
    """The SSE body of those lines, as a server sends it."""
    return b"".join(b"data: " + line + b"\n\n" for line in lines) + b"data: [DONE]\n\n"


def _parse_all(loads: Callable[[bytes], Any], lines: list[bytes]) -> list[Any]:
    return [loads(line) for line in lines]


# ---------------------------------------------------------------------------------------------
# pytest-benchmark


@pytest.fixture(params=list(SCENARIOS), scope="module")
def scenario(request: pytest.FixtureRequest) -> tuple[str, list[bytes], bytes]:
    """One scenario: its name, data lines and SSE body."""
    lines = data_lines(request.param)
    return request.param, lines, sse_body(lines)


def test_sse_bytes_to_completion(benchmark: Any, scenario: tuple[str, list[bytes], bytes]) -> None:
    """streamfold.from_sse: decode the SSE body, parse every chunk, fold."""
    name, lines, body = scenario
    benchmark.group = f"sse-{name}"
    benchmark.extra_info["chunks"] = len(lines)
    completion = benchmark(streamfold.from_sse, body)
    assert completion.choices
    assert completion == streamfold.accumulate(lines)


@pytest.mark.skipif(orjson is None, reason="orjson is not installed")
def test_orjson_loads_data_lines(benchmark: Any, scenario: tuple[str, list[bytes], bytes]) -> None:
    """The bare parse: orjson.loads of every data line, the list kept."""
    name, lines, _ = scenario
    benchmark.group = f"sse-{name}"
    benchmark.extra_info["chunks"] = len(lines)
    parsed = benchmark(_parse_all, orjson.loads, lines)
    assert len(parsed) == len(lines)


def test_json_loads_data_lines(benchmark: Any, scenario: tuple[str, list[bytes], bytes]) -> None:
    """The bare parse with the stdlib: json.loads of every data line."""
    name, lines, _ = scenario
    benchmark.group = f"sse-{name}"
    benchmark.extra_info["chunks"] = len(lines)
    parsed = benchmark(_parse_all, json.loads, lines)
    assert len(parsed) == len(lines)


# ---------------------------------------------------------------------------------------------
# the script: interleaved rounds, medians, ratios


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Collect, then keep the garbage collector off until the block ends (see the module doc)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _time(fn: Callable[[], Any], repeat: int) -> float:
    with gc_paused():
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        return (time.perf_counter() - start) / repeat


def interleaved(
    contenders: dict[str, Callable[[], Any]], rounds: int, repeat: int = 5
) -> dict[str, list[float]]:
    """Seconds per call of each contender, one figure per round (``repeat`` calls averaged).

    Every round runs every contender, in a new shuffled order, so the machine's drift falls on
    all of them alike and the figures of one round can be compared with each other.
    """
    times: dict[str, list[float]] = {key: [] for key in contenders}
    order = list(contenders)
    for turn in range(rounds):
        random.Random(turn).shuffle(order)  # no contender always runs after the same one
        for key in order:
            times[key].append(_time(contenders[key], repeat))
    return times


TARGETS = {"text": 1.0, "tools": 1.0, "logprobs": 1.3, "n4": 1.0}
"""Issue 7: from_sse at most this many times the bare ``orjson.loads`` of the data lines."""


def hit_rate(body: bytes) -> float:
    """The share of a body's chunks that took the SSE fast path (template hits, not timing)."""
    from streamfold import _sse

    fold = _sse._SSEFold(
        source=None,
        max_event_size=_sse.DEFAULT_MAX_EVENT_SIZE,
        multi=False,
        field_rules=None,
        normalize_finish_reason=False,
    )
    fold.feed(body)
    fold.close()
    return fold.hits / max(1, fold.hits + fold.misses)


class Figures(NamedTuple):
    """One scenario's comparison: medians over the rounds, all from the same run."""

    chunks: int
    us: dict[str, float]  # µs per chunk of each contender (sse, orjson, json)
    ratio: float  # the median over the rounds of from_sse's time over orjson's, same round
    body: bytes


def measure(name: str, rounds: int) -> Figures:
    """Time from_sse and the bare parses of one scenario, interleaved over ``rounds`` rounds."""
    assert orjson is not None, "the comparison needs orjson"
    lines = data_lines(name)
    body = sse_body(lines)
    n = len(lines)
    contenders: dict[str, Callable[[], Any]] = {
        "sse": functools.partial(streamfold.from_sse, body),
        "orjson": functools.partial(_parse_all, orjson.loads, lines),
        "json": functools.partial(_parse_all, json.loads, lines),
    }
    times = interleaved(contenders, rounds)
    ratios = [sse / bare for sse, bare in zip(times["sse"], times["orjson"], strict=True)]
    us = {key: statistics.median(values) * 1e6 / n for key, values in times.items()}
    return Figures(n, us, statistics.median(ratios), body)


def main(rounds: int = 30) -> None:
    """Print µs per chunk and the ratio of from_sse to the bare parse, per scenario."""
    if orjson is None:  # pragma: no cover
        raise SystemExit("the comparison needs orjson: pip install 'streamfold[fast]'")
    print(f"python {sys.version.split()[0]}, orjson {orjson.__version__}, {rounds} rounds")
    print(
        f"{'scenario':<10}{'chunks':>7}{'from_sse':>10}{'orjson':>9}{'json':>9}"
        f"{'ratio':>8}{'target':>8}{'fast':>6}"
    )
    for name in SCENARIOS:
        n, med, ratio, body = measure(name, rounds)
        verdict = "ok" if ratio <= TARGETS[name] else "MISS"
        print(
            f"{name:<10}{n:>7}{med['sse']:>10.2f}{med['orjson']:>9.2f}{med['json']:>9.2f}"
            f"{ratio:>7.2f}x{TARGETS[name]:>6.1f}x {verdict:<4}{hit_rate(body):>5.0%}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
