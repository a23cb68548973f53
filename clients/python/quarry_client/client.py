"""Submitting, reading and watching jobs, and registering job kinds."""
import json

import grpc
from google.protobuf import duration_pb2

from quarry.gateway.v1 import job_kind_service_pb2 as kinds_pb
from quarry.gateway.v1 import job_kind_service_pb2_grpc as kinds_grpc
from quarry.gateway.v1 import job_service_pb2 as jobs_pb
from quarry.gateway.v1 import job_service_pb2_grpc as jobs_grpc

TERMINAL = {"SUCCEEDED", "DEAD", "CANCELLED"}


class QuarryError(Exception):
    """A call the gateway refused: `code` is the gRPC status code."""

    def __init__(self, code, message):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message


def channel(target, secure=False):
    return grpc.secure_channel(target, grpc.ssl_channel_credentials()) if secure \
        else grpc.insecure_channel(target)


def duration(seconds):
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(seconds * 1e9))
    return d


def job_dict(job):
    """A Job message as a plain dict, its state by name and JSON decoded."""
    return {
        "id": job.id,
        "kind": job.kind,
        "state": jobs_pb.JobState.Name(job.state).replace("JOB_STATE_", ""),
        "payload": json.loads(job.payload_json or "{}"),
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "progress": job.progress,
        "progress_message": job.progress_message,
        "result": json.loads(job.result_json) if job.result_json else None,
        "last_error": job.last_error,
        "cancel_requested": job.cancel_requested,
    }


class Client:
    """Calls with an API key; each method raises QuarryError when refused."""

    def __init__(self, target, api_key, secure=False, timeout=30.0):
        self._channel = channel(target, secure)
        self._metadata = (("authorization", f"Bearer {api_key}"),)
        self._timeout = timeout
        self._jobs = jobs_grpc.JobServiceStub(self._channel)
        self._kinds = kinds_grpc.JobKindServiceStub(self._channel)

    def _call(self, method, request, timeout=None):
        try:
            return method(request, metadata=self._metadata, timeout=timeout or self._timeout)
        except grpc.RpcError as e:
            raise QuarryError(e.code(), e.details()) from None

    def create_kind(self, name, **settings):
        """Registers a job kind; `settings` are JobKind fields (durations in
        seconds for attempt_timeout and retention)."""
        kind = kinds_pb.JobKind(name=name)
        for field, value in settings.items():
            if field in ("attempt_timeout", "retention"):
                getattr(kind, field).CopyFrom(duration(value))
            else:
                setattr(kind, field, value)
        return self._call(self._kinds.CreateJobKind, kinds_pb.CreateJobKindRequest(kind=kind)).kind

    def submit(self, kind, payload=None, priority=0, max_attempts=0, idempotency_key="",
               cost=0):
        request = jobs_pb.SubmitJobRequest(
            kind=kind, payload_json=json.dumps(payload or {}), priority=priority,
            max_attempts=max_attempts, idempotency_key=idempotency_key, cost=cost)
        return job_dict(self._call(self._jobs.SubmitJob, request).job)

    def get(self, job_id):
        return job_dict(self._call(self._jobs.GetJob, jobs_pb.GetJobRequest(id=job_id)).job)

    def cancel(self, job_id):
        return job_dict(self._call(self._jobs.CancelJob, jobs_pb.CancelJobRequest(id=job_id)).job)

    def watch(self, job_id, timeout=600.0):
        """Yields the job at each change, ending with its terminal state."""
        try:
            for update in self._jobs.WatchJob(jobs_pb.WatchJobRequest(id=job_id),
                                              metadata=self._metadata, timeout=timeout):
                yield job_dict(update.job)
        except grpc.RpcError as e:
            raise QuarryError(e.code(), e.details()) from None

    def wait(self, job_id, timeout=600.0):
        """The job once it has ended."""
        last = None
        for last in self.watch(job_id, timeout):
            pass
        return last
