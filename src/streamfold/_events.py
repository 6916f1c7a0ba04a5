"""Typed events: what each chunk changed, for UIs and agent loops.

Event names follow the openai SDK's stream helpers where a counterpart exists:

=========================================  ===========================================
streamfold event (``.type``)               openai SDK helper event
=========================================  ===========================================
``choice.started``                         (none: the SDK has no such event)
``content.delta`` / ``content.done``       ``content.delta`` / ``content.done``
``refusal.delta`` / ``refusal.done``       ``refusal.delta`` / ``refusal.done``
``reasoning.delta`` / ``reasoning.done``   (none: provider reasoning fields)
``tool_calls.function.started``            (none)
``tool_calls.function.arguments.delta``    ``tool_calls.function.arguments.delta``
``tool_calls.function.arguments.done``     ``tool_calls.function.arguments.done``
``logprobs.content.delta``                 ``logprobs.content.delta``
``logprobs.refusal.delta``                 ``logprobs.refusal.delta``
``choice.finished``                        (none: the SDK reports it on ``chunk``)
``usage``                                  (none)
``error``                                  (none: the SDK raises)
=========================================  ===========================================

The same classes report the OpenAI Responses API and Anthropic Messages streams where the meaning
is the same: there ``choice_index`` is 0 (one response, one message), ``item`` is the output item's
``output_index`` or the content block's ``index`` (``None`` for chat completions), a tool call's
``index`` is that item's or block's index, and usage comes as :class:`UsageReport` (the API's usage
object as plain JSON: ``input_tokens`` / ``output_tokens``) rather than :class:`UsageEvent`.

Unlike the SDK, delta events carry no ``snapshot`` of the whole text: building one per chunk is
what makes accumulators quadratic. Call ``snapshot()`` on the accumulator when a view is needed.

When "done" fires. The done events of a choice (its reasoning, content, refusal, each tool call,
then ``choice.finished``) fire once, for the final state: when nothing can change the choice any
more. A ``finish_reason`` alone does not prove that: proxies send it on every chunk (some send
``"tool_calls"`` from the first chunk on), and a finish followed by more deltas is not final. So a
finished choice is done at the first of: the chunk that brings the usage and adds nothing to any
choice (the stream's closing chunk), a chunk that reports a server error, and the end of the
stream (``end_events()``, which the adapters call when the source is exhausted); a choice that
never finishes is done at the end of the stream. ``ToolCallDone.arguments`` is then always the
folded call's arguments. With ``eager_tool_calls=True`` a tool call is also done as soon as a
later call of the same choice starts: right for servers that send calls one after another
(OpenAI, Azure, vLLM, ...), wrong for servers that interleave the fragments of parallel calls,
hence opt-in.

Order of the events one chunk causes, per choice: ``choice.started``, ``reasoning.delta``,
``content.delta``, ``refusal.delta``, for each tool call touched ``tool_calls.function.started``
then ``tool_calls.function.arguments.delta``, ``logprobs.*.delta``. Then, when the chunk closes
the stream (see above), per finished choice its ``*.done`` events and ``choice.finished``. Then
``usage``, then ``error``.

How it works. The tracker keeps, per choice, how many fragments it had already reported and
compares with the accumulator's state after each chunk, so the plain fold pays nothing for
events. While events are tracked, the accumulator does not compact its fragment lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from attrs import field, frozen

from . import _model as m
from ._partial import try_parse_arguments
from ._parts import join_parts

if TYPE_CHECKING:
    from ._view import CallView, ChoiceView, FoldView

__all__ = [
    "ChoiceFinished",
    "ChoiceStarted",
    "ContentDelta",
    "ContentDone",
    "ErrorEvent",
    "Event",
    "LogprobsDelta",
    "ReasoningDelta",
    "ReasoningDone",
    "RefusalDelta",
    "RefusalDone",
    "ToolCallArgumentsDelta",
    "ToolCallDone",
    "ToolCallStarted",
    "UsageEvent",
    "UsageReport",
]

REASONING_FIELDS = ("reasoning_content", "reasoning")


@frozen(kw_only=True)
class ChoiceStarted:
    """A choice's first chunk arrived (with its role, ``assistant`` when none was sent)."""

    type: ClassVar[str] = "choice.started"
    choice_index: int
    role: str


@frozen(kw_only=True)
class ContentDelta:
    """A piece of the message text."""

    type: ClassVar[str] = "content.delta"
    choice_index: int
    delta: str
    item: int | None = None


@frozen(kw_only=True)
class ContentDone:
    """The message text is complete."""

    type: ClassVar[str] = "content.done"
    choice_index: int
    content: str
    item: int | None = None


@frozen(kw_only=True)
class RefusalDelta:
    """A piece of the refusal text."""

    type: ClassVar[str] = "refusal.delta"
    choice_index: int
    delta: str
    item: int | None = None


@frozen(kw_only=True)
class RefusalDone:
    """The refusal text is complete."""

    type: ClassVar[str] = "refusal.done"
    choice_index: int
    refusal: str
    item: int | None = None


