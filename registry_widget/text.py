"""Text is text (SPEC §10): the character checks every text field shares, and the wording.

Control characters, lone surrogates, bidirectional controls and characters that draw
nothing are refused wherever a person types text that another person will read: names,
aliases, tags, types, paths, descriptions, filter values. :func:`fail` words every
refusal of the text rules the same way: the field, the value as given (cut short), what
is wrong and what would be allowed. :mod:`registry_widget.names`,
:mod:`registry_widget.paths` and :mod:`registry_widget.metadata` build on this module.

This module is pure: no I/O, no store access.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import NoReturn

from registry_widget.errors import ValidationError

__all__ = [
    "CONTROL",
    "CONTROL_RE",
    "TEXT_RULE",
    "char",
    "check_visible",
    "fail",
    "lone_surrogate",
    "nfc_text",
    "plural",
    "quoted",
    "refuse_surrogates",
    "require_str",
    "show",
]

# Control characters: Unicode category Cc (U+0000-U+001F, U+007F-U+009F) plus the
# line and paragraph separators, which also break lines when displayed.
CONTROL = "\x00-\x1f\x7f-\x9f\u2028\u2029"
CONTROL_RE = re.compile(rf"[{CONTROL}]")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
# Bidirectional controls (category Cf): they reorder what is displayed around them.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties) that are not of category Cf,
# plus U+2800 BRAILLE PATTERN BLANK: characters that draw nothing.
_INVISIBLE_RANGES = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors and vowel separator
    (0x2065, 0x2065),
    (0x2800, 0x2800),  # braille pattern blank
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE0FFF),  # tags and variation selectors supplement
)
# Zero-width joiners and variation selectors have a visible job inside a word: joiners
# between two visible characters (emoji sequences, Indic and Arabic scripts), variation
# selectors right after a visible character (emoji or text presentation).
_JOINERS = frozenset("\u200c\u200d")
_SELECTORS_RANGES = ((0x180B, 0x180D), (0x180F, 0x180F), (0xFE00, 0xFE0F), (0xE0100, 0xE01EF))

TEXT_RULE = "invisible or bidirectional control characters"


def show(value: object) -> str:
    """Return ``repr(value)`` cut to about 60 characters for error messages."""
    try:
        text = repr(value[:80]) if isinstance(value, str) else repr(value)
    except RecursionError:
        text = f"<{type(value).__name__} nested too deeply to show>"
    return text if len(text) <= 60 else text[:57] + "..."


def fail(
    field: str, value: object, problem: str, rule: str, code: str | None = None, **params: object
) -> NoReturn:
    """Raise the :class:`ValidationError` for ``value`` of ``field``: what is wrong, the rule.

    With ``code``, the error also carries the refusal's facts (``params``) so that an
    interface can word it in its own terms.
    """
    msg = f"{field} {show(value)} {problem}; {rule}"
    error = ValidationError(msg, field=field, value=value)
    if code is not None:  # a common refusal: its facts, for an interface to word it
        error.with_code(code, field=field, rule=rule, **params)
    raise error


def char(ch: str) -> str:
    """Show one character for a message: its repr and its code point."""
    return f"{ch!r} (U+{ord(ch):04X})"


def require_str(value: object, field: str, rule: str) -> str:
    """Return ``value`` if it is a string; refuse any other type."""
    if not isinstance(value, str):
        fail(field, value, f"is of type {type(value).__name__}, not a string", rule)
    return str(value)


def lone_surrogate(text: str) -> int | None:
    """Return the position of the first lone surrogate in ``text``, or None.

    A lone surrogate (U+D800-U+DFFF) is not a Unicode character: UTF-8 cannot encode it,
    so no text that holds one can be stored, compared or displayed.
    """
    if text.isascii():
        return None
    bad = _SURROGATE_RE.search(text)
    return None if bad is None else bad.start()


def nfc_text(value: object, field: str, rule: str) -> str:
    """Return ``value`` NFC-normalised, refusing a non-string and lone surrogates."""
    text = require_str(value, field, rule)
    refuse_surrogates(text, value, field, rule)
    return unicodedata.normalize("NFC", text)


def refuse_surrogates(text: str, value: object, field: str, rule: str) -> None:
    """Refuse ``text`` if it holds a lone surrogate, naming its code point and position."""
    at = lone_surrogate(text)
    if at is not None:
        problem = (
            f"contains the lone surrogate U+{ord(text[at]):04X} at position {at}, "
            "which is not a character (UTF-8 cannot encode it)"
        )
        fail(field, value, problem, rule)


def _in_ranges(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= code <= high for low, high in ranges)


def _is_invisible(ch: str) -> bool:
    """Tell whether ``ch`` draws nothing: a format character (Cf) or a default-ignorable."""
    return unicodedata.category(ch) == "Cf" or _in_ranges(ord(ch), _INVISIBLE_RANGES)


def check_visible(text: str, value: object, field: str, rule: str) -> None:
    """Refuse bidirectional controls and invisible characters (SPEC §10 "Text is text").

    Zero-width (non-)joiners between two visible characters and variation selectors right
    after a visible character are kept: emoji sequences and several scripts need them.
    """
    if text.isascii():
        return
    previous = ""  # "visible", "selector", "joiner" or "" (start of the text)
    for i, ch in enumerate(text):
        if not _is_invisible(ch):
            previous = "visible"
            continue
        if previous == "visible" and _in_ranges(ord(ch), _SELECTORS_RANGES):
            previous = "selector"
            continue
        if (
            ch in _JOINERS
            and previous in {"visible", "selector"}
            and i + 1 < len(text)
            and not _is_invisible(text[i + 1])
        ):
            previous = "joiner"
            continue
        name = unicodedata.name(ch, "")
        shown = f"U+{ord(ch):04X}" + (f" {name}" if name else "")
        kind = "bidirectional control" if ch in _BIDI else "invisible character"
        fail(field, value, f"contains the {kind} {shown} at position {i}", rule)


def plural(n: int, word: str) -> str:
    """``n`` and ``word``, with an ``s`` unless ``n`` is one."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def quoted(names: Iterable[object]) -> str:
    """Names for a message, each quoted as a message quotes one name, joined by commas.

    ``quoted(["cats", "dogs"])`` is ``'cats', 'dogs'``: never a list's repr, which reads as
    code to a person.
    """
    return ", ".join(repr(str(name)) for name in names)
