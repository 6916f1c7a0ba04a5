"""Typed model of the OpenAI chat completion schema, chunk side and completion side.

Every class is a frozen, slotted attrs class. Each one has an ``extra`` mapping that holds the keys
the model does not name, exactly as they arrived; ``to_dict`` writes them back at the same level,
so converting to plain data loses nothing. Sequences are tuples so that values stay immutable.
Conversion to and from plain data lives in ``_convert.py``; the fold builds these classes only
when a snapshot or the final completion is asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, overload

import attrs
from attrs import field, frozen

__all__ = [
    "Annotation",
    "AnthropicMessage",
    "ChatCompletion",
    "ChatCompletionAudio",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaAudio",
    "ChoiceDeltaFunctionCall",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChoiceLogprobs",
    "ChunkChoice",
    "CompletionTokensDetails",
    "CompletionUsage",
    "FunctionCall",
    "PromptTokensDetails",
    "Response",
    "TextChoice",
    "TextChunkChoice",
    "TextCompletion",
    "TextCompletionChunk",
    "TextLogprobs",
    "TokenLogprob",
    "TokenLogprobs",
    "ToolCall",
    "TopLogprob",
]

Extra = dict[str, Any]


def _extra() -> Any:
    return field(factory=dict, kw_only=True, eq=True)


class _Repr:
    """The repr of the model classes: attrs' form, without ``extra`` when it is empty."""

    __slots__ = ()

    def __repr__(self) -> str:
        shown = []
        for a in attrs.fields(type(self)):  # type: ignore[arg-type]  # every subclass is attrs
            value = getattr(self, a.name)
            if a.repr and not (a.name == "extra" and not value):
                shown.append(f"{a.name}={value!r}")
        return f"{type(self).__qualname__}({', '.join(shown)})"


# ---------------------------------------------------------------------------------------------
# shared by both sides


@frozen(kw_only=True, repr=False)
class TopLogprob(_Repr):
    """One alternative token with its log probability."""

    token: str
    logprob: float
    bytes: tuple[int, ...] | None = None
    extra: Extra = _extra()


@frozen(kw_only=True, repr=False)
class TokenLogprob(_Repr):
    """The log probability of one sampled token, with its top alternatives."""

    token: str
    logprob: float
    bytes: tuple[int, ...] | None = None
    top_logprobs: tuple[TopLogprob, ...] = ()
    extra: Extra = _extra()


_TOKEN_FIELDS = frozenset({"token", "logprob", "bytes", "top_logprobs"})
_TOP_FIELDS = frozenset({"token", "logprob", "bytes"})


def _top_from_plain(data: Any) -> TopLogprob:
    if type(data) is TopLogprob:
        return data
    raw = data.get("bytes")
    return TopLogprob(
        token=data["token"],
        logprob=data["logprob"],
        bytes=tuple(raw) if raw is not None else None,
        extra={k: v for k, v in data.items() if k not in _TOP_FIELDS},
    )


def _token_from_plain(data: Any) -> TokenLogprob:
    if type(data) is TokenLogprob:
        return data
    raw = data.get("bytes")
    return TokenLogprob(
        token=data["token"],
        logprob=data["logprob"],
        bytes=tuple(raw) if raw is not None else None,
        top_logprobs=tuple(_top_from_plain(t) for t in data.get("top_logprobs") or ()),
        extra={k: v for k, v in data.items() if k not in _TOKEN_FIELDS},
    )


class TokenLogprobs(Sequence[TokenLogprob]):
    """An immutable sequence of :class:`TokenLogprob`, built on first access.

    A stream with logprobs brings one entry (and its top alternatives) per token; the fold keeps
    them as the plain data that arrived, already checked, and this sequence turns them into
    ``TokenLogprob`` objects only when they are read. It compares equal to any sequence of the
    same ``TokenLogprob`` values.
    """

    __slots__ = ("_items", "_raw")

    def __init__(self, items: Iterable[TokenLogprob | Mapping[str, Any]] = ()) -> None:
        self._raw: tuple[Any, ...] = tuple(items)
        self._items: tuple[TokenLogprob, ...] | None = None

    def _built(self) -> tuple[TokenLogprob, ...]:
        items = self._items
        if items is None:
            items = self._items = tuple(_token_from_plain(e) for e in self._raw)
        return items

    def __len__(self) -> int:
        return len(self._raw)

    @overload
    def __getitem__(self, index: int) -> TokenLogprob: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[TokenLogprob, ...]: ...

    def __getitem__(self, index: int | slice) -> TokenLogprob | tuple[TokenLogprob, ...]:
        return self._built()[index]

    def __iter__(self) -> Iterator[TokenLogprob]:
        return iter(self._built())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TokenLogprobs):
            return self._built() == other._built()
        if isinstance(other, (tuple, list)):
            return self._built() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._built())

    def __repr__(self) -> str:
        return f"TokenLogprobs({list(self._built())!r})"


