"""A worker for the tests and the README: runs kind `--kind` with a function
that echoes its payload, reports progress, and honours a few payload flags
(sleep seconds, fail_until_attempt, permanent, rate_limited) so that the
end-to-end test can drive every outcome. Stops on SIGTERM."""
import argparse
import logging
import sys
import time
import os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quarry_client import Permanent, RateLimited, Worker  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--kind", required=True)
    parser.add_argument("--worker_id", default=None)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    worker = Worker(args.target, args.key, worker_id=args.worker_id,
                    concurrency=args.concurrency, heartbeat_interval=0.5, grace=2.0)

    @worker.kind(args.kind)
    def run(job):
        p = job.payload
        if job.attempt < p.get("fail_until_attempt", 0):
            raise RuntimeError(f"attempt {job.attempt} fails on purpose")
        if p.get("permanent"):
            raise Permanent("this input can never work")
        if p.get("rate_limited"):
            raise RateLimited(p["rate_limited"])
        deadline = time.monotonic() + p.get("sleep", 0)
        while time.monotonic() < deadline:
            job.progress(0.5, "working")
            job.check_cancelled()
            time.sleep(0.05)
        return {"echo": p, "attempt": job.attempt, "worker": worker.worker_id}

    print("worker ready", flush=True)
    worker.run()


if __name__ == "__main__":
    main()
