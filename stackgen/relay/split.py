"""Split a message into parts that each fit an API's byte limit, between alerts, never mid-character.

Parts are numbered "(1/3)" at the end of the header's first line (and of the title, by the
channel). An alert too large for a part on its own is cut between lines, and a line too large is
cut between characters: the text is a `str`, so a cut can never fall inside a UTF-8 sequence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

Size = Callable[[str], int]

DINGTALK_LIMIT = 20_000  # bytes of markdown.text
WECOM_MARKDOWN_LIMIT = 4_096  # bytes of markdown.content
WECOM_TEXT_LIMIT = 2_048  # bytes of text.content
FEISHU_LIMIT = 20 * 1024  # bytes of the whole request body

SEPARATOR = "\n\n"
# Room kept for " (999/999)": the numbering is only known once the parts are counted.
NUMBER_RESERVE = len(" (999/999)")


def utf8_size(text: str) -> int:
    """Bytes of text in UTF-8: what the chat APIs count."""
    return len(text.encode("utf-8"))


@dataclass(frozen=True)
class Part:
    """One API request's worth of text."""

    number: int
    total: int
    text: str

    @property
    def label(self) -> str:
        """`(2/3)`, or empty when the message was not split."""
        return f"({self.number}/{self.total})" if self.total > 1 else ""


def split_message(
    header: str, chunks: Sequence[str], footer: str, limit: int, size: Size = utf8_size
) -> list[Part]:
    """Pack header, chunks and footer into as few parts as fit `limit` (measured by `size`).

    `size` must be additive over concatenation (UTF-8 bytes are; so is JSON-escaped length without
    the quotes), which lets the packing measure pieces one by one.
    """
    sep = size(SEPARATOR)
    header = _fit(header, max(limit // 4, 1), size) if header else ""
    footer = _fit(footer, max(limit // 4, 1), size) if footer else ""
    fixed = NUMBER_RESERVE + (size(header) + sep if header else 0) + (size(footer) + sep if footer else 0)
    budget = limit - fixed
    if budget <= sep:
        raise ValueError(f"limit {limit} leaves no room for alerts")

    pieces: list[str] = []
    for chunk in chunks:
        if not chunk:
            continue
        pieces.extend([chunk] if size(chunk) + sep <= budget else cut(chunk, budget - sep, size))

    groups: list[list[str]] = []
    used = budget + 1  # forces a first group
    for piece in pieces:
        cost = size(piece) + sep
        if used + cost > budget:
            groups.append([])
            used = 0
        groups[-1].append(piece)
        used += cost
    if not groups:
        groups = [[]]

    total = len(groups)
    parts = []
    for number, group in enumerate(groups, start=1):
        head = number_first_line(header, number, total)
        text = SEPARATOR.join(p for p in (head, *group, footer) if p)
        parts.append(Part(number, total, text))
    return parts


def number_first_line(text: str, number: int, total: int) -> str:
    """Put "(n/N)" at the end of the first line of text (nothing when N is 1)."""
    if total <= 1:
        return text
    label = f" ({number}/{total})"
    if not text:
        return label.strip()
    first, newline, rest = text.partition("\n")
    return f"{first}{label}{newline}{rest}"


def cut(text: str, limit: int, size: Size = utf8_size) -> list[str]:
    """Cut text into pieces of at most `limit`, between lines where possible, else between characters."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if size(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        while size(line) > limit:
            head = _longest_prefix(line, limit, size)
            pieces.append(head)
            line = line[len(head) :]
        current = line
    if current:
        pieces.append(current)
    return pieces


def _fit(text: str, limit: int, size: Size) -> str:
    """Text shortened to `limit` with an ellipsis, for headers and footers that are too long."""
    if size(text) <= limit:
        return text
    return _longest_prefix(text, limit - size("…"), size) + "…"


def _longest_prefix(text: str, limit: int, size: Size) -> str:
    """The longest prefix (in characters) of text whose size is at most limit; at least one character."""
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if size(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return text[:low]
