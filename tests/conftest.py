"""Shared fixtures: every fold test runs through every adapter and both async backends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import anyio
import pytest

import streamfold

Fold = Callable[..., streamfold.Completion]

ADAPTERS = [
    "accumulate",
    "wrap",
    "asyncio-aaccumulate",
    "asyncio-awrap",
    "trio-aaccumulate",
    "trio-awrap",
]


async def _agen(chunks: Iterable[Any]) -> AsyncIterator[Any]:
    for chunk in chunks:
        await anyio.lowlevel.checkpoint()
        yield chunk


def _via_wrap(chunks: Iterable[Any], **options: Any) -> Any:
    strict = options.pop("strict", False)
    wrapped = streamfold.wrap(chunks, **options)
    seen = list(wrapped)
    assert seen == list(chunks) if isinstance(chunks, list) else True
    return wrapped.accumulator.completion(strict=strict)


async def _via_awrap(chunks: Iterable[Any], **options: Any) -> Any:
    strict = options.pop("strict", False)
    wrapped = streamfold.awrap(_agen(chunks), **options)
    seen = [chunk async for chunk in wrapped]
    if isinstance(chunks, list):
        assert seen == chunks
    return wrapped.accumulator.completion(strict=strict)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run every ``@pytest.mark.anyio`` test on asyncio and on trio."""
    return str(request.param)


def _adapter(name: str, sync: Callable[..., Any], asynchronous: Callable[..., Any]) -> Fold:
    """``fold(chunks, **options)`` through the adapter ``name``; ``sync`` / ``asynchronous``
    are the accumulate functions, the wrappers go through their accumulator."""
    if name == "accumulate":
        return sync
    if name == "wrap":
        return _via_wrap
    backend, adapter = name.split("-")

    def run(chunks: Iterable[Any], **options: Any) -> Any:
        chunks = list(chunks)
        if adapter == "aaccumulate":

            async def main() -> Any:
                return await asynchronous(_agen(chunks), **options)

        else:

            async def main() -> Any:
                return await _via_awrap(chunks, **options)

        return anyio.run(main, backend=backend)

    return run


@pytest.fixture(params=ADAPTERS)
def fold(request: pytest.FixtureRequest) -> Fold:
    """A function ``fold(chunks, **options)`` backed by one adapter on one backend."""
    return _adapter(request.param, streamfold.accumulate, streamfold.aaccumulate)


@pytest.fixture(params=ADAPTERS)
def fold_text(request: pytest.FixtureRequest) -> Fold:
    """``fold`` for streams of the legacy completions API (``accumulate_text`` and
    ``aaccumulate_text`` in place of the chat ones)."""
    return _adapter(request.param, streamfold.accumulate_text, streamfold.aaccumulate_text)


EVENT_ADAPTERS = [
    "accumulator",
    "wrap-events",
    "wrap-callback",
    "asyncio-events",
    "asyncio-callback",
    "trio-events",
    "trio-callback",
]
CollectEvents = Callable[..., list[streamfold.Event]]


@pytest.fixture(params=EVENT_ADAPTERS)
def events_of(request: pytest.FixtureRequest) -> CollectEvents:
    """A function ``events_of(chunks, **options)`` returning the typed events, through one of
    the Accumulator, wrap().events(), wrap(on_event=), and the async twins on both backends."""
    name: str = request.param

    def collect(chunks: Iterable[Any], **options: Any) -> list[streamfold.Event]:
        chunks = list(chunks)
        out: list[streamfold.Event] = []
        if name == "accumulator":
            acc = streamfold.Accumulator(**options)
            for chunk in chunks:
                out.extend(acc.add_events(chunk))
            out.extend(acc.end_events())
            return out
        if name == "wrap-events":
            out.extend(streamfold.wrap(chunks, **options).events())
            return out
        if name == "wrap-callback":
            passed = list(streamfold.wrap(chunks, on_event=out.append, **options))
            assert passed == chunks
            return out
        backend, mode = name.split("-")

        async def main() -> None:
            if mode == "events":
                out.extend([e async for e in streamfold.awrap(_agen(chunks), **options).events()])
            else:
                wrapped = streamfold.awrap(_agen(chunks), on_event=out.append, **options)
                passed = [chunk async for chunk in wrapped]
                assert passed == chunks

        anyio.run(main, backend=backend)
        return out

    return collect