def _token_seq(value: Any) -> TokenLogprobs | None:
    if value is None or type(value) is TokenLogprobs:
        return value
    return TokenLogprobs(value)


@frozen(kw_only=True, repr=False)
class ChoiceLogprobs(_Repr):
    """Log probabilities of a choice: ``content`` and ``refusal`` token lists."""

    content: TokenLogprobs | None = field(default=None, converter=_token_seq)
    refusal: TokenLogprobs | None = field(default=None, converter=_token_seq)
    extra: Extra = _extra()


@frozen(kw_only=True, repr=False)
class PromptTokensDetails(_Repr):
    """Breakdown of the prompt tokens."""

    audio_tokens: int | None = None
    cached_tokens: int | None = None
    extra: Extra = _extra()


@frozen(kw_only=True, repr=False)
class CompletionTokensDetails(_Repr):
    """Breakdown of the completion tokens."""

    accepted_prediction_tokens: int | None = None
    audio_tokens: int | None = None
    reasoning_tokens: int | None = None
    rejected_prediction_tokens: int | None = None
    extra: Extra = _extra()


@frozen(kw_only=True, repr=False)
class CompletionUsage(_Repr):
    """Token usage of a request. Numbers are kept as sent, never added up."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None
    extra: Extra = _extra()


# ---------------------------------------------------------------------------------------------
# chunk side: what a server streams


@frozen(kw_only=True, repr=False)
class ChoiceDeltaToolCallFunction(_Repr):
    """A fragment of a tool call's function: its name (once) and a piece of its arguments."""

    name: str | None = None
    arguments: str | None = None
    extra: Extra = _extra()


@frozen(kw_only=True, repr=False)
class ChoiceDeltaToolCall(_Repr):
    """A fragment of one tool call, keyed by ``index`` within the choice."""

    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: ChoiceDeltaToolCallFunction | None = None
    extra: Extra = _extra()


@frozen(kw_only=True, repr=False)
class ChoiceDeltaFunctionCall(_Repr):
    """A fragment of the legacy ``function_call``."""

    name: str | None = None
    arguments: str | None = None
    extra: Extra = _extra()


@frozen(kw_only=True, repr=False)
class ChoiceDeltaAudio(_Repr):
    """A fragment of an audio response: base64 ``data`` and ``transcript`` pieces."""

    id: str | None = None
    data: str | None = None
    transcript: str | None = None
    expires_at: int | None = None
    extra: Extra = _extra()


@frozen(kw_only=True, repr=False)
class ChoiceDelta(_Repr):
    """What one chunk adds to one choice."""

    role: str | None = None
    content: str | None = None
    refusal: str | None = None
    tool_calls: tuple[ChoiceDeltaToolCall, ...] | None = None
    function_call: ChoiceDeltaFunctionCall | None = None
    audio: ChoiceDeltaAudio | None = None
    extra: Extra = _extra()


@frozen(kw_only=True, repr=False)
class ChunkChoice(_Repr):
    """One choice inside a chunk."""

    index: int = 0
    delta: ChoiceDelta = field(factory=ChoiceDelta)
    logprobs: ChoiceLogprobs | None = None
    finish_reason: str | None = None
    extra: Extra = _extra()


@frozen(kw_only=True, repr=False)
class ChatCompletionChunk(_Repr):
    """One ``chat.completion.chunk`` as streamed."""

    id: str = ""
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    service_tier: str | None = None
    system_fingerprint: str | None = None
    choices: tuple[ChunkChoice, ...] = ()
    usage: CompletionUsage | None = None
    extra: Extra = _extra()


# ---------------------------------------------------------------------------------------------
# completion side: what a non-streamed request returns


@frozen(kw_only=True, repr=False)
class FunctionCall(_Repr):
    """A complete function call: its name and its JSON arguments as text."""

    name: str
    arguments: str
    extra: Extra = _extra()


