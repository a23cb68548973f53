"""A worker runtime for a tenant's own job kinds.

Register a function per kind; `run()` claims jobs up to `concurrency` at
once, runs each on a thread with heartbeats (lease renewal, progress,
cancellation) in the background, and finishes it from what the function
does: return a JSON-able value to succeed, raise Permanent to fail for
good, RateLimited(retry_after) when a provider said "too many requests"
(the kind pauses for every worker), anything else to be retried after the
kind's backoff. On SIGTERM or SIGINT it stops claiming, gives running jobs
`grace` seconds, then hands the unfinished ones back to the queue.
"""
import json
import logging
import os
import signal
import socket
import threading
import time

import grpc

from quarry.gateway.v1 import worker_service_pb2 as pb
from quarry.gateway.v1 import worker_service_pb2_grpc as pb_grpc
from quarry_client.client import channel, duration

log = logging.getLogger("quarry_client.worker")

# Transient answers: the call is repeated (another gateway answers through
# the load balancer) rather than the job given up.
_TRANSIENT = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
              grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.ABORTED}


class Permanent(Exception):
    """The job will fail again however often it is tried: it ends DEAD now."""


class RateLimited(Exception):
    """A provider asked to wait `retry_after` seconds before the next call."""

    def __init__(self, retry_after, message="rate limited by a provider"):
        super().__init__(message)
        self.retry_after = retry_after


class Cancelled(Exception):
    """Raised by Job.check_cancelled() once a client cancelled the job."""


class Job:
    """What a kind's function gets: the job, and ways to talk back."""

    def __init__(self, claimed, worker):
        self.id = claimed.job_id
        self.kind = claimed.kind
        self.payload = json.loads(claimed.payload_json or "{}")
        self.attempt = claimed.attempt
        self.max_attempts = claimed.max_attempts
        # The submit's trace: sent back with every call on the job, so the
        # gateway's spans of its run join that trace.
        self.traceparent = claimed.traceparent
        # Set when a client cancels the job (seen at the next heartbeat) or
        # when the worker is stopping and the job will be handed back.
        self.cancelled = threading.Event()
        self.stopping = threading.Event()
        self._lease = pb.JobLease(job_id=claimed.job_id, attempt=claimed.attempt,
                                  worker_id=worker.worker_id)
        self._progress = (0.0, "")
        self._lock = threading.Lock()

    def progress(self, fraction, message=""):
        """Reported with the next heartbeat; WatchJob streams it."""
        with self._lock:
            self._progress = (max(0.0, min(1.0, float(fraction))), str(message)[:1024])

    def check_cancelled(self):
        if self.cancelled.is_set():
            raise Cancelled()


