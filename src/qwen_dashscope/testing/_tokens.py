"""Deterministic token counting and text splitting used by the emulator.

The real service uses the Qwen BPE tokenizer; the emulator only needs counts that are stable,
monotonic while text grows, and easy to predict in tests:

* every CJK character (Han, kana, hangul) is one token;
* every other maximal run of word characters (letters, digits, ``_``) is one token;
* every other non-space character (punctuation, emoji, symbols) is one token;
* whitespace is free.
"""

from __future__ import annotations

import re

CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
TOKEN_RE = re.compile(rf"[{CJK_RANGES}]|(?:(?![{CJK_RANGES}])\w)+|[^\w\s]")


def count_tokens(text: str) -> int:
    """Number of emulator tokens in ``text``."""
    return len(TOKEN_RE.findall(text))


_WORD_CHAR = re.compile(rf"(?![{CJK_RANGES}])\w")


def count_tokens_joined(left: str, left_tokens: int, right: str) -> int:
    """``count_tokens(left + right)`` from ``left``'s count, without recounting ``left``.

    Tokens are local: a CJK character, a punctuation character or a word run never spans
    whitespace, so the only token that can cross the seam is a word run on both sides of it,
    which then counts once. (A stream's usage is counted this way event by event; recounting
    the whole text on every event made long streams quadratic.)
    """
    tokens = left_tokens + count_tokens(right)
    if left and right and _WORD_CHAR.match(left[-1]) and _WORD_CHAR.match(right[0]):
        tokens -= 1
    return tokens


def truncate_tokens(text: str, limit: int) -> str:
    """Longest prefix of ``text`` holding at most ``limit`` tokens (cut before token limit+1)."""
    for i, match in enumerate(TOKEN_RE.finditer(text)):
        if i == limit:
            return text[: match.start()]
    return text


CHUNK_CHARS = 4
"""Characters per stream event when a reply does not say how many events to use."""


def split_every(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """Consecutive pieces of ``size`` characters (the last may be shorter); [] for ""."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def split_text(text: str, pieces: int) -> list[str]:
    """Split ``text`` into ``pieces`` non-empty parts of near-equal length (fewer if too short).

    Splits on ``str`` indices, so a multi-byte character is never cut; an empty text gives [].
    """
    if not text:
        return []
    pieces = max(1, min(pieces, len(text)))
    base, extra = divmod(len(text), pieces)
    out: list[str] = []
    pos = 0
    for i in range(pieces):
        size = base + (1 if i < extra else 0)
        out.append(text[pos : pos + size])
        pos += size
    return out
