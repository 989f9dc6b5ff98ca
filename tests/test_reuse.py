"""Sources hand out unchanged records as the same objects; a failed poll is forgotten."""

from __future__ import annotations

from supervisor_tui.sources.reuse import Reuse


def test_same_key_same_object_new_key_new_object() -> None:
    reuse: Reuse[list[str]] = Reuse()
    reuse.begin()
    a = reuse.get("a1", ("Ana", "available"), lambda: ["Ana"])
    reuse.commit()
    reuse.begin()
    assert reuse.get("a1", ("Ana", "available"), lambda: ["other"]) is a
    assert "a1" in reuse
    reuse.commit()
    reuse.begin()
    changed = reuse.get("a1", ("Ana", "away"), lambda: ["Ana away"])
    assert changed is not a and changed == ["Ana away"]
    # the poll fails before commit: the last good poll's objects stay the reference
    assert reuse.last("a1") is a
    reuse.begin()
    assert reuse.get("a1", ("Ana", "available"), lambda: ["other"]) is a
