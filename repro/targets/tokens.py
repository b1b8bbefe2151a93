"""Find the OIDC access token for a remote target, without ever storing it.

The token comes from an environment variable (``UNICORE_TOKEN``, ``EBRAINS_TOKEN``, or one
the target names) or, inside an EBRAINS JupyterLab, from the lab's token helper
(``clb_nb_utils.oauth.get_token``). It is read again whenever it is needed, so a refreshed
token is picked up, and it is never written to disk, a crate, a log or an error message.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from datetime import UTC, datetime

from repro.errors import AuthenticationError

#: Environment variables searched for a token, in this order.
TOKEN_VARIABLES = ("UNICORE_TOKEN", "EBRAINS_TOKEN")


def jupyterlab_token() -> str | None:
    """The EBRAINS JupyterLab's current token, or None outside such a lab."""
    try:
        from clb_nb_utils import oauth  # type: ignore[import-not-found]
    except ImportError:
        return None
    token = oauth.get_token()
    return str(token) if token else None


def token_expiry(token: str) -> datetime | None:
    """The ``exp`` claim of a JWT access token (not verified), or None if it has none.

    Examples
    --------
    >>> token_expiry("not-a-jwt") is None
    True
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return datetime.fromtimestamp(exp, UTC) if isinstance(exp, int | float) else None


def find_token(target: str, variable: str = "") -> tuple[str, str]:
    """Return ``(token, where it came from)`` for ``target``.

    Parameters
    ----------
    target : str
        Target name, for error messages.
    variable : str
        Environment variable to read instead of :data:`TOKEN_VARIABLES`.

    Raises
    ------
    AuthenticationError
        If no token is found, or the token is a JWT whose ``exp`` has passed.
    """
    names = (variable,) if variable else TOKEN_VARIABLES
    token, source = "", ""
    for name in names:
        if os.environ.get(name, "").strip():
            token, source = os.environ[name].strip(), f"${name}"
            break
    if not token and not variable:
        token, source = jupyterlab_token() or "", "the EBRAINS JupyterLab token helper"
    if not token:
        raise AuthenticationError(
            f"target {target!r}: no access token; set {' or '.join('$' + n for n in names)} "
            "to an OIDC access token (EBRAINS IAM)")
    expiry = token_expiry(token)
    if expiry is not None and expiry <= datetime.now(UTC):
        raise AuthenticationError(
            f"target {target!r}: the access token from {source} expired at "
            f"{expiry.isoformat(timespec='seconds')}; get a fresh token and try again")
    return token, source
