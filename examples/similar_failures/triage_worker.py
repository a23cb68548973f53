"""The worker of the "similar past failures" flow: runs kind failures.triage.

A job's payload is {"error": "<error message>", "collection": "failures"}.
The function searches the collection for the 3 most similar past failures,
asks the rate-limited advisor (advisor.py, standing in for an LLM or a
ticketing API) what to do, and completes with
{"similar": [{"id", "score"}, ...], "advice": "..."}.

When the advisor answers 429 the function raises RateLimited with its
Retry-After: the gateway then pauses the kind for every worker until then
and hands the job back without counting the attempt, instead of each worker
retrying into the same quota and burning the job's attempts.

    python3 triage_worker.py --target 127.0.0.1:50050 --key "$QUARRY_API_KEY" \
        --advisor http://127.0.0.1:8089
"""
import argparse
import json
import logging
import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "clients", "python"))
from quarry_client import Client, Permanent, RateLimited, Worker  # noqa: E402

KIND = "failures.triage"


def retry_after_seconds(value):
    """A Retry-After header in seconds; an HTTP date or nothing counts as 1 s
    (the kind pauses briefly rather than not at all)."""
    try:
        return max(1.0, float(value))
    except (TypeError, ValueError):
        return 1.0


def ask_advisor(url, job_id, error, similar, timeout=10.0):
    request = urllib.request.Request(
        url.rstrip("/") + "/advice", method="POST",
        data=json.dumps({"error": error, "similar": similar}).encode(),
        headers={"Content-Type": "application/json", "X-Quarry-Job": job_id})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())["advice"]
    except urllib.error.HTTPError as e:
        if e.code == 429:
            raise RateLimited(retry_after_seconds(e.headers.get("Retry-After")),
                              f"advisor: 429 too many requests, Retry-After "
                              f"{e.headers.get('Retry-After')}") from None
        if 400 <= e.code < 500:
            # The advisor refused this input: asking again would not help.
            raise Permanent(f"advisor: HTTP {e.code}: {e.read()[:500]!r}") from None
        raise  # a 5xx: worth another attempt after the kind's backoff


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", default=os.environ.get("QUARRY_TARGET", "127.0.0.1:50050"))
    parser.add_argument("--key", default=os.environ.get("QUARRY_API_KEY"))
    parser.add_argument("--advisor", default="http://127.0.0.1:8089")
    parser.add_argument("--worker_id", default=None)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    if not args.key:
        parser.error("--key or QUARRY_API_KEY is required")
    logging.basicConfig(level=logging.INFO)
    client = Client(args.target, args.key)
    worker = Worker(args.target, args.key, worker_id=args.worker_id,
                    concurrency=args.concurrency, heartbeat_interval=0.5, grace=5.0)

    @worker.kind(KIND)
    def triage(job):
        error = job.payload.get("error")
        if not isinstance(error, str) or not error.strip():
            raise Permanent('payload: "error" must be a non-empty string')
        collection = job.payload.get("collection", "failures")
        job.progress(0.2, "searching similar past failures")
        hits = client.search(collection, error, top_k=3, include_metadata=True)
        similar = [{"id": h["id"], "score": round(h["score"], 4),
                    "resolution": h["metadata"].get("resolution", "")} for h in hits]
        job.progress(0.6, f"asking the advisor about {len(similar)} similar failures")
        job.check_cancelled()
        advice = ask_advisor(args.advisor, job.id, error, similar)
        job.progress(1.0, "done")
        return {"similar": [{"id": s["id"], "score": s["score"]} for s in similar],
                "advice": advice}

    print(f"triage worker ready: kind {KIND}, advisor {args.advisor}", flush=True)
    worker.run()


if __name__ == "__main__":
    main()
