"""The shared list of hostile strings (/work/shared/hostile-strings.txt), decoded.

Never copied into the repository: tests read it where it lives and skip, saying why,
when it is absent.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

HOSTILE_FILE = Path("/work/shared/hostile-strings.txt")
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|[nrt\\])")
_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\"}


def _decode(line: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        return _SIMPLE.get(code) or chr(int(code[1:], 16))

    return _ESCAPE.sub(one, line)


def load() -> list[str]:
    """The strings, decoded (empty when the file is absent)."""
    if not HOSTILE_FILE.exists():
        return []
    return [_decode(line) for line in HOSTILE_FILE.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith(";; ")]


HOSTILE = load()


def require() -> list[str]:
    if not HOSTILE:
        pytest.skip(f"{HOSTILE_FILE} is absent: the hostile-string seeds live there and "
                    "are not copied into the repository")
    return HOSTILE
