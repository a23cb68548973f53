"""The client side of the "similar past failures" flow: creates the
collection of past failures and fills it, registers kind failures.triage,
submits one triage job per new error and watches them all (WatchJob),
printing their progress, postponements and results.

    python3 triage.py --target 127.0.0.1:50050 --key "$QUARRY_API_KEY"

Exits 0 when every job SUCCEEDED and named the expected past failure as the
most similar. --summary writes the job ids with what each should match.
"""
import argparse
import json
import os
import sys
import threading
import time

import grpc

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "clients", "python"))
sys.path.insert(0, here)
from past_failures import NEW_ERRORS, PAST_FAILURES  # noqa: E402
from quarry_client import Client, QuarryError  # noqa: E402

KIND = "failures.triage"


def ensure(what, create):
    """Runs `create`; one that exists already (a second run) is fine."""
    try:
        create()
        print(f"created {what}")
    except QuarryError as e:
        if e.code != grpc.StatusCode.ALREADY_EXISTS:
            raise
        print(f"{what} exists already")


def watch(client, job_id, expect, timeout, lock, outcomes):
    """Prints each change of the job until it ends; records whether it ended
    as it should."""
    seen = None
    job = None
    for job in client.watch(job_id, timeout=timeout):
        now = (job["state"], job["attempts"], round(job["progress"], 2),
               job["progress_message"], job["last_error"])
        if now == seen:
            continue
        seen = now
        line = f"job {job_id[:8]} {job['state']:<9} attempt {job['attempts']}"
        if job["state"] == "RUNNING" and job["progress_message"]:
            line += f" {job['progress']:.0%} {job['progress_message']}"
        elif job["state"] == "QUEUED" and job["last_error"]:
            line += f" (postponed: {job['last_error']})"
        with lock:
            print(line, flush=True)
    ok = False
    if job is not None and job["state"] == "SUCCEEDED":
        similar = job["result"]["similar"]
        ok = bool(similar) and similar[0]["id"] == expect
        with lock:
            print(f"job {job_id[:8]} most similar: " +
                  ", ".join(f"{s['id']} ({s['score']:.2f})" for s in similar) +
                  ("" if ok else f"  -- expected {expect} first"))
            print(f"job {job_id[:8]} advice: {job['result']['advice']}", flush=True)
    elif job is not None:
        with lock:
            print(f"job {job_id[:8]} ended {job['state']}: {job['last_error']}", flush=True)
    outcomes[job_id] = ok


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", default=os.environ.get("QUARRY_TARGET", "127.0.0.1:50050"))
    parser.add_argument("--key", default=os.environ.get("QUARRY_API_KEY"))
    parser.add_argument("--collection", default="failures")
    parser.add_argument("--starts_per_minute", type=int, default=30,
                        help="the kind's own start limit (looser than the advisor's quota)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to watch the jobs")
    parser.add_argument("--summary", default="", help="write the jobs as JSON here")
    args = parser.parse_args()
    if not args.key:
        parser.error("--key or QUARRY_API_KEY is required")
    client = Client(args.target, args.key, timeout=60.0)

    ensure(f"collection {args.collection}", lambda: client.create_collection(args.collection))
    # Waiting for the index: the first triage search must see every document.
    written = client.upsert(args.collection, PAST_FAILURES, wait_for_indexed=True, timeout=120.0)
    print(f"upserted {len(PAST_FAILURES)} past failures: {written['inserted']} new, "
          f"{written['updated']} replaced, {written['unchanged']} unchanged")
    ensure(f"kind {KIND} ({args.starts_per_minute} starts a minute)",
           lambda: client.create_kind(KIND, max_attempts=3, attempt_timeout=30,
                                      starts_per_minute=args.starts_per_minute,
                                      description="Similar past failures and advice for an error"))

    jobs = []
    for error, expect in NEW_ERRORS:
        job = client.submit(KIND, {"error": error, "collection": args.collection})
        print(f"submitted job {job['id']}: {error[:70]}...")
        jobs.append({"id": job["id"], "expect": expect})
    if args.summary:
        with open(args.summary + ".tmp", "w") as f:
            json.dump({"kind": KIND, "jobs": jobs}, f, indent=2)
        os.replace(args.summary + ".tmp", args.summary)

    lock, outcomes = threading.Lock(), {}
    started = time.monotonic()
    watchers = [threading.Thread(target=watch, daemon=True,
                                 args=(client, j["id"], j["expect"], args.timeout, lock, outcomes))
                for j in jobs]
    for w in watchers:
        w.start()
    for w in watchers:
        w.join(max(0.0, args.timeout + 5 - (time.monotonic() - started)))
    good = sum(outcomes.get(j["id"], False) for j in jobs)
    print(f"{good} of {len(jobs)} jobs succeeded with the expected match "
          f"in {time.monotonic() - started:.1f} s")
    return 0 if good == len(jobs) else 1


if __name__ == "__main__":
    sys.exit(main())
