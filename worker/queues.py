"""The only place queues are made: JSON serializer, short timeouts, no retries in the web."""
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue
from rq.serializers import JSONSerializer

QUEUES = ("default", "reports", "mail")
JOB_TIMEOUT = {"default": 600, "reports": 1800, "mail": 60}
FAILURE_TTL = 14 * 24 * 3600  # RQ keeps failed jobs a year by default; they hold tracebacks


def redis_connection(url: str) -> Redis:
    # The web must never wait on Redis for long: fail fast, the sweeper catches up later.
    return Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=2, retry=Retry(NoBackoff(), 0))


def get_queue(name: str, connection: Redis) -> Queue:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=connection, serializer=JSONSerializer,
                 default_timeout=JOB_TIMEOUT[name])


def enqueue_run(connection: Redis, queue: str, job_id: str, district_id: int, run_id: int):
    """Hand a job run to RQ under a stable id; a duplicate while it exists is refused by RQ."""
    q = get_queue(queue, connection)
    return q.enqueue("worker.tasks.execute_run", district_id, run_id, job_id=job_id, unique=True,
                     failure_ttl=FAILURE_TTL, result_ttl=3600)
