"""Iterator adapters: loops around the core, nothing else.

``accumulate`` / ``aaccumulate`` fold a whole iterable; ``wrap`` / ``awrap`` pass the chunks through
unchanged while folding them, or yield typed events instead (``.events()``). No merge rule lives
here: every chunk goes to ``Accumulator.add`` (or ``add_events``), and the sync and async twins
share everything but the loop itself.

The chat adapters return :class:`ChatCompletion`, so a type checker knows the result's shape;
streams of the legacy completions API fold with ``accumulate_text`` / ``aaccumulate_text`` into a
:class:`TextCompletion`. The accumulator tells the two apart by the chunks' shape; an adapter
given the other API's stream raises :class:`UsageError` naming the right one, with the folded
result in ``completion`` (checked once, at the end: nothing is added to the per-chunk path).
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
)
from types import TracebackType
from typing import Any, Generic, TypeVar

import anyio

from . import _model as m
from ._errors import IncompleteStreamError, StreamError, UsageError
from ._events import ErrorEvent, Event
from ._fold import Accumulator, FieldRule

__all__ = [
    "AsyncFolded",
    "Completion",
    "Folded",
    "aaccumulate",
    "aaccumulate_text",
    "accumulate",
    "accumulate_text",
    "awrap",
    "wrap",
]

T = TypeVar("T")
G = TypeVar("G", bound=Generator[Any, None, None])
AG = TypeVar("AG", bound=AsyncIterator[Any])
Completion = m.ChatCompletion | m.TextCompletion
EventCallback = Callable[[Event], object]


def accumulate(
    chunks: Iterable[Any],
    *,
    strict: bool = False,
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
    keep_obfuscation: bool = False,
) -> m.ChatCompletion:
    """Fold every chunk of ``chunks`` and return the complete ``chat.completion``.

    Raises :class:`InvalidChunkError` for a malformed chunk, :class:`StreamError` when the
    server reported an error mid-stream, and, with ``strict=True``,
    :class:`IncompleteStreamError` when the stream ended before every choice finished. Each
    error's ``completion`` holds what was folded before it. A stream of the legacy completions
    API raises :class:`UsageError` (its ``completion`` is the folded :class:`TextCompletion`):
    fold it with :func:`accumulate_text`. ``field_rules``, ``normalize_finish_reason`` and
    ``keep_obfuscation`` are :class:`Accumulator`'s.
    """
    _check_source(chunks, "accumulate")
    acc = Accumulator(
        field_rules=field_rules,
        normalize_finish_reason=normalize_finish_reason,
        keep_obfuscation=keep_obfuscation,
    )
    for chunk in chunks:
        acc.add(chunk)
    return _chat(acc, strict, _USE_ACCUMULATE_TEXT)


async def aaccumulate(
    chunks: AsyncIterable[Any],
    *,
    strict: bool = False,
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
    keep_obfuscation: bool = False,
) -> m.ChatCompletion:
    """Async twin of :func:`accumulate` for an async iterable of chunks."""
    _check_source(chunks, "aaccumulate")
    acc = Accumulator(
        field_rules=field_rules,
        normalize_finish_reason=normalize_finish_reason,
        keep_obfuscation=keep_obfuscation,
    )
    async for chunk in chunks:
        acc.add(chunk)
    return _chat(acc, strict, _USE_ACCUMULATE_TEXT)


def accumulate_text(
    chunks: Iterable[Any],
    *,
    strict: bool = False,
    field_rules: Mapping[str, FieldRule] | None = None,
) -> m.TextCompletion:
    """Fold a stream of the legacy completions API (``object: "text_completion"``,
    ``choices[].text``) into the complete :class:`TextCompletion`.

    Raises what :func:`accumulate` raises; a chat stream raises :class:`UsageError` (its
    ``completion`` is the folded :class:`ChatCompletion`): fold it with :func:`accumulate`.
    """
    _check_source(chunks, "accumulate_text")
    acc = Accumulator(field_rules=field_rules)
    for chunk in chunks:
        acc.add(chunk)
    return _text(acc, strict)


async def aaccumulate_text(
    chunks: AsyncIterable[Any],
    *,
    strict: bool = False,
    field_rules: Mapping[str, FieldRule] | None = None,
) -> m.TextCompletion:
    """Async twin of :func:`accumulate_text` for an async iterable of chunks."""
    _check_source(chunks, "aaccumulate_text")
    acc = Accumulator(field_rules=field_rules)
    async for chunk in chunks:
        acc.add(chunk)
    return _text(acc, strict)


def _check_source(chunks: object, name: str) -> None:
    """Refuse, with a hint, the one-chunk and one-body mistakes: iterating them folds nonsense."""
    if isinstance(chunks, Mapping) or hasattr(type(chunks), "__pydantic_fields__"):
        raise UsageError(
            f"{name}() was given one chunk, not an iterable of chunks: pass an iterable of"
            " chunks, for example [chunk]"
        )
    if isinstance(chunks, (str, bytes, bytearray, memoryview)):
        raise UsageError(
            f"{name}() was given one {type(chunks).__name__}, not an iterable of chunks: for an"
            " SSE body use streamfold.from_sse, for one JSON chunk pass [chunk]"
        )


_USE_ACCUMULATE_TEXT = "fold it with streamfold.accumulate_text (or aaccumulate_text)"
_USE_ACCUMULATOR = "read wrapper.accumulator.completion(), or fold it with accumulate_text"


def _chat(acc: Accumulator, strict: bool, hint: str) -> m.ChatCompletion:
    """The accumulator's completion, which must be a chat one (checked before ``strict``)."""
    completion = acc.completion()
    if type(completion) is not m.ChatCompletion:
        raise UsageError(
            f"a stream of the legacy completions API (object 'text_completion'): {hint}",
            completion=completion,
        )
    if strict:
        acc.completion(strict=True)
    return completion


