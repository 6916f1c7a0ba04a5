"""The error hierarchy.

One root, :class:`StreamfoldError`, split the way h11 splits its errors: the peer sent something
wrong (:class:`InvalidChunkError`, :class:`StreamError`, :class:`IncompleteStreamError`) or the
caller used the API out of order (:class:`UsageError`). Every error raised while folding carries the
0-based ``position`` of the chunk that caused it and the ``completion`` folded before it, so nothing
that already arrived is lost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._model import ChatCompletion, TextCompletion

__all__ = [
    "IncompleteStreamError",
    "InvalidArgumentsError",
    "InvalidChunkError",
    "PartialMergeError",
    "StreamError",
    "StreamfoldError",
    "UsageError",
]


class StreamfoldError(Exception):
    """Root of every error streamfold raises.

    ``position`` is the 0-based number of the chunk being folded when the error arose (``None``
    when no chunk was involved) and ``completion`` is what had been folded until then (a
    ``ChatCompletion`` or ``TextCompletion``; ``None`` when nothing had arrived).
    """

    completion: ChatCompletion | TextCompletion | None

    def __init__(
        self,
        message: str,
        *,
        position: int | None = None,
        completion: ChatCompletion | TextCompletion | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.completion = completion

    def __reduce__(self) -> tuple[Any, ...]:
        # keyword-only constructor arguments survive pickling (errors cross process pools)
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[StreamfoldError], message: str, state: dict[str, Any]) -> StreamfoldError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class InvalidChunkError(StreamfoldError, ValueError):
    """A chunk is malformed: not JSON, not an object, or a field of the wrong type.

    ``path`` names the field (``choices[0].delta.tool_calls[1].index``; ``""`` for the chunk
    itself). The chunk is not applied; the accumulator stays usable, so a caller may skip it.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str = "",
        position: int | None = None,
        completion: ChatCompletion | TextCompletion | None = None,
        chunk: Any = None,
    ) -> None:
        super().__init__(message, position=position, completion=completion)
        self.path = path
        self.chunk = chunk


class StreamError(StreamfoldError):
    """The server reported an error inside the stream (a chunk with a non-null ``error``).

    ``error`` is the error payload as sent; ``completion`` holds everything folded up to and
    including the chunk that carried it.
    """

    def __init__(
        self,
        message: str,
        *,
        error: Any = None,
        position: int | None = None,
        completion: ChatCompletion | TextCompletion | None = None,
    ) -> None:
        super().__init__(message, position=position, completion=completion)
        self.error = error


class IncompleteStreamError(StreamfoldError):
    """``strict=True`` was asked and the stream ended before every choice had a finish_reason.

    ``completion`` is always there: everything that arrived.
    """

    completion: ChatCompletion | TextCompletion

    def __init__(
        self,
        message: str,
        *,
        position: int | None = None,
        completion: ChatCompletion | TextCompletion,
    ) -> None:
        super().__init__(message, position=position, completion=completion)


class InvalidArgumentsError(StreamfoldError, ValueError):
    """A tool call's arguments are not JSON (:func:`parse_arguments`).

    ``arguments`` is the text as sent; ``name`` and ``id`` name the call when it was given as a
    ``ToolCall`` or ``FunctionCall``. The JSON parser's own error is the ``__cause__``.
    """

    def __init__(
        self, message: str, *, arguments: str, name: str | None = None, id: str | None = None
    ) -> None:
        super().__init__(message)
        self.arguments = arguments
        self.name = name
        self.id = id


class PartialMergeError(StreamfoldError, ValueError):
    """Partial folds could not be merged: their ranges overlap or leave positions missing.

    ``ranges`` lists the ``(start, end)`` ranges involved.
    """

    def __init__(self, message: str, *, ranges: list[tuple[int, int]]) -> None:
        super().__init__(message)
        self.ranges = ranges


class UsageError(StreamfoldError, RuntimeError):
    """The API was used out of order, for example ``add()`` after ``completion()``."""
