"""OAuth client credentials for the ``genesys`` source: the token document and how long
a token is kept.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, StrictInt

from supervisor_tui.sources.genesys.documents import Name, _Doc

#: renew the token this long before it expires
TOKEN_MARGIN_S = 60.0

_TOKEN = re.compile(r"^[\x21-\x7e]{8,8192}$")


class TokenDoc(_Doc):
    access_token: Annotated[str, Field(pattern=_TOKEN.pattern)]
    token_type: Name | None = None
    expires_in: Annotated[StrictInt, Field(gt=0, le=31_536_000)]