def _text(acc: Accumulator, strict: bool) -> m.TextCompletion:
    completion = acc.completion()
    if isinstance(completion, m.ChatCompletion):
        if completion.choices:
            raise UsageError(
                "a chat.completion.chunk stream: fold it with streamfold.accumulate "
                "(or aaccumulate)",
                completion=completion,
            )
        # no choice arrived, so nothing told the two APIs apart: the same envelope, as text
        extra = dict(completion.extra)
        if completion.service_tier is not None:
            extra["service_tier"] = completion.service_tier
        completion = m.TextCompletion(
            id=completion.id,
            created=completion.created,
            model=completion.model,
            usage=completion.usage,
            system_fingerprint=completion.system_fingerprint,
            extra=extra,
        )
    if strict:
        try:
            acc.completion(strict=True)
        except IncompleteStreamError as exc:
            exc.completion = completion
            raise
    return completion


class _Base:
    """State and per-chunk steps shared by the sync and async pass-through wrappers."""

    def __init__(
        self,
        source: Any,
        accumulator: Accumulator,
        on_event: EventCallback | None,
        strict: bool = False,
    ) -> None:
        self.accumulator = accumulator
        self._source = source
        self._on_event = on_event
        self._strict = strict
        self._started = False
        self._ended = False

    @property
    def completion(self) -> m.ChatCompletion:
        """The folded response, once the iteration has ended (exhausted, left, or failed).

        Raises :class:`UsageError` while the iteration is still going or before it started, or
        for a stream of the legacy completions API (read ``accumulator.completion()``); with
        ``strict=True``, :class:`IncompleteStreamError` when a choice did not finish.
        """
        if not self._ended:
            raise UsageError(
                "the completion is known once the iteration has ended; use snapshot() before that",
                completion=self.accumulator.snapshot(),
            )
        return _chat(self.accumulator, self._strict, _USE_ACCUMULATOR)

    @property
    def is_complete(self) -> bool:
        """True when every choice has finished."""
        return self.accumulator.is_complete

    def snapshot(self) -> m.ChatCompletion:
        """The response folded so far (:class:`UsageError` for a legacy completions stream)."""
        snapshot = self.accumulator.snapshot()
        if type(snapshot) is not m.ChatCompletion:
            raise UsageError(
                f"a stream of the legacy completions API: {_USE_ACCUMULATOR}", completion=snapshot
            )
        return snapshot

    def __repr__(self) -> str:
        acc = self.accumulator
        state = "ended" if self._ended else "iterating" if self._started else "not started"
        return (
            f"<{type(self).__name__} {state}: chunks={acc.chunks},"
            f" choices={len(acc.choice_states())}, complete={acc.is_complete}>"
        )

    def _start(self) -> None:
        if self._started:
            raise UsageError("this stream is already being iterated; wrap it again to re-read")
        self._started = True

    def _step(self, chunk: Any) -> None:
        """Fold one chunk on the way through (telling ``on_event`` what changed)."""
        if self._on_event is None:
            self.accumulator.add(chunk)
            return
        events = self.accumulator.add_events(chunk)
        for event in events:
            self._on_event(event)
        _raise_error(events)

    def _finish(self, exhausted: bool) -> None:
        self._ended = True
        if self._on_event is not None and exhausted:
            for event in self.accumulator.end_events():
                self._on_event(event)

    def _check_end(self) -> None:
        """The source is exhausted: with ``strict=True``, a choice left unfinished is an error."""
        if self._strict and not self.accumulator.is_complete:
            self.accumulator.completion(strict=True)  # raises IncompleteStreamError


