"""Configuration: TOML file -> validated pydantic models.

Every key has a default, so no file at all is a valid configuration (the built-in
simulator). A broken file raises ``ConfigError`` whose message names the file, the
key and what is wrong — the CLI prints it and exits 2, never a traceback.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from supervisor_tui.config.groups import TeamsConfig, check_groups
from supervisor_tui.config.report import ReportConfig
from supervisor_tui.config.schedule import ScheduleConfig
from supervisor_tui.config.store import check_env_name, check_url
from supervisor_tui.config.strict import Strict
from supervisor_tui.config.surveys import SurveysConfig
from supervisor_tui.config.vendors import (
    TierTargetConfig,
    VendorConfig,
    check_scopes,
    check_tiers,
    check_vendors,
)
from supervisor_tui.config.wall import WallConfig
from supervisor_tui.crisis.config import CrisisConfig
from supervisor_tui.domain.escalation import EscalationRules
from supervisor_tui.domain.intervals import IntervalPolicy
from supervisor_tui.domain.model import SLFormula
from supervisor_tui.domain.roles import Role
from supervisor_tui.notices import NotifyConfig
from supervisor_tui.sim.config import SimulatorConfig

APP_NAME = "supervisor-tui"


class ConfigError(Exception):
    """A configuration file that cannot be used; the message is for humans."""


def _local_zone() -> str:
    try:
        import tzlocal

        return tzlocal.get_localzone_name() or "UTC"
    except Exception:  # no zone configured on the machine: UTC is a safe, visible default
        return "UTC"


class ConsoleConfig(Strict):
    poll_interval_s: float = Field(2.0, gt=0, le=3600, description="seconds between polls")
    poll_timeout_s: float = Field(10.0, gt=0, description="a poll slower than this fails")
    stale_after_s: float = Field(10.0, gt=0, description="data older than this is stale")
    interval_minutes: int = Field(30, gt=0, le=1440)
    timezone: str = Field(default_factory=_local_zone)
    sl_formula: SLFormula = SLFormula.ANSWERED_AND_ABANDONED_AFTER
    trend_minutes: int = Field(30, gt=0, le=24 * 60)
    escalation_strip_size: int = Field(5, ge=1, le=20)
    tick_s: float | None = Field(
        None, ge=0.5, le=10, description="seconds between refreshes of the clock and the "
        "waits; default 1, or 2 over SSH (half the bytes on a slow link)")
    bell: bool = Field(True, description="ring the terminal bell on a new critical escalation")
    announce: bool = Field(True, description="pop up a notice on a new critical escalation")
    rolling_minutes: list[int] = Field(
        default_factory=lambda: [15, 30, 60], min_length=1, max_length=6,
        description="rolling windows shown beside the interval (w switches), minutes")
    min_sample: int = Field(
        10, ge=1, le=1000, description="figures from fewer contacts are greyed with the count")
    erlang_window_minutes: int = Field(
        30, ge=5, le=240, description="window the Erlang C arrival rate and AHT come from")

    @field_validator("rolling_minutes")
    @classmethod
    def _positive_windows(cls, value: list[int]) -> list[int]:
        if any(m <= 0 or m > 24 * 60 for m in value):
            raise ValueError("rolling windows are 1 to 1440 minutes")
        return sorted(set(value))

    @property
    def window_keys(self) -> tuple[str, ...]:
        """What the window key cycles through: the interval, each rolling window, today."""
        return ("interval", *(f"{m}m" for m in self.rolling_minutes), "day")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from err
        return value

    @field_validator("interval_minutes")
    @classmethod
    def _divides_day(cls, value: int) -> int:
        if (24 * 60) % value:
            raise ValueError("must divide a day evenly (e.g. 15, 30, 60)")
        return value

    def tick_interval(self, environ: Mapping[str, str]) -> float:
        """The configured tick, else 2 s in an SSH session and 1 s elsewhere."""
        if self.tick_s is not None:
            return self.tick_s
        return 2.0 if environ.get("SSH_CONNECTION") else 1.0

    @property
    def policy(self) -> IntervalPolicy:
        return IntervalPolicy(minutes=self.interval_minutes, tz=self.timezone)


class RolesConfig(Strict):
    default: Role = Field(Role.SUPERVISOR, description="role of a user not listed below")
    users: dict[str, Role] = Field(default_factory=dict, description="login name -> role")
    scopes: dict[str, list[str]] = Field(
        default_factory=dict, description="login name -> the queues they see and act on: "
        "vendor:KEY, group:NAME, queue:ID or a queue id (none: everything; docs/vendors.md)")

    _check_scopes = field_validator("scopes")(check_scopes)

    def role_of(self, user: str) -> Role:
        return self.users.get(user, self.default)


class IdentityConfig(Strict):
    trusted_override_for: list[str] = Field(
        default_factory=list,
        description="OS accounts (a shared service account behind sshd ForceCommand) whose "
        "SUPERVISOR_TUI_USER names the person; honoured only from a root-owned config")


class AuditConfig(Strict):
    key_file: Path | None = Field(
        None, description="HMAC key kept outside the store (created 0600 on first use); "
        "every record then carries a MAC that cannot be recomputed without it")
    anchor_file: Path | None = Field(
        None, description="append-only file outside the store: the id and hash of every "
        "record, so a truncated or rewritten log is detected (make it chattr +a)")

    def resolved(self, base: Path | None) -> AuditConfig:
        """Paths with ~ expanded, relative ones taken from the config file's directory."""
        def fix(p: Path | None) -> Path | None:
            if p is None:
                return None
            p = p.expanduser()
            return p if p.is_absolute() or base is None else base.parent / p
        return self.model_copy(update={"key_file": fix(self.key_file),
                                       "anchor_file": fix(self.anchor_file)})


