"""Reads a PDF the way a checker without fpdf2 would: page count from the page tree, text from
the (Flate-compressed) content streams' string operands. Enough for PDFs drawn with the core
fonts, where every shown string is a literal `(...)` operand of `Tj`/`TJ` in WinAnsiEncoding
(Windows-1252)."""

from __future__ import annotations

import re
import zlib

# fpdf2 ends a stream's data with "\n" alone: a compressed stream whose last byte is "\r" must
# keep it (an optional "\r?" before "\n" here once ate it, and the text of that page vanished)
STREAM = re.compile(rb"stream\r?\n(.*?)\nendstream", re.S)
SHOWN = re.compile(rb"\[((?:[^\]\\]|\\.)*)\]\s*TJ|\(((?:[^()\\]|\\.)*)\)\s*Tj", re.S)
LITERAL = re.compile(rb"\(((?:[^()\\]|\\.)*)\)", re.S)
ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"(": b"(", b")": b")", b"\\": b"\\"}


def _unescape(raw: bytes) -> str:
    out = re.sub(rb"\\([nrt()\\])", lambda m: ESCAPES[m.group(1)], raw)
    out = re.sub(rb"\\([0-7]{1,3})", lambda m: bytes([int(m.group(1), 8)]), out)
    return "".join(
        bytes([b]).decode("cp1252", errors="replace").replace("\ufffd", chr(b)) for b in out
    )


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))


def content_streams(pdf: bytes) -> list[bytes]:
    out = []
    for raw in STREAM.findall(pdf):
        try:
            out.append(zlib.decompressobj().decompress(raw))  # ignores anything after the end
        except zlib.error:
            out.append(raw)
    return out


def page_lines(pdf: bytes) -> list[list[str]]:
    """The shown strings of each content stream that shows any, in drawing order."""
    pages = []
    for stream in content_streams(pdf):
        shown = []
        for array, single in SHOWN.findall(stream):
            if array:
                shown.append("".join(_unescape(s) for s in LITERAL.findall(array)))
            else:
                shown.append(_unescape(single))
        if shown:
            pages.append(shown)
    return pages


def text(pdf: bytes) -> str:
    return "\n".join(line for page in page_lines(pdf) for line in page)
