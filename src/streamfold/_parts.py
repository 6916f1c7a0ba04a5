"""Fragment lists: text pieces appended as they stream in and joined once, when read.

Every field that concatenates (content, refusal, tool arguments, audio, unknown strings inside a
delta) is held as a list of its pieces. A long list is compacted now and then (see
``compact_parts``): its loose pieces are joined into a block kept in a list at position 0, so
that the text is copied once there and once in the final join, never over and over.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

__all__ = ["COMPACT_OVER", "compact_parts", "extend_parts", "join_parts"]

COMPACT_OVER: Final = 1024  # fragment lists longer than this are joined into a block


def join_parts(parts: Sequence[Any]) -> str:
    """Join a fragment list; a compacted list holds its earlier blocks in a list at [0]."""
    if parts and type(parts[0]) is list:
        # one join: concatenating two joins would hold three copies of the text at once
        return "".join([*parts[0], *parts[1:]])
    return "".join(parts)


def compact_parts(parts: list[Any]) -> None:
    """Join a long fragment list's loose pieces into one block, keeping earlier blocks apart.

    Joining everything each time would copy the text over and over (quadratic); blocks keep
    each character copied once here and once in the final join.
    """
    if len(parts) <= COMPACT_OVER:
        return
    if type(parts[0]) is list:
        blocks = parts[0]
        blocks.append("".join(parts[1:]))
    else:
        blocks = ["".join(parts)]
    parts[:] = [blocks]


def extend_parts(ours: list[Any], theirs: Sequence[Any]) -> None:
    """Append another fragment list's pieces to ``ours`` (its blocks unpacked, in order)."""
    if theirs and type(theirs[0]) is list:  # compacted blocks sit at [0]
        ours.extend(theirs[0])
        ours.extend(theirs[1:])
    else:
        ours.extend(theirs)
