"""Every rate limit in one table, with Mastodon's numbers.

Two kinds, as on Mastodon:

- per request (Mastodon's Rack::Attack throttles), counted by `api/rate_limits.RateLimitMiddleware`
  before the request reaches a route: by address for callers without a user, by account and by
  token for the others, plus a few paths of their own (media uploads, deletions, paging);
- per account and family (Mastodon's `rate_limit by: :account, family: ...`), counted by the
  routes that create statuses, follows and reports, before anything is written
  (`api/rate_limits.family`).

Sign-up, sign-in and app creation are counted where they are handled (accounts/registration.py,
oauth/service.py), with the numbers below. `KINFOLK_RATE_LIMITS=false` turns all of them off.
"""

from __future__ import annotations

from dataclasses import dataclass

MINUTE = 60.0
HOUR = 60 * MINUTE


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    limit: int
    period: float  # seconds; windows are aligned on the epoch

    @property
    def pair(self) -> tuple[int, float]:
        return self.limit, self.period


# --- per request ------------------------------------------------------------------------------
# Every /api request of a user, by account, and of a token, by token.
AUTHENTICATED_API = Limit("throttle_authenticated_api", 1500, 5 * MINUTE)
PER_TOKEN_API = Limit("throttle_per_token_api", 300, 5 * MINUTE)
# Every /api request without a user (no token, a bad one, or an app-only token), by address.
UNAUTHENTICATED_API = Limit("throttle_unauthenticated_api", 300, 5 * MINUTE)
# POST /api/v1/media and /api/v2/media, by account.
API_MEDIA = Limit("throttle_api_media", 30, 30 * MINUTE)
# DELETE /api/v1/statuses/:id and POST /api/v1/statuses/:id/unreblog, by account.
API_DELETE = Limit("throttle_api_delete", 30, 30 * MINUTE)
# Requests with max_id, min_id, since_id or page, by account, or by address without a user.
AUTHENTICATED_PAGING = Limit("throttle_authenticated_paging", 300, 15 * MINUTE)
UNAUTHENTICATED_PAGING = Limit("throttle_unauthenticated_paging", 300, 15 * MINUTE)
# POST /api/v1/emails/confirmations (resending the confirmation e-mail), by address and by account.
EMAIL_CONFIRMATIONS_PER_IP = Limit("throttle_email_confirmations/ip", 25, 5 * MINUTE)
EMAIL_CONFIRMATIONS_PER_ACCOUNT = Limit("throttle_email_confirmations/email", 5, 30 * MINUTE)

# --- where they are handled ---------------------------------------------------------------------
# POST /api/v1/accounts, by address (Mastodon's throttle_api_sign_up).
SIGN_UP = Limit("throttle_api_sign_up", 5, 30 * MINUTE)
# Password sign-ins (the web form and the password grant), by address and by e-mail.
LOGIN_PER_IP = Limit("throttle_login_attempts/ip", 25, 5 * MINUTE)
LOGIN_PER_EMAIL = Limit("throttle_login_attempts/email", 25, HOUR)
# POST /api/v1/apps, by address (Kinfolk's own: registering apps costs a row each).
APP_CREATE = Limit("throttle_app_create", 50, 5 * MINUTE)

# --- per account and family ---------------------------------------------------------------------
# Posting, scheduling and boosting (a boost is a status).
STATUSES = Limit("statuses", 300, 3 * HOUR)
# Following accounts and hashtags.
FOLLOWS = Limit("follows", 400, 24 * HOUR)
REPORTS = Limit("reports", 400, 24 * HOUR)
