"""Iterator adapters: loops around the core, nothing else.

``accumulate`` / ``aaccumulate`` fold a whole iterable; ``wrap`` / ``awrap`` pass the chunks through
unchanged while folding them, or yield typed events instead (``.events()``). No merge rule lives
here: every event goes to its core's ``add`` (or ``add_events``), and the sync and async twins
share everything but the loop itself.

The core is chosen by the first event (``_dialect``): chat completion chunks fold into a
:class:`ChatCompletion`, OpenAI Responses API events into a :class:`Response`, Anthropic Messages
events into an :class:`AnthropicMessage`. ``_Front`` makes the core on that first event and then
hands over the core's own bound ``add``: afterwards an event costs one attribute lookup more than
calling the core directly, nothing else. The overloads tell a type checker the result from the
element type of a typed SDK stream (a Responses event has ``type`` and ``sequence_number``, an
Anthropic event ``type``); anything else types as a chat completion.

Streams of the legacy completions API fold with ``accumulate_text`` / ``aaccumulate_text`` into a
:class:`TextCompletion`. The chat core tells the two apart by the chunks' shape; an adapter given
the other API's stream raises :class:`UsageError` naming the right one, with the folded result in
``completion`` (checked once, at the end: nothing is added to the per-chunk path).
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
from typing import Any, Generic, Protocol, TypeVar, cast, overload

import anyio
from typing_extensions import TypeVar as DefaultTypeVar

from . import _model as m
from ._dialect import CHAT, Core, dialect_of, dialect_of_core, new_core
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
R = DefaultTypeVar("R", default=m.ChatCompletion)  # what a wrapper folds its stream into
Completion = m.ChatCompletion | m.TextCompletion
EventCallback = Callable[[Event], object]


class ResponsesEvent(Protocol):
    """An OpenAI Responses API stream event as the openai SDK types it (every event class of
    ``ResponseStreamEvent`` has both)."""

    @property
    def type(self) -> str: ...

    @property
    def sequence_number(self) -> int: ...


class AnthropicEvent(Protocol):
    """An Anthropic Messages stream event as the anthropic SDK types it (``RawMessageStreamEvent``
    and the helper stream's ``MessageStreamEvent``)."""

    @property
    def type(self) -> str: ...


class _Untyped(Protocol):
    """Nothing has this attribute, so only ``Any`` matches it: the wrappers' first overload
    below exists for ``Any`` elements (see there)."""

    @property
    def __streamfold_untyped__(self) -> None: ...


RE = TypeVar("RE", bound=ResponsesEvent)
AE = TypeVar("AE", bound=AnthropicEvent)


class _Front:
    """The core of one stream, chosen by the first event that names its dialect.

    It starts with a chat core (which checks the chat options at once, and is what an empty
    stream folds into); the first event that says which API it speaks replaces it when that is
    another API's, and ``add`` / ``add_events``, this object's own methods until then, become
    the core's bound methods: every later event goes straight to the core. A ``data: [DONE]``
    line says nothing: the next event decides.
    """

    __slots__ = ("add", "add_events", "core", "decided", "options")

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.decided = False  # the core is the stream's own: add is the core's
        self.core: Core = new_core(CHAT, **options)
        self.add: Callable[[Any], None] = self._first_add
        self.add_events: Callable[[Any], list[Event]] = self._first_add_events

    def _begin(self, event: Any) -> Core:
        dialect = dialect_of(event)
        core = self.core
        if dialect is None:  # [DONE]: not an event of any stream, and the chat core skips it
            return core
        if dialect != CHAT and core.chunks == 0:
            core = self.core = new_core(dialect, **self.options)
        self.add = core.add
        self.add_events = core.add_events
        self.decided = True
        return core

    def _first_add(self, event: Any) -> None:
        self._begin(event).add(event)

    def _first_add_events(self, event: Any) -> list[Event]:
        return self._begin(event).add_events(event)


def _options(
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
    eager_tool_calls: bool = False,
    keep_obfuscation: bool = False,
) -> dict[str, Any]:
    return {
        "field_rules": field_rules,
        "normalize_finish_reason": normalize_finish_reason,
        "eager_tool_calls": eager_tool_calls,
        "keep_obfuscation": keep_obfuscation,
    }


# The overloads overlap on purpose (a type checker flags it): a Responses event also has the
# Anthropic events' `type`, and every stream matches Iterable[Any]; the first match wins.
@overload
def accumulate(  # type: ignore[overload-overlap]
    chunks: Iterable[ResponsesEvent], *, strict: bool = False
) -> m.Response: ...


@overload
def accumulate(chunks: Iterable[AnthropicEvent], *, strict: bool = False) -> m.AnthropicMessage: ...


@overload
def accumulate(
    chunks: Iterable[Any],
    *,
    strict: bool = False,
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
    keep_obfuscation: bool = False,
) -> m.ChatCompletion: ...


def accumulate(
    chunks: Iterable[Any],
    *,
    strict: bool = False,
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
    keep_obfuscation: bool = False,
) -> m.ChatCompletion | m.Response | m.AnthropicMessage:
    """Fold every event of ``chunks`` and return the complete object: a ``chat.completion``
    for chat completion chunks, a Responses API ``response`` for its events, an Anthropic
    ``message`` for Messages events (the first event tells which).

    Raises :class:`InvalidChunkError` for a malformed chunk, :class:`StreamError` when the
    server reported an error mid-stream, and, with ``strict=True``,
    :class:`IncompleteStreamError` when the stream ended before it finished (a choice without a
    finish reason, no terminal event). Each error's ``completion`` holds what was folded before
    it. A stream of the legacy completions API raises :class:`UsageError` (its ``completion``
    is the folded :class:`TextCompletion`): fold it with :func:`accumulate_text`.
    ``field_rules``, ``normalize_finish_reason`` and ``keep_obfuscation`` are
    :class:`Accumulator`'s (chat only: :class:`UsageError` for another API's stream).
    """
    _check_source(chunks, "accumulate")
    front = _Front(_options(field_rules, normalize_finish_reason, False, keep_obfuscation))
    it = iter(chunks)
    for chunk in it:  # until an event names the API
        front.add(chunk)
        if front.decided:
            break
    add = front.add
    for chunk in it:  # the rest straight to the core
        add(chunk)
    return _result(front.core, strict, _USE_ACCUMULATE_TEXT)


@overload
async def aaccumulate(  # type: ignore[overload-overlap]
    chunks: AsyncIterable[ResponsesEvent], *, strict: bool = False
) -> m.Response: ...


@overload
async def aaccumulate(
    chunks: AsyncIterable[AnthropicEvent], *, strict: bool = False
) -> m.AnthropicMessage: ...


@overload
async def aaccumulate(
    chunks: AsyncIterable[Any],
    *,
    strict: bool = False,
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
    keep_obfuscation: bool = False,
) -> m.ChatCompletion: ...


async def aaccumulate(
    chunks: AsyncIterable[Any],
    *,
    strict: bool = False,
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
    keep_obfuscation: bool = False,
) -> m.ChatCompletion | m.Response | m.AnthropicMessage:
    """Async twin of :func:`accumulate` for an async iterable of events."""
    _check_source(chunks, "aaccumulate")
    front = _Front(_options(field_rules, normalize_finish_reason, False, keep_obfuscation))
    it = aiter(chunks)
    async for chunk in it:  # until an event names the API
        front.add(chunk)
        if front.decided:
            break
    add = front.add
    async for chunk in it:  # the rest straight to the core
        add(chunk)
    return _result(front.core, strict, _USE_ACCUMULATE_TEXT)


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


def _result(
    core: Core, strict: bool, hint: str
) -> m.ChatCompletion | m.Response | m.AnthropicMessage:
    """The core's completion, which must not be a legacy text one (checked before ``strict``)."""
    completion = core.completion()
    if isinstance(completion, m.TextCompletion):
        raise UsageError(
            f"a stream of the legacy completions API (object 'text_completion'): {hint}",
            completion=completion,
        )
    if strict:
        core.completion(strict=True)
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


class _Base(Generic[R]):
    """State and per-chunk steps shared by the sync and async pass-through wrappers."""

    def __init__(
        self,
        source: Any,
        front: _Front,
        on_event: EventCallback | None,
        strict: bool = False,
    ) -> None:
        self._front = front
        self._source = source
        self._on_event = on_event
        self._strict = strict
        self._started = False
        self._ended = False

    @property
    def accumulator(self) -> Core:
        """The core folding the stream: :class:`Accumulator` for chat completion chunks,
        ``ResponseAccumulator`` or ``MessageAccumulator`` for the other APIs (before the first
        event, a chat one, replaced when that event is another API's)."""
        return self._front.core

    @property
    def completion(self) -> R:
        """The folded response, once the iteration has ended (exhausted, left, or failed).

        Raises :class:`UsageError` while the iteration is still going or before it started, or
        for a stream of the legacy completions API (read ``accumulator.completion()``); with
        ``strict=True``, :class:`IncompleteStreamError` when the stream did not finish.
        """
        if not self._ended:
            raise UsageError(
                "the completion is known once the iteration has ended; use snapshot() before that",
                completion=self.accumulator.snapshot(),
            )
        return cast(R, _result(self.accumulator, self._strict, _USE_ACCUMULATOR))

    @property
    def is_complete(self) -> bool:
        """True when the stream has finished (every choice, or the terminal event)."""
        return self.accumulator.is_complete

    def snapshot(self) -> R:
        """The response folded so far (:class:`UsageError` for a legacy completions stream)."""
        snapshot = self.accumulator.snapshot()
        if type(snapshot) is m.TextCompletion:
            raise UsageError(
                f"a stream of the legacy completions API: {_USE_ACCUMULATOR}", completion=snapshot
            )
        return cast(R, snapshot)

    def __repr__(self) -> str:
        acc = self.accumulator
        state = "ended" if self._ended else "iterating" if self._started else "not started"
        parts = f"chunks={acc.chunks}"
        if isinstance(acc, Accumulator):
            parts += f", choices={len(acc.choice_states())}"
        else:
            parts += f", dialect={dialect_of_core(acc)}"
        return f"<{type(self).__name__} {state}: {parts}, complete={acc.is_complete}>"

    def _start(self) -> None:
        if self._started:
            raise UsageError("this stream is already being iterated; wrap it again to re-read")
        self._started = True

    def _step(self, chunk: Any) -> None:
        """Fold one chunk on the way through (telling ``on_event`` what changed)."""
        if self._on_event is None:
            self._front.add(chunk)
            return
        events = self._front.add_events(chunk)
        for event in events:
            self._on_event(event)
        _raise_error(events)

    def _finish(self, exhausted: bool) -> None:
        self._ended = True
        if self._on_event is not None and exhausted:
            for event in self.accumulator.end_events():
                self._on_event(event)

    def _check_end(self) -> None:
        """The source is exhausted: with ``strict=True``, an unfinished stream is an error."""
        if self._strict and not self.accumulator.is_complete:
            self.accumulator.completion(strict=True)  # raises IncompleteStreamError


def _raise_error(events: list[Event]) -> None:
    if events and isinstance(events[-1], ErrorEvent):
        error = events[-1].exception
        assert isinstance(error, StreamError)
        raise error


class Folded(_Base[R], Generic[T, R]):
    """A pass-through iterator: yields the source's chunks unchanged while folding them.

    ``Folded[T]`` folds into a :class:`ChatCompletion`; ``Folded[T, R]`` into ``R`` (a
    :class:`Response` or an :class:`AnthropicMessage` for those APIs' events). Leaving the loop
    early ends the iteration and closes the source (at once on CPython; use the wrapper as a
    context manager to make that explicit everywhere). ``events()`` iterates typed events
    instead of chunks.
    """

    def __init__(
        self,
        source: Iterable[T],
        front: _Front,
        on_event: EventCallback | None = None,
        *,
        strict: bool = False,
    ) -> None:
        super().__init__(source, front, on_event, strict)
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
        front = self._front
        exhausted = False
        try:
            for chunk in it:
                events = front.add_events(chunk)
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

    def __enter__(self) -> Folded[T, R]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncFolded(_Base[R], Generic[T, R]):
    """Async twin of :class:`Folded`; cancel-safe on asyncio and trio.

    After ``break`` in ``async for``, the iteration ends when the wrapper is closed: use
    ``async with awrap(...)`` (or ``await wrapper.aclose()``) and read ``completion`` after it.
    """

    def __init__(
        self,
        source: AsyncIterable[T],
        front: _Front,
        on_event: EventCallback | None = None,
        *,
        strict: bool = False,
    ) -> None:
        super().__init__(source, front, on_event, strict)
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
        front = self._front
        exhausted = False
        try:
            async for chunk in it:
                events = front.add_events(chunk)
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

    async def __aenter__(self) -> AsyncFolded[T, R]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


# The elements' type picks the result, but ``Any`` elements bind any TypeVar, and mypy then
# takes the first overload that matches: a ``list[Any]`` would type as a Responses stream. This
# first overload matches ``Any`` elements only (nothing else has the attribute): Folded[Any, Any].
@overload
def wrap(
    chunks: Iterable[_Untyped], *, strict: bool = False, on_event: EventCallback | None = None
) -> Folded[Any, Any]: ...


@overload
def wrap(  # type: ignore[overload-overlap]
    chunks: Iterable[RE], *, strict: bool = False, on_event: EventCallback | None = None
) -> Folded[RE, m.Response]: ...


@overload
def wrap(  # type: ignore[overload-overlap]
    chunks: Iterable[AE], *, strict: bool = False, on_event: EventCallback | None = None
) -> Folded[AE, m.AnthropicMessage]: ...


@overload
def wrap(
    chunks: Iterable[T],
    *,
    strict: bool = False,
    on_event: EventCallback | None = None,
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
    eager_tool_calls: bool = False,
    keep_obfuscation: bool = False,
) -> Folded[T, m.ChatCompletion]: ...


def wrap(
    chunks: Iterable[T],
    *,
    strict: bool = False,
    on_event: EventCallback | None = None,
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
    eager_tool_calls: bool = False,
    keep_obfuscation: bool = False,
) -> Folded[T, Any]:
    """Pass ``chunks`` through unchanged while folding them; see :class:`Folded`.

    The first event picks the core, as for :func:`accumulate`. ``on_event`` is called with every
    typed event as the chunks pass. Raises, while iterating, what the core's ``add`` raises; a
    :class:`StreamError` is raised in place of the chunk that carried the error. With
    ``strict=True``, as for :func:`accumulate`, a stream that ends before it finished raises
    :class:`IncompleteStreamError`: from the loop once the source is exhausted, and from
    ``completion``. The chat options are :class:`Accumulator`'s (chat only).
    """
    _check_source(chunks, "wrap")
    options = _options(field_rules, normalize_finish_reason, eager_tool_calls, keep_obfuscation)
    return Folded(chunks, _Front(options), on_event, strict=strict)


@overload
def awrap(
    chunks: AsyncIterable[_Untyped], *, strict: bool = False, on_event: EventCallback | None = None
) -> AsyncFolded[Any, Any]: ...


@overload
def awrap(  # type: ignore[overload-overlap]
    chunks: AsyncIterable[RE], *, strict: bool = False, on_event: EventCallback | None = None
) -> AsyncFolded[RE, m.Response]: ...


@overload
def awrap(  # type: ignore[overload-overlap]
    chunks: AsyncIterable[AE], *, strict: bool = False, on_event: EventCallback | None = None
) -> AsyncFolded[AE, m.AnthropicMessage]: ...


@overload
def awrap(
    chunks: AsyncIterable[T],
    *,
    strict: bool = False,
    on_event: EventCallback | None = None,
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
    eager_tool_calls: bool = False,
    keep_obfuscation: bool = False,
) -> AsyncFolded[T, m.ChatCompletion]: ...


def awrap(
    chunks: AsyncIterable[T],
    *,
    strict: bool = False,
    on_event: EventCallback | None = None,
    field_rules: Mapping[str, FieldRule] | None = None,
    normalize_finish_reason: bool = False,
    eager_tool_calls: bool = False,
    keep_obfuscation: bool = False,
) -> AsyncFolded[T, Any]:
    """Async twin of :func:`wrap`; see :class:`AsyncFolded`."""
    _check_source(chunks, "awrap")
    options = _options(field_rules, normalize_finish_reason, eager_tool_calls, keep_obfuscation)
    return AsyncFolded(chunks, _Front(options), on_event, strict=strict)


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