class Worker:
    def __init__(self, target, api_key, worker_id=None, concurrency=4, heartbeat_interval=1.0,
                 grace=10.0, secure=False):
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}"
        self._stub = pb_grpc.WorkerServiceStub(channel(target, secure))
        self._metadata = (("authorization", f"Bearer {api_key}"),)
        self._concurrency = concurrency
        self._heartbeat_interval = heartbeat_interval
        self._grace = grace
        self._functions = {}
        self._running = {}  # job id -> Job
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self.completed = 0

    def kind(self, name):
        """Decorator: `fn(job)` runs the jobs of kind `name`."""
        def register(fn):
            self._functions[name] = fn
            return fn
        return register

    def stop(self):
        self._stop.set()
        with self._lock:
            self._lock.notify_all()

    def _call(self, method, request, timeout=10.0, attempts=5, job=None):
        """The call, repeated on transient failures; other errors raise.
        With `job`, in the job's trace."""
        metadata = self._metadata
        if job is not None and job.traceparent:
            metadata = metadata + (("traceparent", job.traceparent),)
        for attempt in range(attempts):
            try:
                return method(request, metadata=metadata, timeout=timeout)
            except grpc.RpcError as e:
                if e.code() not in _TRANSIENT or attempt == attempts - 1:
                    raise
                time.sleep(min(0.1 * 2 ** attempt, 2.0))
        raise AssertionError("unreachable")

    def run(self, handle_signals=True):
        """Claims and runs jobs until stop() or a signal."""
        if not self._functions:
            raise ValueError("register a kind with @worker.kind(name) first")
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop())
        kinds = sorted(self._functions)
        while not self._stop.is_set():
            with self._lock:
                while len(self._running) >= self._concurrency and not self._stop.is_set():
                    self._lock.wait(0.5)
                free = self._concurrency - len(self._running)
            if self._stop.is_set():
                break
            request = pb.ClaimJobsRequest(worker_id=self.worker_id, kinds=kinds,
                                          max_jobs=free, wait=duration(5))
            try:
                claimed = self._call(self._stub.ClaimJobs, request, timeout=15.0).jobs
            except grpc.RpcError as e:
                log.warning("claim failed: %s %s", e.code(), e.details())
                self._stop.wait(1.0)
                continue
            for c in claimed:
                job = Job(c, self)
                with self._lock:
                    self._running[job.id] = job
                threading.Thread(target=self._run_one, args=(job,), daemon=True).start()
        self._drain()

    def _drain(self):
        deadline = time.monotonic() + self._grace
        with self._lock:
            for job in self._running.values():
                job.stopping.set()
            while self._running and time.monotonic() < deadline:
                self._lock.wait(0.1)
            unfinished = list(self._running.values())
        for job in unfinished:
            try:
                self._call(self._stub.ReleaseJob, pb.ReleaseJobRequest(lease=job._lease), job=job)
            except grpc.RpcError as e:
                log.warning("release of job %s failed: %s", job.id, e.details())

    def _heartbeats(self, job, done):
        while not done.wait(self._heartbeat_interval):
            with job._lock:
                fraction, message = job._progress
            try:
                beat = self._call(self._stub.HeartbeatJob, pb.HeartbeatJobRequest(
                    lease=job._lease, progress=fraction, progress_message=message), job=job)
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.FAILED_PRECONDITION:
                    # The lease is gone: stop the function, record nothing.
                    job.cancelled.set()
                    return
                log.warning("heartbeat of job %s failed: %s", job.id, e.details())
                continue
            if beat.cancel_requested:
                job.cancelled.set()

    def _run_one(self, job):
        done = threading.Event()
        beats = threading.Thread(target=self._heartbeats, args=(job, done), daemon=True)
        beats.start()
        try:
            self._finish(job, self._functions[job.kind])
        finally:
            done.set()
            with self._lock:
                self._running.pop(job.id, None)
                self._lock.notify_all()

    def _finish(self, job, fn):
        try:
            try:
                result = fn(job)
            except Cancelled:
                self._call(self._stub.AcknowledgeCancel,
                           pb.AcknowledgeCancelRequest(lease=job._lease), job=job)
                return
            except RateLimited as e:
                self._call(self._stub.FailJob, pb.FailJobRequest(
                    lease=job._lease, error=str(e)[:4096] or "rate limited",
                    kind=pb.FAILURE_KIND_RATE_LIMITED, retry_after=duration(e.retry_after)), job=job)
                return
            except Permanent as e:
                self._call(self._stub.FailJob, pb.FailJobRequest(
                    lease=job._lease, error=(str(e) or "permanent failure")[:4096],
                    kind=pb.FAILURE_KIND_PERMANENT), job=job)
                return
            except Exception as e:  # noqa: BLE001: any other error is worth a retry
                self._call(self._stub.FailJob, pb.FailJobRequest(
                    lease=job._lease, error=(f"{type(e).__name__}: {e}")[:4096],
                    kind=pb.FAILURE_KIND_RETRYABLE), job=job)
                return
            if job.cancelled.is_set():
                self._call(self._stub.AcknowledgeCancel,
                           pb.AcknowledgeCancelRequest(lease=job._lease), job=job)
                return
            self._call(self._stub.CompleteJob, pb.CompleteJobRequest(
                lease=job._lease, result_json=json.dumps({} if result is None else result)), job=job)
            self.completed += 1
        except grpc.RpcError as e:
            # FAILED_PRECONDITION: the lease was lost (another worker has the
            # job); nothing of this attempt is recorded, by design.
            log.warning("job %s: %s %s", job.id, e.code(), e.details())