@frozen(kw_only=True, repr=False)
class ToolCall(_Repr):
    """A complete tool call."""

    id: str | None
    type: str = "function"
    function: FunctionCall
    extra: Extra = _extra()


@frozen(kw_only=True, repr=False)
class ChatCompletionAudio(_Repr):
    """A complete audio response."""

    id: str | None = None
    data: str = ""
    expires_at: int | None = None
    transcript: str = ""
    extra: Extra = _extra()


@frozen(kw_only=True, repr=False)
class Annotation(_Repr):
    """An annotation on the message text (for example a URL citation); kept as sent."""

    type: str | None = None
    extra: Extra = _extra()


@frozen(kw_only=True, repr=False)
class ChatCompletionMessage(_Repr):
    """The assistant message of a choice.

    Provider fields outside the OpenAI schema (``reasoning_content``, ``reasoning``,
    ``reasoning_details``, ...) are in ``extra`` under the name they were sent with.
    """

    role: str = "assistant"
    content: str | None = None
    refusal: str | None = None
    annotations: tuple[Annotation, ...] = ()
    tool_calls: tuple[ToolCall, ...] | None = None
    function_call: FunctionCall | None = None
    audio: ChatCompletionAudio | None = None
    extra: Extra = _extra()

    @property
    def reasoning_text(self) -> str | None:
        """The model's reasoning text, whichever field the server sent it in.

        Looks, in order, at ``reasoning_content`` (DeepSeek, vLLM, llama.cpp, xAI, Z.ai),
        ``reasoning`` (OpenRouter, Ollama, Groq), ``reasoning_details`` (OpenRouter: the text
        and summary items) and thinking / reasoning content parts (Mistral, Databricks).
        ``None`` when the message carries no reasoning.
        """
        return reasoning_text(self.extra)


def reasoning_text(fields: Mapping[str, Any]) -> str | None:
    """The reasoning text found in a message's provider fields (see ``reasoning_text``)."""
    for name in ("reasoning_content", "reasoning"):
        value = fields.get(name)
        if isinstance(value, str) and value:
            return value
    pieces: list[str] = []
    for item in fields.get("reasoning_details") or ():
        if isinstance(item, Mapping):
            for key in ("text", "summary"):
                value = item.get(key)
                if isinstance(value, str):
                    pieces.append(value)
    if pieces:
        return "".join(pieces)
    for part in fields.get("content_parts") or ():
        if isinstance(part, Mapping):
            nested = part.get("thinking") if part.get("type") == "thinking" else None
            if part.get("type") == "reasoning":
                nested = part.get("summary")
            for item in nested or ():
                if isinstance(item, Mapping) and isinstance(item.get("text"), str):
                    pieces.append(item["text"])
                elif isinstance(item, str):
                    pieces.append(item)
    return "".join(pieces) if pieces else None


@frozen(kw_only=True, repr=False)
class Choice(_Repr):
    """One complete choice."""

    index: int
    message: ChatCompletionMessage
    logprobs: ChoiceLogprobs | None = None
    finish_reason: str | None = None
    extra: Extra = _extra()


@frozen(kw_only=True, repr=False)
class ChatCompletion(_Repr):
    """A complete ``chat.completion``, the shape a non-streamed request returns."""

    id: str | None = None
    object: str = "chat.completion"
    created: int | None = None
    model: str | None = None
    choices: tuple[Choice, ...] = ()
    usage: CompletionUsage | None = None
    service_tier: str | None = None
    system_fingerprint: str | None = None
    extra: Extra = _extra()

    @property
    def is_complete(self) -> bool:
        """True when the stream it was folded from ended normally: at least one choice, and
        every choice has a ``finish_reason`` (``length`` and ``content_filter`` included).

        The accumulator's own rule (:attr:`Accumulator.is_complete`), read from the choices
        themselves, so it holds for a completion read back with ``from_dict`` too and adds
        nothing to ``to_dict``'s JSON.
        """
        return _all_finished(self.choices)


def _all_finished(choices: Sequence[Choice | TextChoice]) -> bool:
    return bool(choices) and all(c.finish_reason is not None for c in choices)


# ---------------------------------------------------------------------------------------------
# the legacy completions API (object "text_completion")


