"""The ranges of integer request fields, checked in one place.

Every integer a client or an app server sends is checked against its range where the request
is parsed (a REST body in rest_v4/fields.py, a WebSocket frame in frames.py). An out-of-range
number is then the caller's error, answered with the caller's invalid-parameter code and a
message naming the field and the range, and never an overflow further in: protobuf refuses
negative or too large values for uint32/uint64 fields (ValueError), SQLite refuses integers past
2**63-1 (OverflowError) and Cassandra's bigint is signed 64-bit too. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from services.common.errors import ErrorCode, TidingsError

UINT32_MAX = 0xFFFF_FFFF
INT64_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class IntRange:
    """An inclusive range of integers."""

    low: int
    high: int

    def __str__(self) -> str:
        return f"[{self.low}, {self.high}]"


# Tencent's 32-bit unsigned integers: MsgRandom, Unix times in seconds, counts, offsets, bit sets.
UINT32 = IntRange(0, UINT32_MAX)
# Message seqs, list cursors and change sequences: unsigned 64-bit on the wire (Tencent's, our
# protobufs) but stored signed (SQLite INTEGER, Cassandra bigint), so the stored range is the
# one that holds.
STORED_U64 = IntRange(0, INT64_MAX)
# A seq that names a message: seqs start at 1.
MSG_SEQ = IntRange(1, INT64_MAX)
# Tencent's 0/1 switches (IsNeedDetail, Silence, ForceAddFlags...).
FLAG = IntRange(0, 1)
# SDKAppIDs have at most 10 digits (1400000000 and up).
SDKAPPID = IntRange(0, 9_999_999_999)


def checked_int(value: Any, name: str, within: IntRange, code: ErrorCode) -> int:
    """`value` if it is an integer (not a bool) in `within`; TidingsError(code) otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TidingsError(code, f"{name} must be an integer in {within}")
    if not within.low <= value <= within.high:
        raise TidingsError(code, f"{name} must be in {within}")
    return value


_DIGITS = re.compile(r"[0-9]+")


def parse_decimal(text: str, name: str, within: IntRange, code: ErrorCode) -> int:
    """A decimal number written in a string (a MsgKey part, the url's sdkappid). Only ASCII
    digits: str.isdigit() also takes "²", which int() refuses. And no longer than the range's
    largest value, so int() never meets the 4,300-digit strings it refuses too."""
    if not _DIGITS.fullmatch(text) or len(text) > len(str(within.high)):
        raise TidingsError(code, f"{name} must be an integer in {within}")
    return checked_int(int(text), name, within, code)
