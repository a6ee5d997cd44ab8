"""Queue on Redis Streams: one consumer group, stale leases reclaimed with XAUTOCLAIM.

An entry stays in the stream (and in the group's pending list) until it is acknowledged; then it
is deleted, so the stream length is the backlog. A delayed retry waits in a sorted set and is
moved back into the stream by whichever worker claims first once it is due. A set holds the id
of every message with a job (in the stream, leased or delayed), which makes enqueueing
idempotent; acknowledging or dead-lettering the job takes the id out of it again.

Every change of a job's state is one Lua script, so no crash of a client between two commands
can leave a message neither delayed nor in the stream, nor in the stream without its mark. Redis
runs a script without interleaving other commands, but it does not undo a script's earlier
writes when a later command fails: each script therefore writes the job's new place first and
removes the old one last, so a failure part-way leaves the job where it was.

Retry due times come from `clock` (epoch seconds, `frontdesk.clock` by default). Lease expiry is
measured by the Redis server itself (XAUTOCLAIM's min-idle-time against the entry's delivery
time), so no client clock can move it.

A Redis restarted without its data (no persistence, or a failover to an empty replica) has no
consumer group: every command that needs it makes the group again and runs once more, so the
workers go on with what is queued from then on. The jobs the old server held are gone with it;
the store still has their messages as `enqueued` and not processed, and the workers' sweep
enqueues them again (`Worker.requeue_stranded`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar, cast

import redis
import structlog

from frontdesk.clock import epoch_seconds
from frontdesk.queue.base import DeadLetter, Job

# redis-py types each reply as the union of all the shapes it can take (RESP2 or RESP3, bytes or
# decoded, with scores or without); the client here decodes responses, so these are its shapes.
Fields = dict[str, str]
Entry = tuple[str, Fields]

log = structlog.get_logger(__name__)

T = TypeVar("T")

PROMOTE_BATCH = 100
STREAM_ID = re.compile(r"[0-9]{1,19}-[0-9]{1,19}")

# KEYS stream, queued; ARGV message ids. A message that has a job already keeps it.
ENQUEUE = """
local added = 0
for _, message_id in ipairs(ARGV) do
  if redis.call('SISMEMBER', KEYS[2], message_id) == 0 then
    redis.call('XADD', KEYS[1], '*', 'message_id', message_id, 'earlier_attempts', 0)
    redis.call('SADD', KEYS[2], message_id)
    added = added + 1
  end
end
return added
"""

# KEYS delayed, stream; ARGV now, how many. Due retries go back into the stream, each added
# there before it leaves the sorted set.
PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do
  local message_id, attempts = string.match(member, '^(.*)|(%d+)$')
  redis.call('XADD', KEYS[2], '*', 'message_id', message_id, 'earlier_attempts', attempts)
  redis.call('ZREM', KEYS[1], member)
end
return #due
"""

# KEYS stream, queued; ARGV group, then receipt and message id pairs. Only an entry still pending
# is acknowledged, deleted and unmarked: an ack after the job was retried or buried does nothing.
ACK = """
local acked = 0
for i = 2, #ARGV, 2 do
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[i]) == 1 then
    redis.call('XDEL', KEYS[1], ARGV[i])
    redis.call('SREM', KEYS[2], ARGV[i + 1])
    acked = acked + 1
  end
end
return acked
"""

# KEYS stream, delayed; ARGV group, receipt, delayed member, due time. The message stays marked.
RETRY = """
if #redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1) == 0 then
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
"""

# KEYS stream, queued, dead; ARGV group, receipt, message id, attempts, error, died at. Returns
# the dead letter's id, or nothing when the entry was no longer pending.
BURY = """
if #redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1) == 0 then
  return false
end
local id = redis.call('XADD', KEYS[3], '*', 'message_id', ARGV[3], 'attempts', ARGV[4],
                      'error', ARGV[5], 'died_at', ARGV[6])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('SREM', KEYS[2], ARGV[3])
return id
"""

# KEYS dead, stream, queued; ARGV dead letter ids. Each one found is queued again as a new job
# (unless its message has a job already) and then removed; returns the ids replayed.
REPLAY = """
local replayed = {}
for _, id in ipairs(ARGV) do
  local found = redis.call('XRANGE', KEYS[1], id, id)
  if #found == 1 then
    local fields, message_id = found[1][2], nil
    for i = 1, #fields, 2 do
      if fields[i] == 'message_id' then message_id = fields[i + 1] end
    end
    if redis.call('SISMEMBER', KEYS[3], message_id) == 0 then
      redis.call('XADD', KEYS[2], '*', 'message_id', message_id, 'earlier_attempts', 0)
      redis.call('SADD', KEYS[3], message_id)
    end
    redis.call('XDEL', KEYS[1], id)
    table.insert(replayed, id)
  end
end
return replayed
"""


