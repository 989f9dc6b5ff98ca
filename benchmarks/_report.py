"""Shared output for the benchmark scripts: JSON for machines, aligned text for notes."""

from __future__ import annotations

import json
from typing import Any


def report(results: list[dict[str, Any]], as_json: bool, width: int = 22) -> None:
    if as_json:
        print(json.dumps(results, indent=2))
        return
    for result in results:
        result = dict(result)
        print(result.pop("case"))
        for key, value in result.items():
            print(f"  {key:{width}} {value}")
