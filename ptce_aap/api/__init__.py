"""Read-only API v1 (SPEC §7): JSON for administrators, a bearer token on every request.

``auth`` checks the token before any route (401 with ``WWW-Authenticate: Bearer``, 403 for a non-admin's token);
every answer is ``Cache-Control: no-store``; requests are rate-limited per token (``API_RATE_LIMIT``). The API
only reads (GET), so it is exempt from CSRF, which protects forms posted by a browser's session.
"""

from ptce_aap.api import auth, routes  # noqa: F401
from ptce_aap.api.blueprint import bp

__all__ = ["bp"]
