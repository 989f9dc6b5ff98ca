"""Vendors, tiers and scopes in the pure layer: attribution, per-vendor and per-tier
figures against the hand-computed centre (tests/vendor_centre.py), counts that add up,
rates within 100%, the scope narrowing a snapshot and refusing actions outside it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervisor_tui.config import ConfigError, parse_config
from supervisor_tui.config.vendors import tier_targets, vendor_rules
from supervisor_tui.domain.board import DAY, INTERVAL, SLStatus, build_board
from supervisor_tui.domain.model import QueueStats, SLFormula, Tier
from supervisor_tui.domain.scope import Scope, narrow
from supervisor_tui.domain.tiers import (
    TierBook,
    centre_tiers,
    queue_tiers,
    split,
)
from supervisor_tui.domain.vendors import Miss, attribute, vendor_figures
from tests.helpers import T0, centre
from tests.vendor_centre import VENDOR_CONFIG, vendor_centre

CONFIG = parse_config(VENDOR_CONFIG)
RULES = vendor_rules(CONFIG.vendors, SLFormula.ANSWERED_AND_ABANDONED_AFTER)
TARGETS = tier_targets(CONFIG.tiers)


# -- attribution -------------------------------------------------------------------

def test_config_wins_then_the_source_names_the_vendor() -> None:
    board = build_board(vendor_centre())
    att = attribute(board, RULES)
    # Sales says "Globex Manila", but the config lists it under acme: config wins.
    assert att.queues == {"sales": "acme", "support": "globex"}
    by_id = {a.id: att.agents.get(id(a)) for a in board.snapshot.agents}
    # Team Red -> acme; a5's source site "Offshore" names a vendor nobody configured.
    assert by_id == {"a1": "acme", "a2": "acme", "a3": None, "a4": None, "a5": "Offshore"}
    assert att.order == ("acme", "globex", "Offshore")


def test_agent_id_patterns_and_no_vendor_at_all() -> None:
    cfg = parse_config({"vendors": {"b": {"agents": ["a[34]"]}}})
    board = build_board(centre())
    att = attribute(board, vendor_rules(cfg.vendors, SLFormula.ANSWERED))
    assert sorted(a.id for a in board.snapshot.agents if id(a) in att.agents) == ["a3", "a4"]
    assert att.queues == {}
    assert attribute(board, ()).order == ()  # no config, no site: no vendor


def test_config_errors_are_said() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"vendors": {"a": {"queues": ["q"]}, "b": {"queues": ["q"]}}})
    assert "queue 'q' is in both 'a' and 'b'" in str(err.value)
    with pytest.raises(ConfigError, match="unknown tier"):
        parse_config({"tiers": {"platinum": {"sl_target": 0.9}}})
    with pytest.raises(ConfigError, match="empty scope"):
        parse_config({"roles": {"scopes": {"bob": []}}})
    with pytest.raises(ConfigError, match="abandon_max"):
        parse_config({"vendors": {"a": {"contract": {"abandon_max": 5}}}})


# -- per-vendor figures -------------------------------------------------------------

def test_vendor_figures_by_hand() -> None:
    board = build_board(vendor_centre())
    acme, globex, offshore = vendor_figures(board, RULES, INTERVAL)
    # Acme = Sales: SL 24/(30+2) = 75% vs 70% (met); AHT 240 s > 200 s and abandon
    # (6-2)/(40-2) = 10.5% > 5%: missed. Agents: team Red (a1 available, a2 on contact).
    assert acme.name == "Acme BPO"
    assert acme.sl == pytest.approx(0.75) and acme.sl_n == 32
    assert acme.figures is not None and acme.figures.aht_s == pytest.approx(240)
    assert acme.figures.abandon_rate == pytest.approx(4 / 38)
    assert acme.misses == {Miss.AHT, Miss.ABANDON}
    assert (acme.agents.available, acme.agents.on_contact, acme.agents.staffed) == (1, 1, 2)
    assert not acme.agents_from_queues and acme.other_thresholds == ()
    # Globex = Support (by its source's site): 10/10 = 100% vs 90%; no agent of its own,
    # so Support's agents count (a2, a3, a4); its 60 s threshold is not the contract's 30.
    assert globex.sl == 1.0 and globex.misses == frozenset()
    assert globex.agents_from_queues and globex.agents.staffed == 3
    assert globex.other_thresholds == ("support",)
    # Offshore: one agent, no queue, no contract: nothing to miss.
    assert offshore.contract is None and offshore.figures is None
    assert offshore.agents.available == 1 and offshore.misses == frozenset()


def test_contract_formula_and_adherence() -> None:
    cfg = parse_config({"vendors": {"acme": {
        "queues": ["sales"], "contract": {"sl_target": 0.7, "sl_formula": "offered",
                                          "adherence_min": 0.9}}}})
    rules = vendor_rules(cfg.vendors, SLFormula.ANSWERED_AND_ABANDONED_AFTER)
    board = build_board(centre())
    (acme,) = vendor_figures(board, rules, DAY, adherence=lambda agents: 0.85)
    # Answered within / offered: 24/40 = 60% < 70% (missed); adherence 85% < 90%.
    assert acme.sl == pytest.approx(0.6) and acme.sl_n == 40
    assert acme.misses == {Miss.SL, Miss.ADHERENCE}
    assert acme.adherence == 0.85


# -- tiers -------------------------------------------------------------------------

def test_tier_block_by_hand_and_counts_add_up() -> None:
    board = build_board(vendor_centre())
    block = queue_tiers(board, board.rows_by_id["sales"], INTERVAL, TARGETS)
    assert block.reported and block.problem is None
    vip, gold, std = block.tiers
    assert (vip.tier, gold.tier, std.tier) == (Tier.VIP, Tier.GOLD, Tier.STANDARD)
    assert vip.service_level == pytest.approx(7 / 9) and vip.n == 9
    assert vip.target == 0.9 and vip.status is SLStatus.MISSED
    assert vip.figures.asa_s == pytest.approx(10) and vip.figures.abandon_rate == 0.2
    assert gold.service_level == 1.0 and gold.target == 0.85
    assert gold.figures.asa_s == pytest.approx(5)
    assert std.service_level == pytest.approx(13 / 19) and std.target == 0.8  # queue's
    assert std.figures.asa_s == pytest.approx(200 / 18)
    assert std.figures.abandon_rate == pytest.approx(1 / 23)
    queue = board.rows_by_id["sales"].interval.stats
    for name in ("offered", "answered", "answered_within_threshold", "abandoned",
                 "abandoned_short", "abandoned_after_threshold", "handled", "flowed_out"):
        assert sum(getattr(t.figures.stats, name) for t in block.tiers) == getattr(queue, name)
    assert sum(t.figures.stats.wait_answered_s for t in block.tiers) == pytest.approx(300)
    assert not any(t.threshold_differs for t in block.tiers)


def test_not_reported_and_broken_splits_are_said_not_shown() -> None:
    board = build_board(vendor_centre())
    support = queue_tiers(board, board.rows_by_id["support"], INTERVAL, TARGETS)
    assert not support.reported and support.not_reported_by == ("pbx",)
    assert support.tiers == ()
    snap = vendor_centre()
    big = snap.tier_stats["sales"].model_copy(update={"interval": {
        Tier.VIP: QueueStats(queue_id="sales", window_start=snap.interval_start,
                             offered=41, answered=1)}})
    board = build_board(snap.model_copy(update={"tier_stats": {"sales": big}}))
    broken = queue_tiers(board, board.rows_by_id["sales"], INTERVAL, TARGETS)
    assert broken.tiers == () and broken.problem is not None
    assert "do not add up" in broken.problem


def test_centre_tiers_name_the_queues_left_out_and_configured_thresholds() -> None:
    cfg = parse_config({"tiers": {"vip": {"sl_target": 0.95, "threshold_s": 10}}})
    board = build_board(vendor_centre())
    block = centre_tiers(board, DAY, tier_targets(cfg.tiers))
    assert block.not_reported_by == ("pbx",)  # Support's source gives no split
    vip = block.get(Tier.VIP)
    assert vip is not None and vip.target == 0.95 and vip.offered == 10
    assert vip.threshold_s == 20 and vip.threshold_differs  # counted at 20 s, asked 10 s


def test_rolling_tier_window_is_today_now_less_then() -> None:
    book = TierBook((15,))
    book.observe(vendor_centre(T0))
    book.observe(vendor_centre(T0 + timedelta(minutes=1)))  # 15 min before the last
    later_t = T0 + timedelta(minutes=16)
    later = vendor_centre(later_t)
    vip_day = later.tier_stats["sales"].day[Tier.VIP]
    more = vip_day.model_copy(update={"offered": 13, "answered": 11,
                                      "answered_within_threshold": 10})
    ts = later.tier_stats["sales"].model_copy(update={"day": {
        **later.tier_stats["sales"].day, Tier.VIP: more}})
    later = later.model_copy(update={"tier_stats": {"sales": ts}})
    book.observe(later)
    got = book.window("15m", "sales")
    assert got is not None
    assert (got[Tier.VIP].offered, got[Tier.VIP].answered) == (3, 3)
    assert got[Tier.GOLD].offered == 0
    assert book.window("7m", "sales") is None


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 40), st.integers(0, 40), st.data())
def test_split_adds_up_and_rates_stay_within_100(vip_n: int, gold_n: int,
                                                 data: st.DataObject) -> None:
    total = centre().interval_stats["sales"]  # offered 40
    vip_ans = data.draw(st.integers(0, vip_n))
    gold_ans = data.draw(st.integers(0, gold_n))
    parts = {
        Tier.VIP: QueueStats(queue_id="sales", window_start=total.window_start,
                             offered=vip_n, answered=vip_ans,
                             answered_within_threshold=data.draw(st.integers(0, vip_ans))),
        Tier.GOLD: QueueStats(queue_id="sales", window_start=total.window_start,
                              offered=gold_n, answered=gold_ans),
    }
    got = split(total, parts)
    fits = (vip_ans + gold_ans <= 30 and vip_n + gold_n <= 40
            and parts[Tier.VIP].answered_within_threshold <= 24
            and 30 - vip_ans - gold_ans >= 24 - parts[Tier.VIP].answered_within_threshold
            and 40 - vip_n - gold_n >= 30 - vip_ans - gold_ans + 6 + 4)
    if got is None:
        assert not fits
        return
    assert sum(s.offered for s in got.values()) == 40
    assert sum(s.answered for s in got.values()) == 30
    for stats in got.values():
        assert stats.answered + stats.abandoned + stats.flowed_out <= stats.offered
        assert stats.answered_within_threshold <= stats.answered


# -- scope ------------------------------------------------------------------------

def test_scope_narrows_the_snapshot_and_refuses_outside() -> None:
    snap = vendor_centre()
    scope = Scope("alice", ("vendor:acme",))
    scope.resolve(snap, RULES, {})
    assert scope.queue_ids == {"sales"}
    seen = narrow(snap, scope, RULES)
    assert [q.id for q in seen.queues] == ["sales"]
    assert set(seen.interval_stats) == set(seen.tier_stats) == {"sales"}
    assert {c.id for c in seen.contacts} == {"c1", "c2"}
    assert {a.id for a in seen.agents} == {"a1", "a2"}  # Support's a3, a4 are not acme's
    assert [a.id for a in seen.abandoned] == ["x1"]
    assert scope.refusal("reassign_contact", ["sales"]) is None
    why = scope.refusal("reassign_contact", ["sales", "support"])
    assert why == "alice sees vendor:acme only; support is outside it"
    assert "whole centre" in (scope.refusal("crisis_declare", []) or "")


def test_scope_by_group_queue_and_unknown_entries() -> None:
    snap = vendor_centre()
    scope = Scope("bob", ("group:phones", "queue:support", "vendor:nobody"))
    scope.resolve(snap, RULES, {"phones": ["sales"]})
    assert scope.queue_ids == {"sales", "support"}
    assert scope.unknown == ("vendor:nobody",)
    globex = Scope("carol", ("vendor:globex",))
    globex.resolve(snap, RULES, {})
    assert globex.queue_ids == {"support"}  # named by Support's own source


# -- the simulator reports the split by the counting rule ---------------------------

def test_simulator_tiers_add_up_to_each_queue() -> None:
    from supervisor_tui.domain.intervals import IntervalPolicy
    from supervisor_tui.sim.config import SimulatorConfig
    from supervisor_tui.sim.engine import Engine
    from supervisor_tui.sources.simulator import SnapshotBuilder

    engine = Engine(SimulatorConfig(seed=5), IntervalPolicy(30, "UTC"), T0, seed=5)
    engine.run_until(engine.now + 3600)
    snap = SnapshotBuilder(engine, "sim").build()
    board = build_board(snap)
    premium = 0
    for row in board.rows:
        for key in (INTERVAL, DAY):
            block = queue_tiers(board, row, key, TARGETS)
            assert block.reported and block.problem is None, row.queue.id
            queue = row.window(key).stats  # type: ignore[union-attr]
            assert sum(t.offered for t in block.tiers) == queue.offered
            # The engine's own standard row is exactly the rest (it counts all three).
            qidx = engine.queue_by_id[row.queue.id].idx
            counters = engine.interval_counters if key == INTERVAL else engine.day_counters
            rows = [counters(engine.tier_row(qidx, t)) for t in range(3)]
            assert [sum(c) for c in zip(*rows, strict=True)] == pytest.approx(
                counters(qidx))
            assert rows[0][0] == next(t.offered for t in block.tiers
                                      if t.tier is Tier.STANDARD)
            for t in block.tiers:
                assert t.service_level is None or 0 <= t.service_level <= 1
                assert t.figures.abandon_rate is None or 0 <= t.figures.abandon_rate <= 1
            premium += sum(t.offered for t in block.tiers if t.tier is not Tier.STANDARD)
    assert premium > 0


# -- protocol v1 carries the split (full documents and deltas) ----------------------

def test_tier_split_and_site_over_the_wire() -> None:
    import json

    from supervisor_tui.protocol.documents import (
        Centre,
        ProtocolError,
        apply_delta,
        centre_snapshot,
        parse_delta,
        parse_snapshot,
        to_delta,
        to_doc,
        to_snapshot,
    )

    first = vendor_centre()
    wire = json.loads(to_doc(first, "pbx", ["snapshot"]).model_dump_json())
    sales = next(q for q in wire["queues"] if q["id"] == "sales")
    assert sales["site"] == "Globex Manila" and sales["tiers"]["day"]["vip"]["offered"] == 10
    got = to_snapshot(parse_snapshot(wire, "far"))
    assert got.tier_stats == first.tier_stats and "support" not in got.tier_stats
    assert next(a for a in got.agents if a.id == "a5").site == "Offshore"
    board = build_board(got)
    block = queue_tiers(board, board.rows_by_id["sales"], INTERVAL, TARGETS)
    assert block.reported and block.get(Tier.VIP).offered == 10  # type: ignore[union-attr]

    # A delta carries a changed split.
    vip = first.tier_stats["sales"].interval[Tier.VIP].model_copy(update={"offered": 11,
                                                                          "abandoned": 3})
    split = first.tier_stats["sales"].model_copy(update={"interval": {
        **first.tier_stats["sales"].interval, Tier.VIP: vip}})
    second = first.model_copy(update={"tier_stats": {"sales": split}})
    head = to_doc(second, "pbx", ["snapshot"])
    delta = to_delta(Centre.of(first), Centre.of(second), head)
    assert [q.id for q in delta.queues] == ["sales"]
    applied = apply_delta(Centre.of(first), parse_delta(json.loads(delta.model_dump_json())))
    assert centre_snapshot(applied, head).tier_stats["sales"].interval[Tier.VIP].offered == 11

    # Another queue's counters in a split, or impossible counters, are refused.
    sales["tiers"]["day"]["vip"]["queue_id"] = "support"
    with pytest.raises(ProtocolError, match=r"tiers\.day\.vip\.queue_id"):
        parse_snapshot(wire)
    sales["tiers"]["day"]["vip"].update(queue_id="sales", answered=99)
    with pytest.raises(ProtocolError):
        parse_snapshot(wire)


def test_scoped_intraday_sums_hold_only_the_scopes_queues(tmp_path: Path) -> None:
    """A scoped user's channel-group intraday: the store sums only their queues' rows
    (in SQL, as it sums the whole group's)."""
    from datetime import UTC, datetime, timedelta
    from typing import cast

    from supervisor_tui.store import INTERVAL_COUNTERS, Store
    from supervisor_tui.store.rows import IntervalRow

    t10 = datetime(2026, 3, 2, 10, tzinfo=UTC)
    at = {"10:00": t10.isoformat(), "10:30": (t10 + timedelta(minutes=30)).isoformat()}

    def row(qid: str, channel: str, start: str, offered: int, needed: int | None,
            complete: int = 1, target: float = 0.8) -> IntervalRow:
        data: dict[str, Any] = dict.fromkeys(INTERVAL_COUNTERS, 0)
        data.update(queue_id=qid, interval_start=at[start], interval_minutes=30,
                    channel=channel, offered=offered, answered=offered, sl_target=target,
                    threshold_s=20.0, agents_staffed_at_close=2.0,
                    agents_needed_at_close=needed, complete=complete)
        return cast(IntervalRow, data)

    rows = [row("sales", "voice", "10:00", 5, 3), row("vip", "voice", "10:00", 2, None, 0),
            row("other", "voice", "10:00", 40, 9), row("support", "chat", "10:00", 7, 1),
            row("sales", "voice", "10:30", 4, None), row("vip", "voice", "10:30", 1, None)]
    store = Store.open(tmp_path / "s.db")
    store.record_intervals(rows, t10 + timedelta(hours=1), timedelta(days=35))
    got = store.interval_sums(t10, t10 + timedelta(hours=1), ["voice"], {"sales", "vip"})
    assert [(r["interval_start"], r["offered"], r["answered"], r["agents_staffed_at_close"],
             r["agents_needed_at_close"], r["complete"]) for r in got] == [
        (at["10:00"], 7, 7, 4.0, 3, 0), (at["10:30"], 5, 5, 4.0, None, 1)]
    assert {r["queue_id"] for r in got} == {"*"}
    # the whole group's sums (an unscoped user) still hold every voice queue
    assert [r["offered"] for r in store.interval_sums(
        t10, t10 + timedelta(hours=1), ["voice"])] == [47, 5]


def test_the_examples_in_docs_vendors_md_are_valid_configuration() -> None:
    import re
    import tomllib
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "vendors.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, re.S)
    assert len(blocks) >= 3
    for block in blocks:
        parse_config(tomllib.loads(block), "docs/vendors.md")


# -- over a real loopback server: serve-sim -> the http source -------------------------

async def test_the_http_source_reads_the_tier_split_from_serve_sim() -> None:
    from supervisor_tui.protocol.server import ProtocolServer, serve_in_thread
    from supervisor_tui.sim.config import SimulatorConfig
    from supervisor_tui.sources.http.settings import HttpSettings
    from supervisor_tui.sources.http.source import HttpSource
    from supervisor_tui.sources.simulator import SimulatorSource
    from tests.test_serve_sim import POLICY, Swappable, host

    wall = [T0]
    sim = SimulatorSource("sim", POLICY, SimulatorConfig(seed=7, start=T0),
                          clock=lambda: wall[0])
    swappable = Swappable()
    with serve_in_thread(swappable) as base:
        url = host((swappable, base), ProtocolServer(sim, refresh_s=0))
        remote = HttpSource("remote", POLICY, HttpSettings(url=url, timeout_s=5))
        try:
            got = await remote.snapshot()
            assert got.tier_stats == (await sim.snapshot()).tier_stats and got.tier_stats
            wall[0] = T0 + timedelta(minutes=5)  # the centre moves on: a delta next
            deltas: list[object] = []
            decode = remote._decode_delta

            def counted(*args: Any) -> Any:
                deltas.append(args)
                return decode(*args)

            remote._decode_delta = counted  # type: ignore[method-assign,assignment]
            again = await remote.snapshot()
        finally:
            await remote.close()
    assert deltas  # it came as a delta, and the split with it
    assert again.tier_stats and again.tier_stats != got.tier_stats
    board = build_board(again)
    for row in board.rows:
        block = queue_tiers(board, row, DAY, TARGETS)
        assert block.reported and block.problem is None
        assert sum(t.offered for t in block.tiers) == row.day.stats.offered
