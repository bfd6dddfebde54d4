"""The latest live read of each server, shared by every API replica through Redis for
``SHOW_FRESHNESS`` seconds: repeated and concurrent shows of one server cost Nova about one read
a second, however many clients and replicas ask. A write the service makes leaves a mark that
refuses any read begun before it, so an action or a delete shows at once."""
import json
import logging
import math

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ..core.records import Server
from ..store import redis_layout as layout

logger = logging.getLogger(__name__)
READ_AT, SERVER, WRITTEN_AT = "read_at", "server", "written_at"
# KEYS: the record. ARGV: the new record (JSON), when its read began, its lifetime in ms. A read
# begun before the service's latest write of the server is not kept (it may not show the write).
_REMEMBER = f"""
local current = redis.call('GET', KEYS[1])
if current then
  local ok, record = pcall(cjson.decode, current)
  if ok and record['{WRITTEN_AT}'] and tonumber(record['{WRITTEN_AT}']) >= tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
"""


class RecentShows:
    """Per server: its latest live read and when it was made, or the mark of a write."""

    def __init__(self, redis: Redis, freshness: float) -> None:
        self._redis = redis
        self._freshness = freshness
        self._lifetime_ms = max(1, math.ceil(freshness * 1000))
        self._remember = redis.register_script(_REMEMBER)

    async def recent(self, project_id: str, server_id: str, now: float) -> tuple[Server, float] | None:
        """The server as read less than ``SHOW_FRESHNESS`` ago, and when; None (a read is due)
        if there is none, the service wrote the server since, or Redis cannot say."""
        try:
            stored = await self._redis.get(layout.recent_show(project_id, server_id))
        except RedisError as error:
            logger.debug("no shared show of server %s: %s", server_id, error)
            return None
        record = json.loads(stored) if stored else {}
        if SERVER not in record or now - float(record[READ_AT]) >= self._freshness:
            return None
        return record[SERVER], float(record[READ_AT])

    async def remember(self, project_id: str, server_id: str, server: Server, read_at: float,
                       began_at: float) -> None:
        """Share a live read (begun at ``began_at``) with the other shows, unless the service wrote
        the server since it began; best effort."""
        record = json.dumps({READ_AT: read_at, SERVER: server}, separators=(",", ":"))
        try:
            await self._remember(keys=[layout.recent_show(project_id, server_id)],
                                 args=[record, repr(began_at), self._lifetime_ms])
        except RedisError as error:
            logger.debug("show of server %s not shared: %s", server_id, error)

    async def written(self, project_id: str, server_id: str, now: float) -> None:
        """The service changed the server (an action, a delete): the next show reads Nova."""
        await self._redis.set(layout.recent_show(project_id, server_id),
                              json.dumps({WRITTEN_AT: now}), px=self._lifetime_ms)
