"""The openai SDK, in and out: streamfold objects to the SDK's pydantic models and back.

This is the edge, not the hot path (the fold reads SDK chunks by attribute, see ``_fold.py``):
both directions go through plain data, ``to_dict`` / ``from_dict`` on streamfold's side and
``model_validate`` / ``model_dump`` on the SDK's, so keys either side does not name survive the
trip. ``openai`` is an optional extra and is imported on first use, never by ``import streamfold``.

Tested with openai 1.40.0 (on pydantic 1.10 and 2.14), 2.54.0 and 3.54.0 (on pydantic 2.14).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, overload

from . import _model as m
from ._convert import from_dict, import_extra, schema_error, to_dict

if TYPE_CHECKING:
    import openai.types
    import openai.types.chat
    import openai.types.responses

__all__ = ["from_openai", "to_openai"]


def _sdk() -> Any:
    """``openai.types``, or ``ModuleNotFoundError`` naming the extra that installs it."""
    return import_extra(
        "streamfold's openai interop", "openai", "openai", "openai.types", "openai.types.chat"
    ).types


def _pairs() -> tuple[tuple[type, Any], ...]:
    """(streamfold class, openai class) pairs."""
    sdk = _sdk()
    pairs: tuple[tuple[type, Any], ...] = (
        (m.ChatCompletion, sdk.chat.ChatCompletion),
        (m.ChatCompletionChunk, sdk.chat.ChatCompletionChunk),
        (m.TextCompletion, sdk.Completion),
    )
    try:  # the Responses API's types came with openai 1.66
        import openai.types.responses
    except ImportError:  # pragma: no cover - an older SDK
        return pairs
    return (*pairs, (m.Response, openai.types.responses.Response))


@overload
def to_openai(
    obj: m.ChatCompletion, *, validate: bool = True
) -> openai.types.chat.ChatCompletion: ...
@overload
def to_openai(
    obj: m.ChatCompletionChunk, *, validate: bool = True
) -> openai.types.chat.ChatCompletionChunk: ...
@overload
def to_openai(obj: m.TextCompletion, *, validate: bool = True) -> openai.types.Completion: ...
@overload
def to_openai(obj: m.Response, *, validate: bool = True) -> openai.types.responses.Response: ...
@overload
def to_openai(
    obj: m.ChatCompletion | m.TextCompletion, *, validate: bool = True
) -> openai.types.chat.ChatCompletion | openai.types.Completion: ...
def to_openai(obj: Any, *, validate: bool = True) -> Any:
    """Return ``obj`` as the openai SDK's model: a ``ChatCompletion`` (or ``ChatCompletionChunk``,
    or legacy ``Completion`` for a ``TextCompletion``, or ``openai.types.responses.Response`` for
    a Responses API :class:`Response`), with every extra key kept.

    With ``validate=True`` the data is checked by the SDK's own schema (``model_validate``); a
    completion that does not fit it, such as a stream that ended before its ``finish_reason``,
    raises :class:`InvalidChunkError` (a ``ValueError``) naming the field. ``validate=False``
    builds the object unchecked, the way the SDK builds every response it receives.

    Raises ``ModuleNotFoundError`` (an ``ImportError``) when openai is not installed, and
    ``TypeError`` for an object that is none of the classes above.
    """
    theirs = next((t for ours, t in _pairs() if type(obj) is ours), None)
    if theirs is None:
        raise TypeError(
            "to_openai takes a streamfold ChatCompletion, ChatCompletionChunk, TextCompletion or"
            " Response,"
            f" not {type(obj).__name__}"
        )
    data = to_dict(obj)
    if not validate:
        # openai's model_construct builds nested models recursively, without checks
        return theirs.model_construct(**data)
    import pydantic

    # pydantic 2's model_validate; the SDK also runs on pydantic 1, whose name is parse_obj
    validate_fn = getattr(theirs, "model_validate", None) or theirs.parse_obj
    try:
        return validate_fn(data)
    except pydantic.ValidationError as exc:
        raise schema_error(exc, f"openai {theirs.__name__}", "to_openai") from exc


@overload
def from_openai(obj: openai.types.chat.ChatCompletion) -> m.ChatCompletion: ...
@overload
def from_openai(obj: openai.types.chat.ChatCompletionChunk) -> m.ChatCompletionChunk: ...
@overload
def from_openai(obj: openai.types.Completion) -> m.TextCompletion: ...
@overload
def from_openai(obj: openai.types.responses.Response) -> m.Response: ...
def from_openai(obj: Any) -> Any:
    """Return the streamfold twin of an openai SDK object, with every extra key kept.

    An SDK ``ChatCompletion`` gives a :class:`ChatCompletion`, a ``ChatCompletionChunk`` a
    :class:`ChatCompletionChunk`, a legacy ``Completion`` a :class:`TextCompletion`, a Responses
    API ``openai.types.responses.Response`` a :class:`Response`. Only the
    keys the object was given are read (``exclude_unset``), so nothing is invented.

    Raises ``TypeError`` for any other object, :class:`InvalidChunkError` when the object holds
    data streamfold's model cannot take, and ``ModuleNotFoundError`` without openai.
    """
    ours = next((o for o, theirs in _pairs() if isinstance(obj, theirs)), None)
    if ours is None:
        raise TypeError(
            "from_openai takes an openai ChatCompletion, ChatCompletionChunk, Completion or"
            " responses.Response,"
            f" not {type(obj).__name__}"
        )
    import pydantic

    sdk_obj: Any = obj
    options: dict[str, Any] = {"by_alias": True, "exclude_unset": True}
    if not pydantic.VERSION.startswith("1."):  # options the SDK's pydantic 1 shim refuses
        # an object the SDK built unchecked may hold values its schema does not allow (a null
        # finish_reason): dump them as they are, without a serializer warning
        options.update(mode="json", warnings=False)
    return from_dict(ours, sdk_obj.model_dump(**options))
