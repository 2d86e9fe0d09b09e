"""Names of the settings that hold secrets.

Kept in a module that imports nothing, so that the discovery cache (which must not import
singer_sdk) can leave them out of its key; `settings.py` marks the same names `secret`.
"""

from __future__ import annotations

SECRET_SETTINGS: tuple[str, ...] = ("password", "oauth_client_secret")