def _raise_error(events: list[Event]) -> None:
    if events and isinstance(events[-1], ErrorEvent):
        error = events[-1].exception
        assert isinstance(error, StreamError)
        raise error


class Folded(_Base, Generic[T]):
    """A pass-through iterator: yields the source's chunks unchanged while folding them.

    Leaving the loop early ends the iteration and closes the source (at once on CPython; use
    the wrapper as a context manager to make that explicit everywhere). ``events()`` iterates
    typed events instead of chunks.
    """

    def __init__(
        self,
        source: Iterable[T],
        accumulator: Accumulator,
        on_event: EventCallback | None = None,
        *,
        strict: bool = False,
    ) -> None:
        super().__init__(source, accumulator, on_event, strict)
        self._gen: weakref.ref[Generator[Any, None, None]] | None = None

    def __iter__(self) -> Iterator[T]:
        return self._begin(self._chunks())

    def events(self) -> Iterator[Event]:
        """Iterate the typed events the chunks cause, instead of the chunks themselves.

        The done events of parts still open are yielded when the source is exhausted; a server
        error is yielded as an :class:`ErrorEvent`, then raised as :class:`StreamError`.
        """
        return self._begin(self._events())

    def _begin(self, gen: G) -> G:
        self._start()
        # a weak reference: a consumer that breaks out drops the generator, which closes it
        self._gen = weakref.ref(gen)
        return gen

    def _chunks(self) -> Generator[T, None, None]:
        it = iter(self._source)
        exhausted = False
        try:
            for chunk in it:
                self._step(chunk)
                yield chunk
            exhausted = True
        finally:
            self._finish(exhausted)
            if not exhausted:
                _close(it, self._source)
        self._check_end()

    def _events(self) -> Generator[Event, None, None]:
        it = iter(self._source)
        add_events = self.accumulator.add_events
        exhausted = False
        try:
            for chunk in it:
                events = add_events(chunk)
                yield from events
                _raise_error(events)
            exhausted = True
            yield from self.accumulator.end_events()
        finally:
            self._ended = True
            if not exhausted:
                _close(it, self._source)
        self._check_end()

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

    def __init__(
        self,
        source: AsyncIterable[T],
        accumulator: Accumulator,
        on_event: EventCallback | None = None,
        *,
        strict: bool = False,
    ) -> None:
        super().__init__(source, accumulator, on_event, strict)
        self._agen: Any = None

    def __aiter__(self) -> AsyncIterator[T]:
        return self._begin(self._chunks())

    def events(self) -> AsyncIterator[Event]:
        """Async twin of :meth:`Folded.events`."""
        return self._begin(self._events())

    def _begin(self, agen: AG) -> AG:
        self._start()
        self._agen = agen
        return agen

    async def _chunks(self) -> AsyncIterator[T]:
        it = aiter(self._source)
        exhausted = False
        try:
            async for chunk in it:
                self._step(chunk)
                yield chunk
            exhausted = True
        finally:
            self._finish(exhausted)
            if not exhausted:
                await _aclose(it, self._source)
        self._check_end()

    async def _events(self) -> AsyncIterator[Event]:
        it = aiter(self._source)
        add_events = self.accumulator.add_events
        exhausted = False
        try:
            async for chunk in it:
                events = add_events(chunk)
                for event in events:
                    yield event
                _raise_error(events)
            exhausted = True
            for event in self.accumulator.end_events():
                yield event
        finally:
            self._ended = True
            if not exhausted:
                await _aclose(it, self._source)
        self._check_end()

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
    strict: bool = False,
    on_event: EventCallback | None = None,
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
    eager_tool_calls: bool = False,
    keep_obfuscation: bool = False,
) -> Folded[T]:
    """Pass ``chunks`` through unchanged while folding them; see :class:`Folded`.

    ``on_event`` is called with every typed event as the chunks pass. Raises, while iterating,
    what :meth:`Accumulator.add` raises; a :class:`StreamError` is raised in place of the chunk
    that carried the error. With ``strict=True``, as for :func:`accumulate`, a stream that ends
    before every choice finished raises :class:`IncompleteStreamError`: from the loop once the
    source is exhausted, and from ``completion``.
    """
    _check_source(chunks, "wrap")
    acc = Accumulator(
        field_rules=field_rules,
        normalize_finish_reason=normalize_finish_reason,
        eager_tool_calls=eager_tool_calls,
        keep_obfuscation=keep_obfuscation,
    )
    return Folded(chunks, acc, on_event, strict=strict)


