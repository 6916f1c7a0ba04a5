"""What the folds of the Responses API and of Anthropic Messages share (``_responses``,
``_anthropic``): counting the events given, refusing ``add()`` once the stream is over, and the
segment mark of partial folds. The chat core (``_fold.Accumulator``) predates them and keeps its
own, tuned for its hot path."""

from __future__ import annotations

from typing import Generic, NoReturn, TypeVar

from . import _model as m
from ._errors import StreamError, UsageError

__all__ = ["EventFold"]

R = TypeVar("R", bound="m.Response | m.AnthropicMessage")


class EventFold(Generic[R]):
    """The base of an event fold whose result is ``R``; a subclass builds it in ``snapshot``."""

    __slots__ = ("_count", "_error", "_final", "_segment")

    def __init__(self) -> None:
        self._count = 0  # events given to add(), bad ones included
        self._error: StreamError | None = None  # the error event that ended the stream
        self._final: R | None = None  # the result, once completion() built it
        self._segment = False

    @property
    def chunks(self) -> int:
        """How many events ``add()`` has been given, bad ones (and duplicates) included."""
        return self._count

    def mark_segment(self) -> None:
        """Fold a segment of a stream (see ``PartialFold``): nothing here waits for the earlier
        segments (an event naming an item the segment has not seen is placed by ``merge``), so
        this only records it."""
        self._segment = True

    def snapshot(self) -> R:
        raise NotImplementedError

    def _refuse(self, position: int) -> NoReturn:
        """``add()`` after the end: after ``completion()`` or an error event."""
        raise UsageError(
            f"event {position}: add() after "
            + ("completion()" if self._error is None else "the stream reported an error"),
            position=position,
            completion=self.snapshot(),
        )
