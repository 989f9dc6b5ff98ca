"""Settings of the ``http`` source (``[sources.NAME]`` with ``type = "http"``).

No HTTP library here: the config imports this module to validate a file.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from supervisor_tui.protocol.documents import is_loopback
from supervisor_tui.sources.settings import SourceSettings


class HttpSettings(SourceSettings):
    """``[sources.NAME]`` with ``type = "http"``: a server speaking protocol v1."""

    type: Literal["http"] = "http"
    url: str = Field(description="base URL of the server, e.g. https://sim.example:8765 "
                     "(the /v1/... paths are appended)")
    token_env: str | None = Field(None, description="environment variable holding a "
                                  "bearer token")
    username: str | None = Field(None, description="HTTP Basic user (e.g. a proxy in front)")
    password_env: str | None = Field(None, description="environment variable holding the "
                                     "HTTP Basic password")
    ca_bundle: str | None = Field(None, description="PEM file of CAs to trust for this "
                                  "server (TLS is always verified)")
    max_snapshot_mib: float = Field(64.0, gt=0, le=4096, description="a snapshot (or any "
                                    "answer) larger than this many MiB, counted "
                                    "decompressed, is refused before parsing")

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https"):
            raise ValueError("must start with http:// or https://")
        if not parts.hostname:
            raise ValueError("has no host name")
        if parts.username or parts.password:
            # Secrets never live in the config file: they come from the environment.
            raise ValueError("must not contain credentials: use username/password_env "
                             "or token_env")
        if parts.query or parts.fragment:
            raise ValueError("must not have a ?query or #fragment")
        try:
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            raise ValueError("has an invalid port") from None
        return value.rstrip("/")

    @model_validator(mode="after")
    def _consistent_auth(self) -> HttpSettings:
        if self.token_env and (self.username or self.password_env):
            raise ValueError("use either token_env (bearer) or username/password_env "
                             "(basic), not both")
        if bool(self.username) != bool(self.password_env):
            raise ValueError("username and password_env go together")
        parts = urlsplit(self.url)
        has_secret = bool(self.token_env or self.password_env)
        if has_secret and parts.scheme == "http" and not is_loopback(parts.hostname or ""):
            raise ValueError(f"credentials would cross the network in clear text to "
                             f"{parts.hostname}: use https:// (serve-sim --tls-cert/--tls-key "
                             "or a TLS proxy) or a loopback address")
        return self

