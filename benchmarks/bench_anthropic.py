"""Anthropic Messages streams: MessageAccumulator vs the anthropic SDK's ``accumulate_event``,
side by side in one run, fed the same SDK event objects (built the way the SDK builds the events
it receives).

    python -m benchmarks.bench_anthropic            # the figures (µs per event, ratios, scaling)
    python -m benchmarks.bench_anthropic --quick    # tiny sizes, one round (what the test runs)

Scenarios: a 1,000-delta text stream, a stream of 4 tool calls, and the per-event cost at 1k /
10k / 100k events of one long tool input, where the SDK re-parses the whole input JSON on every
``input_json_delta`` (quadratic) and streamfold appends the fragment (flat). The SDK's run stops
at the first size that takes longer than ``--cap`` seconds (or is predicted to).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from streamfold._anthropic import MessageAccumulator

Bench = Any  # pytest-benchmark's fixture type is not exported


def _start() -> dict[str, Any]:
    return {
        "type": "message_start",
        "message": {
            "id": "msg_bench",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 100, "output_tokens": 1},
        },
    }


def _end(reason: str, output: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "message_delta",
            "delta": {"stop_reason": reason, "stop_sequence": None},
            "usage": {"output_tokens": output},
        },
        {"type": "message_stop"},
    ]


def text_stream(deltas: int = 1000) -> list[dict[str, Any]]:
    """message_start, one text block of ``deltas`` text_delta events, the closing events."""
    words = ["The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog."]
    events = [
        _start(),
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    events += [
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": words[i % 9]},
        }
        for i in range(deltas)
    ]
    events += [{"type": "content_block_stop", "index": 0}, *_end("end_turn", deltas)]
    return events


def _tool_block(index: int, pieces: int) -> list[dict[str, Any]]:
    body = f'{{"path": "src/module_{index}.py", "content": "' + "x = 1\\n" * pieces + '"}'
    size = max(1, len(body) // pieces)
    chunks = [body[i : i + size] for i in range(0, len(body), size)]
    events: list[dict[str, Any]] = [
        {
            "type": "content_block_start",
            "index": index,
            "content_block": {
                "type": "tool_use",
                "id": f"toolu_{index}",
                "name": "write_file",
                "input": {},
            },
        }
    ]
    events += [
        {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "input_json_delta", "partial_json": c},
        }
        for c in chunks
    ]
    events.append({"type": "content_block_stop", "index": index})
    return events


def tools_stream(calls: int = 4, pieces: int = 60) -> list[dict[str, Any]]:
    """message_start, ``calls`` tool_use blocks of about ``pieces`` input_json_delta each."""
    events = [_start()]
    for index in range(calls):
        events += _tool_block(index, pieces)
    return events + _end("tool_use", calls * pieces)


def long_tool_stream(events: int) -> list[dict[str, Any]]:
    """One tool call whose input streams in about ``events`` fragments."""
    return [_start(), *_tool_block(0, events), *_end("tool_use", events)]


def sdk_events(events: list[dict[str, Any]]) -> list[Any]:
    """The anthropic SDK's event objects for these events, built as the SDK builds them."""
    from anthropic._models import construct_type
    from anthropic.types import RawMessageStreamEvent

    return [construct_type(type_=RawMessageStreamEvent, value=e) for e in events]


def fold_streamfold(events: Sequence[Any]) -> Any:
    acc = MessageAccumulator()
    add = acc.add
    for event in events:
        add(event)
    return acc.completion()


def fold_sdk(events: Sequence[Any]) -> Any:
    from anthropic.lib.streaming._messages import accumulate_event

    snapshot = None
    bufs: dict[int, bytes] = {}
    for event in events:
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=bufs)
    return snapshot


def per_event(fn: Callable[[Sequence[Any]], Any], events: Sequence[Any], rounds: int) -> float:
    """Best-of-``rounds`` µs per event."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn(events)
        best = min(best, time.perf_counter() - t0)
    return best / len(events) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cap", type=float, default=20.0, help="seconds per SDK scaling run")
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else args.rounds
    scale = 50 if args.quick else 1
    try:
        import anthropic
    except ImportError:
        print("skipped anthropic: not installed (pip install 'streamfold[bench]')")
        return 0
    print(f"anthropic {anthropic.__version__}; µs per event, best of {rounds}")
    print(
        f"{'scenario':<12} {'events':>7} {'streamfold dicts':>17} {'streamfold sdk':>15}"
        f" {'sdk accumulate_event':>21} {'ratio':>7}"
    )
    for name, events in (
        ("text", text_stream(1000 // scale)),
        ("tools", tools_stream(4, max(2, 60 // scale))),
    ):
        objs = sdk_events(events)
        ours_dicts = per_event(fold_streamfold, events, rounds)
        ours = per_event(fold_streamfold, objs, rounds)
        theirs = per_event(fold_sdk, objs, rounds)
        print(
            f"{name:<12} {len(events):>7} {ours_dicts:>17.3f} {ours:>15.3f}"
            f" {theirs:>21.3f} {theirs / ours:>6.1f}x"
        )
    print("scaling: one tool input streamed in N fragments (SDK objects), µs per event")
    print(f"{'events':>8} {'streamfold':>11} {'sdk accumulate_event':>21}")
    sizes = [20, 200] if args.quick else [1_000, 10_000, 100_000]
    sdk_time: float | None = 0.0
    previous = 0
    for size in sizes:
        objs = sdk_events(long_tool_stream(size))
        ours = per_event(fold_streamfold, objs, min(rounds, 3))
        cell = "(not run)"
        if sdk_time is not None:
            predicted = sdk_time * (size / previous) ** 2 if previous else 0.0
            if predicted > args.cap:
                cell = f"(skipped: ~{predicted:.0f} s predicted)"
                sdk_time = None
            else:
                t0 = time.perf_counter()
                fold_sdk(objs)
                sdk_time = time.perf_counter() - t0
                cell = f"{sdk_time / len(objs) * 1e6:.3f}"
                previous = size
                if sdk_time > args.cap:
                    sdk_time = None  # past the cap: larger sizes are not run
        print(f"{len(objs):>8} {ours:>11.3f} {cell:>21}")
    return 0


# -- pytest (runs once under --benchmark-disable) -------------------------------------------------


def test_bench_anthropic_script_quick(capsys: pytest.CaptureFixture[str]) -> None:
    """The script runs end to end at tiny sizes and prints every row."""
    assert main(["--quick", "--cap", "5"]) == 0
    out = capsys.readouterr().out
    assert "text " in out
    assert "tools " in out
    assert "scaling" in out


@pytest.mark.parametrize("name", ["text", "tools"])
def test_bench_anthropic_fold(benchmark: Bench, name: str) -> None:
    """MessageAccumulator over the SDK's event objects (timed with --benchmark-enable)."""
    events = sdk_events(text_stream() if name == "text" else tools_stream())
    message = benchmark(fold_streamfold, events)
    assert message.stop_reason == ("end_turn" if name == "text" else "tool_use")
    assert message == fold_streamfold(events[: len(events)])


def test_bench_both_fold_the_same_text() -> None:
    """Both folds give the same text and tool inputs (what is compared is the same work)."""
    for events in (text_stream(50), tools_stream(4, 5)):
        objs = sdk_events(events)
        ours = fold_streamfold(objs)
        theirs = fold_sdk(objs)
        assert [b.get("text") or b.get("input") for b in ours.content] == [
            getattr(b, "text", None) or b.input for b in theirs.content
        ]


if __name__ == "__main__":
    raise SystemExit(main())