@frozen(kw_only=True)
class ReasoningDelta:
    """A piece of the reasoning text; ``field`` is the provider field it came in."""

    type: ClassVar[str] = "reasoning.delta"
    choice_index: int
    field: str
    delta: str
    item: int | None = None


@frozen(kw_only=True)
class ReasoningDone:
    """The reasoning text is complete."""

    type: ClassVar[str] = "reasoning.done"
    choice_index: int
    field: str
    reasoning: str
    item: int | None = None


@frozen(kw_only=True)
class ToolCallStarted:
    """A tool call appeared; its id and name are known from here on when the server sent them."""

    type: ClassVar[str] = "tool_calls.function.started"
    choice_index: int
    index: int
    id: str | None
    name: str | None


@frozen(kw_only=True)
class ToolCallArgumentsDelta:
    """A piece of a tool call's arguments."""

    type: ClassVar[str] = "tool_calls.function.arguments.delta"
    choice_index: int
    index: int
    id: str | None
    name: str | None
    delta: str


@frozen(kw_only=True)
class ToolCallDone:
    """A tool call is complete: its arguments, parsed as JSON, or the parse error.

    ``arguments`` equals the folded call's arguments; ``parsed`` and ``parse_error`` are what
    :func:`try_parse_arguments` gives for them (``""`` parses as ``{}``).
    """

    type: ClassVar[str] = "tool_calls.function.arguments.done"
    choice_index: int
    index: int
    id: str | None
    name: str | None
    arguments: str
    parsed: Any = None
    parse_error: ValueError | None = field(default=None, eq=False)


@frozen(kw_only=True)
class LogprobsDelta:
    """Log probabilities of the tokens a chunk added, for the content or the refusal."""

    choice_index: int
    field: Literal["content", "refusal"]
    entries: m.TokenLogprobs

    @property
    def type(self) -> str:
        return f"logprobs.{self.field}.delta"


@frozen(kw_only=True)
class ChoiceFinished:
    """A choice finished (``length`` and ``content_filter`` included), with its final
    finish_reason; fired when the stream can no longer change the choice (module docstring)."""

    type: ClassVar[str] = "choice.finished"
    choice_index: int
    finish_reason: str


@frozen(kw_only=True)
class UsageEvent:
    """Token usage arrived (or changed: some servers send running totals)."""

    type: ClassVar[str] = "usage"
    usage: m.CompletionUsage


@frozen(kw_only=True)
class UsageReport:
    """Token usage of a Responses API or Anthropic Messages stream arrived (or changed), as the
    API's own usage object in plain JSON (``input_tokens``, ``output_tokens``, ...)."""

    type: ClassVar[str] = "usage"
    usage: dict[str, Any]


@frozen(kw_only=True)
class ErrorEvent:
    """The server reported an error mid-stream; ``error`` is the payload as sent."""

    type: ClassVar[str] = "error"
    error: Any
    exception: Exception = field(eq=False)


Event = (
    ChoiceStarted
    | ContentDelta
    | ContentDone
    | RefusalDelta
    | RefusalDone
    | ReasoningDelta
    | ReasoningDone
    | ToolCallStarted
    | ToolCallArgumentsDelta
    | ToolCallDone
    | LogprobsDelta
    | ChoiceFinished
    | UsageEvent
    | UsageReport
    | ErrorEvent
)


def _text(parts: Sequence[Any], start: int) -> str:
    # fragments compacted before events were asked for sit in a block list at [0]
    return join_parts(parts) if start == 0 else "".join(parts[start:])


class _CallSeen:
    __slots__ = ("args", "done", "started")

    def __init__(self) -> None:
        self.args = 0
        self.started = False
        self.done = False


class _ChoiceSeen:
    __slots__ = (
        "calls",
        "content",
        "finished",
        "lp_content",
        "lp_refusal",
        "reasoning",
        "refusal",
        "started",
    )

    def __init__(self) -> None:
        self.started = False
        self.content = 0
        self.refusal = 0
        self.reasoning: dict[str, int] = {}
        self.calls: dict[int, _CallSeen] = {}  # by id() of the accumulator's call state
        self.lp_content = 0
        self.lp_refusal = 0
        self.finished = False


