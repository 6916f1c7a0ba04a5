"""Every field of every event of the fixture streams, replaced in place by odd values: the fold
refuses the event with a streamfold error or folds it, and the result converts; no bare Python
error escapes (the standard for bad input). Folding in place, after the events before it, is
what found a negative ``annotation_index`` raising IndexError and a ``response.output`` item that
is no object breaking ``to_dict``."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from benchmarks import streams as bench

import anthropic_streams as anth
import responses_streams as resp
import streamfold

ODD: list[Any] = [None, 3, -1, "s", "", [], {}, [1], {"a": 1}, 2.5, True, 10**30]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in an event: each key, and the first two items of each list."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:2]):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


def _with(event: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(event)
    place: Any = out
    for step in path[:-1]:
        place = place[step]
    place[path[-1]] = value
    return out


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
