"""Wall-clock stamps for the log, the progress events and the result files.

``time.strftime`` and the fraction of a second by hand, not ``datetime``: the
simulator's process starts for every run, these three stamps are all it needs of the
module, and its import took 1.8 ms under ``-X importtime``. Tests compare the stamps
with ``datetime``'s and the log's with ``logging``'s.
"""

from __future__ import annotations

import time


def stamp(pattern: str, now: float, digits: int, separator: str, *, utc: bool = False) -> str:
    """``now`` (seconds since the epoch) as ``time.strftime``'s ``pattern``, then
    ``separator`` and its fraction of a second, truncated to ``digits`` digits (as
    ``datetime`` and ``logging`` truncate theirs); local time unless ``utc``."""
    parts = time.gmtime(now) if utc else time.localtime(now)
    fraction = int((now - int(now)) * 10**digits)
    return f"{time.strftime(pattern, parts)}{separator}{fraction:0{digits}d}"


def utc_timestamp() -> str:
    """Now, as ISO-8601 in UTC with milliseconds and an explicit offset."""
    return stamp("%Y-%m-%dT%H:%M:%S", time.time(), 3, ".", utc=True) + "+00:00"
