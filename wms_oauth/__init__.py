"""OAuth2 bearer tokens shared by the tap and wms-ops: one rule for refreshing them.

Neither wing may import the other, so the rule that both must follow (refresh ahead of
expiry; a 401 on a token the identity domain withdrew early costs one new token and one
retry, shared by every request that met it) sits here, beside them.
"""

from __future__ import annotations

from wms_oauth.bearer import BearerAuth, renewed
from wms_oauth.token import Grant, TokenHolder, refresh_margin

__all__ = ["BearerAuth", "Grant", "TokenHolder", "refresh_margin", "renewed"]