@frozen(kw_only=True, repr=False)
class TextLogprobs(_Repr):
    """Legacy logprobs: parallel lists, one entry per token."""

    tokens: tuple[str, ...] | None = None
    token_logprobs: tuple[float | None, ...] | None = None
    top_logprobs: tuple[dict[str, float] | None, ...] | None = None
    text_offset: tuple[int, ...] | None = None
    extra: Extra = _extra()


@frozen(kw_only=True, repr=False)
class TextChunkChoice(_Repr):
    """One choice of a streamed legacy completion."""

    index: int = 0
    text: str = ""
    logprobs: TextLogprobs | None = None
    finish_reason: str | None = None
    extra: Extra = _extra()


@frozen(kw_only=True, repr=False)
class TextCompletionChunk(_Repr):
    """One streamed chunk of the legacy completions API."""

    id: str = ""
    object: str = "text_completion"
    created: int = 0
    model: str = ""
    system_fingerprint: str | None = None
    choices: tuple[TextChunkChoice, ...] = ()
    usage: CompletionUsage | None = None
    extra: Extra = _extra()


@frozen(kw_only=True, repr=False)
class TextChoice(_Repr):
    """One complete choice of a legacy completion."""

    index: int
    text: str
    logprobs: TextLogprobs | None = None
    finish_reason: str | None = None
    extra: Extra = _extra()


@frozen(kw_only=True, repr=False)
class TextCompletion(_Repr):
    """A complete legacy ``text_completion``."""

    id: str | None = None
    object: str = "text_completion"
    created: int | None = None
    model: str | None = None
    choices: tuple[TextChoice, ...] = ()
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None
    extra: Extra = _extra()

    @property
    def is_complete(self) -> bool:
        """True when at least one choice arrived and every choice has a ``finish_reason``."""
        return _all_finished(self.choices)


# ---------------------------------------------------------------------------------------------
# the other dialects' non-streamed objects: the top level typed, items and blocks as plain JSON
# (their many kinds, and the kinds still to come, are kept whole: nothing a server sends is lost)


@frozen(kw_only=True, repr=False)
class Response(_Repr):
    """A complete OpenAI Responses API ``response`` object, the shape a non-streamed
    ``POST /v1/responses`` returns.

    ``output`` holds the output items as plain JSON (``message``, ``reasoning``,
    ``function_call``, ``custom_tool_call``, the built-in tools' calls, ...); ``extra`` every
    other key of the response (``instructions``, ``tools``, ``metadata``, ``reasoning``, ...).
    """

    id: str | None = None
    object: str = "response"
    created_at: int | float | None = None  # the API sends an int: kept as sent
    status: str | None = None
    error: Any = None
    incomplete_details: Any = None
    model: str | None = None
    output: tuple[dict[str, Any], ...] = ()
    usage: dict[str, Any] | None = None
    extra: Extra = _extra()

    @property
    def output_text(self) -> str:
        """The text of every ``output_text`` part of the message items, concatenated (the
        SDK's ``Response.output_text``)."""
        return "".join(
            part.get("text") or ""
            for item in self.output
            if item.get("type") == "message"
            for part in item.get("content") or ()
            if type(part) is dict and part.get("type") == "output_text"
        )

    @property
    def is_complete(self) -> bool:
        """True when the response reached a final status (``completed`` or ``incomplete``)."""
        return self.status in ("completed", "incomplete")


@frozen(kw_only=True, repr=False)
class AnthropicMessage(_Repr):
    """A complete Anthropic Messages API ``message``, the shape a non-streamed
    ``POST /v1/messages`` returns.

    ``content`` holds the content blocks as plain JSON (``text``, ``thinking``,
    ``redacted_thinking``, ``tool_use``, ``server_tool_use``, the server tools' results, ...),
    each tool block's ``input`` parsed; ``extra`` every other key (``container``, ...).
    """

    id: str | None = None
    type: str = "message"
    role: str = "assistant"
    model: str | None = None
    content: tuple[dict[str, Any], ...] = ()
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: dict[str, Any] | None = None
    extra: Extra = _extra()

    @property
    def text(self) -> str:
        """The text of every ``text`` block, concatenated."""
        return "".join(
            block.get("text") or "" for block in self.content if block.get("type") == "text"
        )

    @property
    def is_complete(self) -> bool:
        """True when the message has a ``stop_reason`` (``max_tokens`` and ``refusal`` too)."""
        return self.stop_reason is not None
