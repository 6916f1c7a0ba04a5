"""A read-only view of the fold's state, for the readers outside the core (events, parallel).

``Accumulator.choice_states()`` maps each choice index to its live state, typed here as
:class:`ChoiceView`: the fields a reader may look at, none it may write. The states are the fold's
own objects (no copy is made, so reading costs nothing per chunk); the protocols only say what
may be read. Fragment lists are read as sequences: their length grows with each fragment, and
``join_parts`` (see ``_parts``) gives their text.

This module imports nothing of the core, so that the readers need no import of ``_fold``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

__all__ = ["CallView", "ChoiceView", "FoldView"]


class CallView(Protocol):
    """One tool call being assembled."""

    @property
    def index(self) -> int | None:
        """The index the server gave the call, if any."""

    @property
    def seq(self) -> int:
        """Its position among the choice's calls, in order of arrival."""

    @property
    def id(self) -> str | None: ...

    @property
    def name(self) -> str | None: ...

    @property
    def args(self) -> Sequence[Any]:
        """The arguments' fragment list."""


class ChoiceView(Protocol):
    """What the fold holds for one choice index."""

    @property
    def index(self) -> int: ...

    @property
    def role(self) -> str | None: ...

    @property
    def finish_reason(self) -> str | None:
        """The finish reason; not None once the choice has finished."""

    @property
    def content(self) -> Sequence[Any]:
        """The content's fragment list."""

    @property
    def refusal(self) -> Sequence[Any]:
        """The refusal's fragment list."""

    @property
    def calls(self) -> Sequence[CallView]:
        """The tool calls, in order of arrival."""

    @property
    def lp_content(self) -> Sequence[Any] | None:
        """The content's token logprob entries (None when none arrived)."""

    @property
    def lp_refusal(self) -> Sequence[Any] | None:
        """The refusal's token logprob entries (None when none arrived)."""

    def extra_parts(self, name: str) -> Sequence[Any] | None:
        """The fragment list of an unknown string field of the delta (``reasoning_content``),
        or None when that field is not one that concatenates."""


class FoldView(Protocol):
    """What a reader may see of an accumulator."""

    def choice_states(self) -> Mapping[int, ChoiceView]:
        """Each choice's state by index (read-only)."""

    @property
    def usage_data(self) -> Any:
        """The usage as plain data (``x_groq.usage`` when no usage came), or None."""