class Tracker:
    """Turns the accumulator's state changes into events (see the module docstring)."""

    def __init__(self, acc: FoldView, *, eager_tool_calls: bool = False) -> None:
        self.acc = acc
        self.eager = eager_tool_calls
        self.seen: dict[int, _ChoiceSeen] = {}
        self.usage: Any = None
        self.ended = False

    def changes(self, error: Exception | None = None) -> list[Event]:
        """The events caused by the chunks folded since the last call."""
        out: list[Event] = []
        for index, state in sorted(self.acc.choice_states().items()):
            seen = self.seen.get(index)
            if seen is None:
                seen = self.seen[index] = _ChoiceSeen()
            self._choice(index, state, seen, out)
        grew = bool(out)  # only deltas and starts so far: the chunk added to some choice
        usage = self.acc.usage_data
        new_usage = usage is not None and usage is not self.usage
        if error is not None or (new_usage and not grew):
            # the closing usage chunk, or a server error: no delta can follow, finishes are final
            self._close(out, finished_only=True)
        if new_usage:
            self.usage = usage
            out.append(UsageEvent(usage=_usage(usage)))
        if error is not None:
            out.append(ErrorEvent(error=getattr(error, "error", None), exception=error))
        return out

    def end(self) -> list[Event]:
        """The done events of every choice not done yet, when the stream ends (once)."""
        if self.ended:
            return []
        self.ended = True
        out: list[Event] = []
        self._close(out, finished_only=False)
        return out

    def _close(self, out: list[Event], *, finished_only: bool) -> None:
        for index, state in sorted(self.acc.choice_states().items()):
            seen = self.seen.get(index)
            if seen is None or seen.finished:
                continue
            if finished_only and state.finish_reason is None:
                continue
            self._done(index, state, seen, out)
            seen.finished = True
            if state.finish_reason is not None:
                out.append(ChoiceFinished(choice_index=index, finish_reason=state.finish_reason))

    def _choice(self, index: int, state: ChoiceView, seen: _ChoiceSeen, out: list[Event]) -> None:
        if not seen.started:
            seen.started = True
            out.append(ChoiceStarted(choice_index=index, role=state.role or "assistant"))
        for name in REASONING_FIELDS:
            parts = state.extra_parts(name)
            if parts is not None and len(parts) > seen.reasoning.get(name, 0):
                delta = _text(parts, seen.reasoning.get(name, 0))
                seen.reasoning[name] = len(parts)
                if delta:
                    out.append(ReasoningDelta(choice_index=index, field=name, delta=delta))
        if len(state.content) > seen.content:
            delta = _text(state.content, seen.content)
            seen.content = len(state.content)
            out.append(ContentDelta(choice_index=index, delta=delta))
        if len(state.refusal) > seen.refusal:
            delta = _text(state.refusal, seen.refusal)
            seen.refusal = len(state.refusal)
            out.append(RefusalDelta(choice_index=index, delta=delta))
        for position, call in enumerate(state.calls):
            cseen = seen.calls.get(id(call))
            if cseen is None:
                if self.eager:  # a new call: earlier calls of this choice are complete
                    for earlier in state.calls[:position]:
                        eseen = seen.calls.get(id(earlier))
                        if eseen is not None and not eseen.done:
                            eseen.done = True
                            out.append(_call_done(index, earlier, position))
                cseen = seen.calls[id(call)] = _CallSeen()
            if not cseen.started:
                cseen.started = True
                out.append(
                    ToolCallStarted(
                        choice_index=index, index=_call_index(call), id=call.id, name=call.name
                    )
                )
            if len(call.args) > cseen.args:
                delta = _text(call.args, cseen.args)
                cseen.args = len(call.args)
                if not cseen.done:
                    out.append(
                        ToolCallArgumentsDelta(
                            choice_index=index,
                            index=_call_index(call),
                            id=call.id,
                            name=call.name,
                            delta=delta,
                        )
                    )
        for kind in ("content", "refusal"):
            entries = state.lp_content if kind == "content" else state.lp_refusal
            done = seen.lp_content if kind == "content" else seen.lp_refusal
            if entries is not None and len(entries) > done:
                new = m.TokenLogprobs(entries[done:])
                if kind == "content":
                    seen.lp_content = len(entries)
                else:
                    seen.lp_refusal = len(entries)
                out.append(LogprobsDelta(choice_index=index, field=kind, entries=new))

    def _done(self, index: int, state: ChoiceView, seen: _ChoiceSeen, out: list[Event]) -> None:
        for name in REASONING_FIELDS:
            parts = state.extra_parts(name)
            if parts:
                reasoning = join_parts(parts)
                out.append(ReasoningDone(choice_index=index, field=name, reasoning=reasoning))
        if state.content:
            out.append(ContentDone(choice_index=index, content=join_parts(state.content)))
        if state.refusal:
            out.append(RefusalDone(choice_index=index, refusal=join_parts(state.refusal)))
        for position, call in enumerate(state.calls):
            cseen = seen.calls.get(id(call))
            if cseen is not None and not cseen.done:
                cseen.done = True
                out.append(_call_done(index, call, position))


def _call_index(call: CallView) -> int:
    return call.index if call.index is not None else call.seq


def _call_done(choice_index: int, call: CallView, position: int) -> ToolCallDone:
    arguments = join_parts(call.args)
    parsed, error = try_parse_arguments(
        m.ToolCall(id=call.id, function=m.FunctionCall(name=call.name or "", arguments=arguments))
    )
    return ToolCallDone(
        choice_index=choice_index,
        index=_call_index(call),
        id=call.id,
        name=call.name,
        arguments=arguments,
        parsed=parsed,
        parse_error=error,
    )


def _usage(data: Any) -> m.CompletionUsage:
    from ._convert import converter

    usage: m.CompletionUsage = converter.structure(data, m.CompletionUsage)
    return usage