class StoreConfig(Strict):
    history_every_s: float = Field(60.0, gt=0, description="how often to record queue history")
    history_retention_days: float = Field(14.0, gt=0)
    interval_retention_days: float = Field(
        35.0, gt=0, description="days of per-interval queue figures kept (intraday screen: "
        "35 keeps 'same day last week' for a month)")
    url: str | None = Field(
        None, description="postgresql://user@host/db: the shared store on PostgreSQL for "
        "every console on every host (no password here: PGPASSWORD, ~/.pgpass or url_env); "
        "none: the SQLite file (--db)")
    url_env: str | None = Field(
        None, description="an environment variable holding the whole postgresql:// URL "
        "(password included); wins over url")

    _check_url = field_validator("url")(check_url)
    _check_url_env = field_validator("url_env")(check_env_name)


def _source_union() -> Any:
    from supervisor_tui.sources.registry import SETTINGS_TYPES

    if len(SETTINGS_TYPES) == 1:
        return SETTINGS_TYPES[0]
    return Annotated[Union[SETTINGS_TYPES], Field(discriminator="type")]  # noqa: UP007


if TYPE_CHECKING:  # what mypy can check: each member is a SourceSettings
    from supervisor_tui.sources.settings import SourceSettings as SourceConfig
else:
    SourceConfig = _source_union()


class Config(Strict):
    console: ConsoleConfig = Field(default_factory=ConsoleConfig)
    escalations: EscalationRules = Field(default_factory=EscalationRules)
    store: StoreConfig = Field(default_factory=StoreConfig)
    roles: RolesConfig = Field(default_factory=RolesConfig)
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    simulator: SimulatorConfig = Field(default_factory=SimulatorConfig)
    wall: WallConfig = Field(default_factory=WallConfig)
    groups: dict[str, list[str]] = Field(
        default_factory=dict, description="[groups] NAME = [queue ids]: a KPI band each on "
        "the dashboard (g cycles) and queues:<NAME> views on a wall")
    teams: TeamsConfig = Field(default_factory=TeamsConfig)
    vendors: dict[str, VendorConfig] = Field(
        default_factory=dict, description="[vendors.KEY]: an outsourcing vendor or site, "
        "its queues, agents and contract (docs/vendors.md)")
    tiers: dict[str, TierTargetConfig] = Field(
        default_factory=dict, description="[tiers.standard|gold|vip]: each customer "
        "tier's SL target and threshold (docs/vendors.md)")
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    sources: dict[str, SourceConfig] = Field(
        default_factory=dict,
        description="[sources.NAME] with type = simulator | http | twilio | zendesk | "
        "genesys; none configured means the built-in simulator")
    crisis: CrisisConfig = Field(default_factory=CrisisConfig)
    surveys: SurveysConfig = Field(default_factory=SurveysConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    # Where it came from, for messages; not a TOML key.
    path: Path | None = Field(default=None, exclude=True)

    _check_groups = field_validator("groups")(check_groups)
    _check_vendors = field_validator("vendors")(check_vendors)
    _check_tiers = field_validator("tiers")(check_tiers)

    @model_validator(mode="after")
    def _report_mail(self) -> Config:
        problems = self.report.problems(self.crisis)  # (config/report.py)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _wall_sees_groups(self) -> Config:
        # [groups] are wall queue groups too (config/groups.py): merged once, here.
        self.wall = self.wall.with_groups(self.groups)
        return self


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_db_path() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME)) / "supervisor.db"


def _format_loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def format_validation_error(path: Path | str, err: ValidationError) -> str:
    lines = [f"{path}: invalid configuration ({err.error_count()} problem(s))"]
    for problem in err.errors():
        key = _format_loc(problem["loc"])
        msg = problem["msg"]
        if problem["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling against config.example.toml)"
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def parse_config(data: dict[str, Any], path: Path | str = "<config>") -> Config:
    try:
        config = Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(path, err)) from None
    return config.model_copy(update={"path": Path(path),
                                     "audit": config.audit.resolved(Path(path))})


def load_config(path: Path | str | None, *, required: bool = False) -> Config:
    """Load ``path``; with no path, the user config file if present, else defaults.

    ``required`` means the user named the file, so its absence is an error rather
    than a reason to fall back to defaults.
    """
    if path is None:
        candidate = default_config_path()
        if not candidate.exists():
            return Config()
        path, required = candidate, True
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise ConfigError(f"{path}: no such file") from None
        return Config()
    except OSError as err:
        raise ConfigError(f"{path}: cannot read ({err.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    return parse_config(data, path)
