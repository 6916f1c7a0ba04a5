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
    from ._model import AnthropicMessage, ChatCompletion, Response, TextCompletion

    Folded = ChatCompletion | TextCompletion | Response | AnthropicMessage

__all__ = [
    "IncompleteStreamError",
    "InvalidArgumentsError",
    "InvalidChunkError",
    "InvalidLineError",
    "LineStreamError",
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

    completion: Folded | None

    def __init__(
        self,
        message: str,
        *,
        position: int | None = None,
        completion: Folded | None = None,
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
        completion: Folded | None = None,
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
        completion: Folded | None = None,
    ) -> None:
        super().__init__(message, position=position, completion=completion)
        self.error = error

    @classmethod
    def reported(cls, noun: str, position: int, payload: Any, completion: Folded) -> StreamError:
        """The error for ``payload``, what the server sent in the stream's ``noun`` (chunk or
        event) ``position``: named by its message, else its code or type."""
        detail = payload.get("message") if isinstance(payload, dict) else payload
        if detail is None and isinstance(payload, dict):
            detail = payload.get("code") or payload.get("type")
        return cls(
            f"{noun} {position}: the server reported an error: {detail}",
            error=payload,
            position=position,
            completion=completion,
        )


class IncompleteStreamError(StreamfoldError):
    """``strict=True`` was asked and the stream ended before every choice had a finish_reason.

    ``completion`` is always there: everything that arrived.
    """

    completion: Folded

    def __init__(
        self,
        message: str,
        *,
        position: int | None = None,
        completion: Folded,
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


class _OrderMergeError(PartialMergeError):
    """(Internal) partial folds of a Responses stream whose order by ``sequence_number`` crosses
    the cut: the merge would differ from the whole fold (``ResponseAccumulator.merge``)."""


class UsageError(StreamfoldError, RuntimeError):
    """The API was used out of order, for example ``add()`` after ``completion()``."""


# ---------------------------------------------------------------------------------------------
# errors that name the file and line


def where(source: str | None, line: int | None) -> str:
    """``FILE:LINE``, ``FILE``, ``line LINE`` or ``<input>``: the prefix of located messages."""
    if source is None:
        return f"line {line}" if line is not None else "<input>"
    return f"{source}:{line}" if line is not None else source


class InvalidLineError(InvalidChunkError):
    """A line or event of an SSE body or a log is not a valid chunk.

    The message starts with ``FILE:LINE:`` (``line N:`` for in-memory input). ``source`` is the
    file name (``None`` for in-memory input), ``line`` the 1-based line number; ``completion``
    holds what was folded before it.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        path: str = "",
        position: int | None = None,
        completion: Any = None,
        chunk: Any = None,
    ) -> None:
        super().__init__(message, path=path, position=position, completion=completion, chunk=chunk)
        self.source = source
        self.line = line


class LineStreamError(StreamError):
    """The server reported an error in an SSE body or a log, at ``source``:``line``.

    ``error`` is the payload (the value of the ``error`` key, the whole flat error object, or the
    data of an ``error:`` line / ``event: error`` event, parsed as JSON when it is JSON).
    ``completion`` holds everything folded up to and including the chunk that carried it.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        error: Any = None,
        position: int | None = None,
        completion: Any = None,
    ) -> None:
        super().__init__(message, error=error, position=position, completion=completion)
        self.source = source
        self.line = line


def locate(
    exc: InvalidChunkError | StreamError, source: str | None, line: int
) -> InvalidLineError | LineStreamError:
    """The located twin of an error the core raised (which names the chunk, not the line)."""
    message = f"{where(source, line)}: {exc.message}"
    if isinstance(exc, StreamError):
        return LineStreamError(
            message,
            source=source,
            line=line,
            error=exc.error,
            position=exc.position,
            completion=exc.completion,
        )
    return InvalidLineError(
        message,
        source=source,
        line=line,
        path=exc.path,
        position=exc.position,
        completion=exc.completion,
        chunk=exc.chunk,
    )


class _DecodeError(Exception):
    """Internal: the decoder met input it cannot hold; the loops add the file and completion."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def preview(data: bytes | str, size: int = 60) -> str:
    """A short printable excerpt of a payload for error messages."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return repr(text if len(text) <= size else text[: size - 3] + "...")


class _CutLine(_DecodeError):
    """Internal: a line that is not valid JSON but names its stream (a line cut short)."""

    def __init__(self, key: Any, message: str) -> None:
        super().__init__(0, message)
        self.key = key


class CutLineError(InvalidChunkError):
    """A worker's record of a cut line (``_parallel``): located in the parent."""


def cut_error(
    cut: _CutLine | CutLineError, completion: Any, source: str | None, line: int
) -> InvalidLineError:
    """The error of a stream one of whose lines was cut short (or is otherwise not JSON)."""
    return InvalidLineError(
        f"{where(source, line)}: {cut.message}", source=source, line=line, completion=completion
    )