class RedisStreamsQueue:
    def __init__(
        self,
        url: str,
        name: str,
        lease_seconds: float,
        max_attempts: int,
        clock: Callable[[], float] = epoch_seconds,
    ) -> None:
        self.clock = clock
        self.client = redis.Redis.from_url(url, decode_responses=True, health_check_interval=30)
        self.stream = f"{name}:jobs"
        self.group = f"{name}:workers"
        self.delayed = f"{name}:jobs:delayed"
        self.dead = f"{name}:jobs:dead"
        self.queued = f"{name}:jobs:queued"
        self.lease_ms = int(lease_seconds * 1000)
        self.max_attempts = max_attempts
        self._enqueue = self.client.register_script(ENQUEUE)
        self._promote = self.client.register_script(PROMOTE)
        self._ack = self.client.register_script(ACK)
        self._retry = self.client.register_script(RETRY)
        self._bury_script = self.client.register_script(BURY)
        self._replay = self.client.register_script(REPLAY)
        self._ensure_group()

    def _ensure_group(self) -> None:
        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _in_group(self, call: Callable[[], T]) -> T:
        """`call`, made again once after recreating the consumer group if the server has none
        (it restarted empty): entries enqueued since then are delivered from the start."""
        try:
            return call()
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
        log.warning("queue.group_recreated", stream=self.stream, group=self.group)
        self._ensure_group()
        return call()

    def enqueue(self, message_ids: list[str]) -> int:
        if not message_ids:
            return 0
        return cast(int, self._enqueue(keys=[self.stream, self.queued], args=message_ids))

    def claim(self, consumer: str, max_jobs: int, wait_seconds: float) -> list[Job]:
        return self._in_group(lambda: self._claim(consumer, max_jobs, wait_seconds))

    def _claim(self, consumer: str, max_jobs: int, wait_seconds: float) -> list[Job]:
        self._promote(keys=[self.delayed, self.stream], args=[self.clock(), PROMOTE_BATCH])
        jobs = self._reclaim_stale(consumer, max_jobs)
        if len(jobs) < max_jobs:
            block_ms = None if jobs else max(1, int(wait_seconds * 1000))
            answer = cast(
                list[tuple[str, list[Entry]]] | None,
                self.client.xreadgroup(
                    self.group,
                    consumer,
                    {self.stream: ">"},
                    count=max_jobs - len(jobs),
                    block=block_ms,
                ),
            )
            for _stream, entries in answer or []:
                jobs.extend(
                    Job(fields["message_id"], int(fields["earlier_attempts"]) + 1, entry_id)
                    for entry_id, fields in entries
                )
        return jobs

    def _reclaim_stale(self, consumer: str, max_jobs: int) -> list[Job]:
        _next, entries, _deleted = self.client.xautoclaim(
            self.stream, self.group, consumer, self.lease_ms, start_id="0-0", count=max_jobs
        )
        jobs = []
        for entry_id, fields in entries:
            pending = self.client.xpending_range(self.stream, self.group, entry_id, entry_id, 1)
            delivered = cast(int, pending[0]["times_delivered"]) if pending else 1
            job = Job(fields["message_id"], int(fields["earlier_attempts"]) + delivered, entry_id)
            if job.attempt > self.max_attempts:
                self._bury(job, "lease expired", job.attempt - 1)
            else:
                jobs.append(job)
        return jobs

    def ack(self, jobs: list[Job]) -> None:
        if not jobs:
            return
        pairs = [value for job in jobs for value in (job.receipt, job.message_id)]
        self._ack(keys=[self.stream, self.queued], args=[self.group, *pairs])

    def retry(self, job: Job, error: str, delay_seconds: float) -> DeadLetter | None:
        if job.attempt >= self.max_attempts:
            return self._bury(job, error, job.attempt)
        member = f"{job.message_id}|{job.attempt}"
        due = self.clock() + delay_seconds
        keys = [self.stream, self.delayed]
        args: list[str | float] = [self.group, job.receipt, member, due]
        self._in_group(lambda: self._retry(keys=keys, args=args))
        return None

    def _bury(self, job: Job, error: str, attempts: int) -> DeadLetter | None:
        died_at = self.clock()
        keys = [self.stream, self.queued, self.dead]
        args: list[str | float] = [
            self.group,
            job.receipt,
            job.message_id,
            attempts,
            error,
            died_at,
        ]
        dead_id = self._in_group(lambda: self._bury_script(keys=keys, args=args))
        if dead_id is None:  # acknowledged or buried by another worker meanwhile
            return None
        return DeadLetter(cast(str, dead_id), job.message_id, attempts, error, died_at)

    def dead_letters(self, limit: int | None = 100) -> list[DeadLetter]:
        entries = cast(list[Entry], self.client.xrange(self.dead, count=limit))
        return [_dead_letter(entry) for entry in entries]

    def replay_dead_letters(self, ids: list[str]) -> list[DeadLetter]:
        # An id that is not a stream id names no dead letter (and XRANGE would refuse it).
        wanted = [i for i in dict.fromkeys(ids) if STREAM_ID.fullmatch(i)]
        if not wanted:
            return []
        pipe = self.client.pipeline(transaction=False)
        for dead_id in wanted:
            pipe.xrange(self.dead, dead_id, dead_id)
        found = {
            entries[0][0]: _dead_letter(entries[0])
            for entries in cast(list[list[Entry]], pipe.execute())
            if entries
        }
        if not found:
            return []
        replayed = cast(
            list[str], self._replay(keys=[self.dead, self.stream, self.queued], args=list(found))
        )
        return [found[dead_id] for dead_id in replayed]

    def depth(self) -> int:
        return self.client.xlen(self.stream) + self.client.zcard(self.delayed)

    def ping(self) -> None:
        self.client.ping()

    def close(self) -> None:
        self.client.close()


def _dead_letter(entry: Entry) -> DeadLetter:
    dead_id, fields = entry
    # Dead letters from before `died_at` was recorded: the time in the entry's id (server ms).
    died_at = float(fields.get("died_at") or int(dead_id.split("-")[0]) / 1000)
    return DeadLetter(
        dead_id, fields["message_id"], int(fields["attempts"]), fields["error"], died_at
    )
