"""HTTP Range requests (RFC 9110 section 14) for one representation of known length.

Answers, as this server documents them:
- no Range, a Range the server does not understand (another unit, bad syntax, end before start) -> the
  whole body, 200 (the RFC says to ignore such a header);
- one satisfiable range (`a-b`, `a-`, `-n`; b is clipped to the last byte) -> 206 with Content-Range;
- one range that starts past the end, or `-0` -> 416 with `Content-Range: bytes */size`;
- a suffix range `-n` (n > 0) of an empty representation -> the whole (empty) body, 200: RFC 9110 calls it
  satisfiable, but no 206 can describe zero bytes;
- several ranges -> the whole body, 200 (allowed by the RFC; the worker only asks for one, and this
  keeps multipart/byteranges out of the server).
"""
import re
from dataclasses import dataclass

_SPEC = re.compile(r"^[ \t]*([0-9]*)[ \t]*-[ \t]*([0-9]*)[ \t]*$")


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def _int(digits: str) -> int:
    """A decimal position or length of any length. Python's int() refuses strings of more than 4300
    digits (such a Range got a 500, found by tests/server/test_hostile.py), so long ones go in pieces;
    the header size limit (serving.py) bounds the work."""
    digits = digits.lstrip("0") or "0"
    value = 0
    for i in range(0, len(digits), 4000):
        piece = digits[i:i + 4000]
        value = value * 10 ** len(piece) + int(piece)
    return value


class Unsatisfiable(Exception):
    """The one range asked for lies outside the representation: answer 416."""


def range_parse(header: str | None, size: int) -> ByteRange | None:
    """The range to send, or None for the whole body; raises Unsatisfiable for a 416."""
    if header is None:
        return None
    unit, sep, specs = header.partition("=")
    if not sep or unit.strip().lower() != "bytes" or "," in specs:
        return None
    m = _SPEC.match(specs)
    if not m or m.groups() == ("", ""):
        return None
    first, last = m.groups()
    if first == "":  # suffix: the last n bytes
        n = _int(last)
        if n == 0:
            raise Unsatisfiable
        if size == 0:
            return None
        return ByteRange(max(0, size - n), size - 1)
    start = _int(first)
    if last and _int(last) < start:
        return None
    if start >= size:
        raise Unsatisfiable
    return ByteRange(start, min(_int(last), size - 1) if last else size - 1)
