"""The Celery 5 peer of Quarry's no-op job: one app on a private Redis
(BENCH_REDIS_URL), one task that does nothing except, for latency probes,
record when it started. Configured for the durability and redelivery the
comparison calls equal to Quarry's:

- task_acks_late: a message is acknowledged after the task ran, so a worker
  that dies mid-task has it delivered again (Quarry: the lease expires and
  the job is claimed again);
- task_reject_on_worker_lost: the same when a prefork child is killed
  (otherwise Celery acks it as failed);
- visibility_timeout 60 s: how long an unacknowledged message waits before
  Redis' transport redelivers it (Quarry: the kind's 30 s attempt timeout,
  renewed by heartbeats; Celery has no heartbeat, so it must exceed the
  longest task);
- no result backend: the task stores no result (Quarry's CompleteJob does
  store its `{}` in PostgreSQL).
"""
import os
import time

import redis
from celery import Celery

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")

app = Celery("bench", broker=REDIS_URL)
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_ignore_result=True,
    broker_transport_options={"visibility_timeout": 60},
    worker_hijack_root_logger=False,
)

_stamps = None


@app.task(name="bench.noop")
def noop(probe=None):
    # Stamped first: the latency is up to the moment the task body runs.
    started_us = time.time_ns() // 1000
    if probe is not None:
        global _stamps
        if _stamps is None:
            _stamps = redis.Redis.from_url(REDIS_URL)
        _stamps.hset("bench:started", str(probe), started_us)
