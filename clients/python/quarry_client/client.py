"""Submitting, reading and watching jobs, registering job kinds, and the
collections, documents and searches a kind's function may work with."""
import json

import grpc
from google.protobuf import duration_pb2

from quarry.gateway.v1 import collection_service_pb2 as collections_pb
from quarry.gateway.v1 import collection_service_pb2_grpc as collections_grpc
from quarry.gateway.v1 import document_service_pb2 as documents_pb
from quarry.gateway.v1 import document_service_pb2_grpc as documents_grpc
from quarry.gateway.v1 import job_kind_service_pb2 as kinds_pb
from quarry.gateway.v1 import job_kind_service_pb2_grpc as kinds_grpc
from quarry.gateway.v1 import job_service_pb2 as jobs_pb
from quarry.gateway.v1 import job_service_pb2_grpc as jobs_grpc
from quarry.gateway.v1 import search_service_pb2 as search_pb
from quarry.gateway.v1 import search_service_pb2_grpc as search_grpc

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
        self._collections = collections_grpc.CollectionServiceStub(self._channel)
        self._documents = documents_grpc.DocumentServiceStub(self._channel)
        self._search = search_grpc.SearchServiceStub(self._channel)

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

    def get_kind(self, name):
        """The kind as the gateway has it, e.g. its paused_until while a
        rate-limited answer pauses it."""
        return self._call(self._kinds.GetJobKind, kinds_pb.GetJobKindRequest(name=name)).kind

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

    def create_collection(self, name, model="", dimension=0):
        """Creates a collection; `model` empty means the embedding service's
        default model, `dimension` 0 the model's dimension."""
        collection = collections_pb.Collection(name=name, model=model, dimension=dimension)
        return self._call(self._collections.CreateCollection,
                          collections_pb.CreateCollectionRequest(collection=collection)).collection

    def upsert(self, collection, documents, wait_for_indexed=False, timeout=None):
        """Inserts or replaces `documents`, dicts with "id" and "text" and
        optionally "metadata" (str -> str) and "tags". With
        `wait_for_indexed` it returns once they are searchable."""
        request = documents_pb.UpsertDocumentsRequest(
            collection=collection, wait_for_indexed=wait_for_indexed,
            documents=[documents_pb.Document(id=d["id"], text=d["text"],
                                             metadata=d.get("metadata", {}),
                                             tags=d.get("tags", []))
                       for d in documents])
        response = self._call(self._documents.UpsertDocuments, request, timeout)
        return {"inserted": response.inserted, "updated": response.updated,
                "unchanged": response.unchanged, "sequence": response.sequence}

    def search(self, collection, text, top_k=10, include_text=False, include_metadata=False):
        """The documents nearest to `text`, best first, as dicts with "id" and
        "score" (and "text", "metadata", "tags" when asked for). Hits of the
        shards that answered: the gateway answers partially rather than not
        at all when a shard is down."""
        request = search_pb.SearchRequest(collection=collection, text=text, top_k=top_k,
                                          include_text=include_text,
                                          include_metadata=include_metadata)
        hits = []
        for hit in self._call(self._search.Search, request).hits:
            h = {"id": hit.id, "score": hit.score}
            if include_text:
                h["text"] = hit.text
            if include_metadata:
                h["metadata"] = dict(hit.metadata)
                h["tags"] = list(hit.tags)
            hits.append(h)
        return hits
