"""The assistant message of a completion, as the next request takes it back."""

from __future__ import annotations

from typing import Any, Final

from . import _model as m
from ._convert import to_dict
from ._errors import UsageError

__all__ = ["to_message"]

# Keys of ``message.extra`` a provider wants back: DeepSeek's and vLLM's ``reasoning_content``,
# OpenRouter's ``reasoning_details`` and ``reasoning`` (Ollama's too), Gemini's ``extra_content``
# (thought signatures; on tool calls they are kept with every other key of the call).
_SENT_BACK: Final = ("reasoning_content", "reasoning_details", "reasoning", "extra_content")


def to_message(completion: m.ChatCompletion, choice: int = 0) -> dict[str, Any]:
    """Return the assistant message of choice ``choice`` as the plain dict a request takes.

    The dict has ``role`` and ``content`` (``None`` when there was no text), then only what the
    message carries: ``tool_calls`` with every key they came with (Gemini's
    ``extra_content.google.thought_signature`` must go back), the legacy ``function_call``,
    ``refusal``, ``audio`` as ``{"id": ...}`` (later turns refer to audio by id), and the provider
    fields that must go back, under the name they came with: ``reasoning_content``,
    ``reasoning_details``, ``reasoning`` and Gemini's ``extra_content``. ``annotations``, ``index``
    and other keys of the message are left out. (DeepSeek needs ``reasoning_content`` back after
    a tool call and ignores it otherwise.)

    ``choice`` is the choice's ``index``. Raises :class:`UsageError` when the completion has no
    choice with that index, ``TypeError`` for anything but a :class:`ChatCompletion`.
    """
    if not isinstance(completion, m.ChatCompletion):
        raise TypeError(
            f"to_message takes a streamfold ChatCompletion, not {type(completion).__name__}"
        )
    for c in completion.choices:
        if c.index == choice:
            message = c.message
            break
    else:
        have = ", ".join(str(c.index) for c in completion.choices) or "none"
        raise UsageError(f"the completion has no choice {choice} (choices: {have})")

    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:  # the API refuses an empty list
        out["tool_calls"] = [to_dict(call) for call in message.tool_calls]
    if message.function_call is not None:
        out["function_call"] = to_dict(message.function_call)
    if message.refusal is not None:
        out["refusal"] = message.refusal
    if message.audio is not None and message.audio.id:
        out["audio"] = {"id": message.audio.id}
    extra = message.extra
    if extra:
        for name in _SENT_BACK:
            value = extra.get(name)
            if value is not None:
                out[name] = to_dict(value)
    return out
