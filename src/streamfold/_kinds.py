"""How an event ended, for the one rule of when a stream in a log ends (``_logs.StreamEnd``).

A leaf module: the dialect cores' ``event_kind`` functions return these, and the log readers,
which import the cores, read them (so no core imports the readers).
"""

from __future__ import annotations

from typing import Final

__all__ = ["CHOICES", "CLOSE", "FAILED", "FINISH", "IDLE", "INVALID"]

IDLE: Final = 0  # no choices and no usage: nothing ends
CLOSE: Final = 1  # no choices, a usage: the include_usage chunk, the last of its stream
CHOICES: Final = 2  # choices, none finishing
FINISH: Final = 3  # a choice finishes: the stream may be complete
INVALID: Final = 4  # the core refused the chunk (InvalidChunkError), or its line was cut
FAILED: Final = 5  # the chunk carried a server error (StreamError)
