"""REST v4 rate limits per app and command, held in Redis so they hold across gateway replicas.

A token bucket in one Lua script: one EVALSHA round trip per request, atomic, and timed by the
Redis clock, so replicas with skewed clocks share one bucket correctly. It was chosen over a
fixed-window INCR+EXPIRE pipeline because a fixed window lets twice the limit through across
a window edge, which for batchsendmsg's 12,000/min would be 24,000 within seconds; the bucket
refills continuously, so a burst is at most the limit.

Defaults (SPEC §3): 200 requests/s per command, batchsendmsg 12,000/min, account_check 100/s.
An app overrides any command with settings["rate_limits"]["service/command"] = {limit, per_s}.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from services.common import app_settings
from services.common.app_settings import Rate
from services.common.errors import ErrorCode, TidingsError
from services.common.logging import get_logger
from services.common.store.ports import App

log = get_logger(__name__)

DEFAULT_RATE = Rate(200, 1)
DEFAULT_RATES: dict[str, Rate] = {
    "openim/batchsendmsg": Rate(12_000, 60),
    "im_open_login_svc/account_check": Rate(100, 1),
}

# KEYS[1] = bucket. ARGV[1] = capacity (the limit), ARGV[2] = window in ms (the bucket refills
# `capacity` tokens per window). Returns 1 when a token was taken, 0 when the bucket is empty.
# The bucket expires after one idle window: by then it would be full again anyway.
TOKEN_BUCKET_LUA = """
local cap = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then
  tokens = cap
  ts = now
end
tokens = math.min(cap, tokens + math.max(0, now - ts) * cap / window)
local ok = 0
if tokens >= 1 then
  tokens = tokens - 1
  ok = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], window)
return ok
"""


def command_key(service: str, command: str) -> str:
    return f"{service}/{command}"


def bucket_key(sdkappid: int, command: str) -> str:
    # The app in the hash tag: every bucket of one app lives in one Redis Cluster slot.
    return f"rl:{{{sdkappid}}}:{command}"


def rate_for(app: App, command: str) -> Rate:
    """The app's own limit for the command, else the default."""
    configured = app.settings.get(app_settings.RATE_LIMITS)
    if isinstance(configured, dict) and command in configured:
        return app_settings.parse_rate(command, configured[command])
    return DEFAULT_RATES.get(command, DEFAULT_RATE)


class RateLimiter:
    def __init__(self, client: aioredis.Redis) -> None:
        # redis-py's Script runs EVALSHA and reloads the script if the server lost it.
        self._bucket = client.register_script(TOKEN_BUCKET_LUA)

    async def take(self, sdkappid: int, command: str, rate: Rate) -> bool:
        taken = await self._bucket(
            keys=[bucket_key(sdkappid, command)], args=[rate.limit, rate.per_s * 1000]
        )
        return int(taken) == 1

    async def check(self, app: App, service: str, command: str) -> None:
        """Refuse with 60007 when the app is over its limit for this command."""
        name = command_key(service, command)
        rate = rate_for(app, name)
        try:
            allowed = await self.take(app.sdkappid, name, rate)
        except RedisError as exc:
            # Fail open: a Redis outage must not take the whole REST API down with it.
            log.warning("rate limit check failed; allowing", command=name, error=str(exc))
            return
        if not allowed:
            raise TidingsError(
                ErrorCode.REST_RATE_LIMITED,
                f"rest api call frequency exceeds the limit: {name} allows {rate.limit}"
                f" requests per {rate.per_s} s for app {app.sdkappid}",
            )
