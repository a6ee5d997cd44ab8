from frontdesk.config import Settings
from frontdesk.queue.base import DeadLetter, Job, Queue


def open_queue(settings: Settings) -> Queue:
    """The queue backend named by `queue.backend`."""
    options = settings.queue
    if options.backend == "redis":
        from frontdesk.queue.redis_streams import RedisStreamsQueue

        return RedisStreamsQueue(
            options.redis_url, options.name, options.lease_seconds, options.max_attempts
        )
    from frontdesk.queue.sqlite import SqliteQueue

    return SqliteQueue(settings.queue_path, options.lease_seconds, options.max_attempts)


__all__ = ["DeadLetter", "Job", "Queue", "open_queue"]
