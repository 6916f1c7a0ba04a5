"""Iterator adapters: loops around the core, nothing else.

``accumulate`` / ``aaccumulate`` fold a whole iterable; ``wrap`` / ``awrap`` pass the chunks through
unchanged while folding them. No merge rule lives here: every chunk goes to ``Accumulator.add``.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import AsyncIterable, AsyncIterator, Generator, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, Generic, TypeVar

import anyio

from . import _model as m
from ._errors import UsageError
from ._fold import Accumulator, FieldRule

__all__ = ["AsyncFolded", "Completion", "Folded", "aaccumulate", "accumulate", "awrap", "wrap"]

T = TypeVar("T")
Completion = m.ChatCompletion | m.TextCompletion


def accumulate(
    chunks: Iterable[Any],
    *,
    strict: bool = False,
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
) -> Completion:
    """Fold every chunk of ``chunks`` and return the complete response.

    Raises :class:`InvalidChunkError` for a malformed chunk, :class:`StreamError` when the
    server reported an error mid-stream, and, with ``strict=True``,
    :class:`IncompleteStreamError` when the stream ended before every choice finished. Each
    error's ``completion`` holds what was folded before it.
    """
    acc = Accumulator(field_rules=field_rules, normalize_finish_reason=normalize_finish_reason)
    for chunk in chunks:
        acc.add(chunk)
    return acc.completion(strict=strict)


async def aaccumulate(
    chunks: AsyncIterable[Any],
    *,
    strict: bool = False,
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
) -> Completion:
    """Async twin of :func:`accumulate` for an async iterable of chunks."""
    acc = Accumulator(field_rules=field_rules, normalize_finish_reason=normalize_finish_reason)
    async for chunk in chunks:
        acc.add(chunk)
    return acc.completion(strict=strict)


class _Base:
    """State shared by the sync and async pass-through wrappers."""

    def __init__(self, source: Any, accumulator: Accumulator) -> None:
        self.accumulator = accumulator
        self._source = source
        self._started = False
        self._ended = False

    @property
    def completion(self) -> Completion:
        """The folded response, once the iteration has ended (exhausted, left, or failed).

        Raises :class:`UsageError` while the iteration is still going or before it started.
        """
        if not self._ended:
            raise UsageError(
                "the completion is known once the iteration has ended; use snapshot() before that",
                completion=self.accumulator.snapshot(),
            )
        return self.accumulator.completion()

    @property
    def is_complete(self) -> bool:
        """True when every choice has finished."""
        return self.accumulator.is_complete

    def snapshot(self) -> Completion:
        """The response folded so far."""
        return self.accumulator.snapshot()

    def _start(self) -> None:
        if self._started:
            raise UsageError("this stream is already being iterated; wrap it again to re-read")
        self._started = True


class Folded(_Base, Generic[T]):
    """A pass-through iterator: yields the source's chunks unchanged while folding them.

    Leaving the loop early ends the iteration and closes the source (at once on CPython; use
    the wrapper as a context manager to make that explicit everywhere).
    """

    def __init__(self, source: Iterable[T], accumulator: Accumulator) -> None:
        super().__init__(source, accumulator)
        self._gen: weakref.ref[Generator[T, None, None]] | None = None

    def __iter__(self) -> Iterator[T]:
        self._start()
        gen = self._run()
        # a weak reference: a consumer that breaks out drops the generator, which closes it
        self._gen = weakref.ref(gen)
        return gen

    def _run(self) -> Generator[T, None, None]:
        it = iter(self._source)
        add = self.accumulator.add
        finished = False
        try:
            for chunk in it:
                add(chunk)
                yield chunk
            finished = True
        finally:
            self._ended = True
            if not finished:
                _close(it)

    def close(self) -> None:
        """End the iteration and close the source."""
        gen = self._gen() if self._gen is not None else None
        if gen is not None:
            gen.close()
        if not self._ended:
            self._ended = True
            _close(self._source)

    def __enter__(self) -> Folded[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncFolded(_Base, Generic[T]):
    """Async twin of :class:`Folded`; cancel-safe on asyncio and trio.

    After ``break`` in ``async for``, the iteration ends when the wrapper is closed: use
    ``async with awrap(...)`` (or ``await wrapper.aclose()``) and read ``completion`` after it.
    """

    def __init__(self, source: AsyncIterable[T], accumulator: Accumulator) -> None:
        super().__init__(source, accumulator)
        self._agen: Any = None

    def __aiter__(self) -> AsyncIterator[T]:
        self._start()
        self._agen = self._run()
        return self._agen  # type: ignore[no-any-return]

    async def _run(self) -> AsyncIterator[T]:
        it = aiter(self._source)
        add = self.accumulator.add
        finished = False
        try:
            async for chunk in it:
                add(chunk)
                yield chunk
            finished = True
        finally:
            self._ended = True
            if not finished:
                await _aclose(it)

    async def aclose(self) -> None:
        """End the iteration and close the source."""
        if self._agen is not None:
            with anyio.CancelScope(shield=True):
                await self._agen.aclose()
        if not self._ended:
            self._ended = True
            await _aclose(self._source)

    async def __aenter__(self) -> AsyncFolded[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def wrap(
    chunks: Iterable[T],
    *,
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
) -> Folded[T]:
    """Pass ``chunks`` through unchanged while folding them; see :class:`Folded`.

    Raises, while iterating, what :meth:`Accumulator.add` raises; a :class:`StreamError` is
    raised in place of the chunk that carried the error.
    """
    return Folded(
        chunks,
        Accumulator(field_rules=field_rules, normalize_finish_reason=normalize_finish_reason),
    )


def awrap(
    chunks: AsyncIterable[T],
    *,
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
) -> AsyncFolded[T]:
    """Async twin of :func:`wrap`; see :class:`AsyncFolded`."""
    return AsyncFolded(
        chunks,
        Accumulator(field_rules=field_rules, normalize_finish_reason=normalize_finish_reason),
    )


def _close(source: Any) -> None:
    close = getattr(source, "close", None)
    if callable(close):
        close()


async def _aclose(source: Any) -> None:
    # shielded: closing must finish even when the iteration ends because it was cancelled
    with anyio.CancelScope(shield=True):
        close = getattr(source, "aclose", None) or getattr(source, "close", None)
        if callable(close):
            result = close()
            if inspect.isawaitable(result):
                await result
