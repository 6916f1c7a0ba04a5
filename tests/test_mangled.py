"""Every field of every event of the fixture streams, replaced in place by odd values: the fold
refuses the event with a streamfold error or folds it, and the result converts; no bare Python
error escapes (the standard for bad input). Folding in place, after the events before it, is
what found a negative ``annotation_index`` raising IndexError and a ``response.output`` item that
is no object breaking ``to_dict``."""

from __future__ import annotations

from typing import Any

import pytest
from benchmarks import streams as bench

import anthropic_streams as anth
import responses_streams as resp
import streamfold
from test_errors import _paths, _with  # every place in an event (each list item), one set

ODD: list[Any] = [None, 3, -1, "s", "", [], {}, [1], {"a": 1}, 2.5, True, 10**30]


def _streams() -> dict[str, list[dict[str, Any]]]:
    found = {f"responses {name}": list(s.events) for name, s in resp.STREAMS.items()}
    for name, value in vars(anth).items():
        if name.isupper() and isinstance(value, list) and value and isinstance(value[0], dict):
            found[f"anthropic {name}"] = value
    for name, make in bench.SCENARIOS.items():
        chunks = list(make(1))
        found[f"chat {name}"] = chunks[:6] + chunks[-2:]
    return found


STREAMS = _streams()


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_every_field_mangled_in_place_is_folded_or_refused(name: str) -> None:
    stream = STREAMS[name]
    folded = refused = 0
    for k, event in enumerate(stream):
        for path in _paths(event):
            for value in ODD:
                events = [*stream[:k], _with(event, path, value), *stream[k + 1 :]]
                try:
                    streamfold.to_dict(streamfold.accumulate(events))
                    folded += 1
                except streamfold.StreamfoldError:
                    refused += 1
    assert folded > 0  # (odd values the schema allows, such as an unknown key's)
    assert refused > 0  # (and ones it does not)


@pytest.mark.parametrize("name", sorted(n for n in STREAMS if not n.startswith("anthropic")))
def test_what_the_fold_accepts_replays_to_the_same_result(name: str) -> None:
    """Each mangled stream the fold accepts gives a result that ``to_events`` replays into the
    same result: what a full value (the terminal event's ``response.output``, a part's
    ``annotations``) brings is checked as strictly as the events that build it. (Anthropic's
    fold keeps a block of no type for a stop of a block never started, which no event can
    say; its streams are left out here.)"""
    stream = STREAMS[name]
    replayed = 0
    for k, event in enumerate(stream):
        for path in _paths(event):
            for value in ODD:
                events = [*stream[:k], _with(event, path, value), *stream[k + 1 :]]
                try:
                    first = streamfold.accumulate(events)
                except streamfold.StreamfoldError:
                    continue
                again = streamfold.accumulate(list(streamfold.to_events(first)))
                assert streamfold.to_dict(again) == streamfold.to_dict(first), (k, path, value)
                replayed += 1
    assert replayed > 0