def awrap(
    chunks: AsyncIterable[T],
    *,
    strict: bool = False,
    on_event: EventCallback | None = None,
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
    eager_tool_calls: bool = False,
    keep_obfuscation: bool = False,
) -> AsyncFolded[T]:
    """Async twin of :func:`wrap`; see :class:`AsyncFolded`."""
    _check_source(chunks, "awrap")
    acc = Accumulator(
        field_rules=field_rules,
        normalize_finish_reason=normalize_finish_reason,
        eager_tool_calls=eager_tool_calls,
        keep_obfuscation=keep_obfuscation,
    )
    return AsyncFolded(chunks, acc, on_event, strict=strict)


def _close(*objects: Any) -> None:
    """Close the iterator and the source it came from (an SDK stream and its HTTP response)."""
    for obj in _distinct(objects):
        close = getattr(obj, "close", None)
        if callable(close):
            close()


def _distinct(objects: tuple[Any, ...]) -> list[Any]:
    out: list[Any] = []
    for obj in objects:
        if all(obj is not seen for seen in out):
            out.append(obj)
    return out


async def _aclose(*objects: Any) -> None:
    """Async twin of ``_close``: ``aclose()`` or an awaitable ``close()``."""
    # shielded: closing must finish even when the iteration ends because it was cancelled
    with anyio.CancelScope(shield=True):
        for obj in _distinct(objects):
            close = getattr(obj, "aclose", None) or getattr(obj, "close", None)
            if callable(close):
                result = close()
                if inspect.isawaitable(result):
                    await result
