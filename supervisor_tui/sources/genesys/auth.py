"""OAuth client credentials for the ``genesys`` source.

A token comes from ``POST {login}/oauth/token`` (HTTP Basic with the client id and
secret, ``grant_type=client_credentials``) and is kept until shortly before it
expires. A token the API refuses is replaced once; a replacement that is refused too
is not replaced again for a while, so a revoked client costs one token request a
minute, not one per request.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field, StrictInt

from supervisor_tui.domain.text import clean
from supervisor_tui.sources.base import SourceError
from supervisor_tui.sources.checks import Doc, Name, validate
from supervisor_tui.sources.web import WebClient

#: renew the token this long before it expires
TOKEN_MARGIN_S = 60.0

_TOKEN = re.compile(r"^[\x21-\x7e]{8,8192}$")


class TokenDoc(Doc):
    access_token: Annotated[str, Field(pattern=_TOKEN.pattern)]
    token_type: Name | None = None
    expires_in: Annotated[StrictInt, Field(gt=0, le=31_536_000)]


class ClientCredentials:
    """Bearer tokens for one OAuth client, from ``login`` (a ``WebClient`` on the login
    host, with the client id and secret as its Basic credentials)."""

    def __init__(self, login: WebClient, clock: Callable[[], datetime]) -> None:
        self.login = login
        self._clock = clock
        self._token: str | None = None
        self._expires: datetime | None = None
        self._lock = asyncio.Lock()
        self._replaced_at: datetime | None = None  # when a refused token was replaced

    def due(self, now: datetime) -> bool:
        """A poll at ``now`` must first ask for a token (one more request)."""
        if self._token is None or self._expires is None:
            return True
        return now >= self._expires

    async def token(self, failed: str | None = None) -> str | None:
        """The bearer token: cached until shortly before it expires. ``failed`` is a
        token the API refused: it is replaced unless another request already did, and
        None comes back when it was itself a replacement for a refused token."""
        async with self._lock:
            now = self._clock()
            if failed is not None and failed == self._token and self._replaced_at is not None \
                    and abs((now - self._replaced_at).total_seconds()) < TOKEN_MARGIN_S:
                return None
            if self._token is not None and (
                    (failed is None and not self.due(now))
                    or (failed is not None and self._token != failed)):
                return self._token
            response = await self.login.request(
                "POST", "/oauth/token", data={"grant_type": "client_credentials"},
                expect=(200, 400, 401))
            if response.status_code != 200:
                try:
                    body = response.json()
                    reason = clean(f"{body.get('error', '')} {body.get('description', '')}",
                                   120).strip()
                except (ValueError, AttributeError):
                    reason = ""
                raise SourceError(f"OAuth token refused (HTTP {response.status_code}"
                                  f"{': ' + reason if reason else ''}) — check the client "
                                  "id and secret in the environment")
            doc = validate(TokenDoc, self.login.parse_json(response), "OAuth token")
            if doc.token_type is not None and doc.token_type.casefold() != "bearer":
                raise SourceError(f"OAuth token: type {clean(doc.token_type, 20)!r}, "
                                  "not bearer")
            margin = min(TOKEN_MARGIN_S, doc.expires_in / 10)
            self._token = doc.access_token
            self._expires = now + timedelta(seconds=doc.expires_in - margin)
            self._replaced_at = now if failed is not None else None
            return self._token

    async def aclose(self) -> None:
        await self.login.aclose()
