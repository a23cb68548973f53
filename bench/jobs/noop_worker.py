"""A Quarry Python worker for the benchmarks: quarry_client.Worker (the
runtime tenants use, unchanged) running a no-op function of kind `--kind`
that returns its own start time, so the benchmark can measure enqueue ->
start latency as the function saw it. Stops on SIGTERM."""
import argparse
import logging
import time

from quarry_client import Worker


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--kind", required=True)
    parser.add_argument("--worker_id", default=None)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    # The runtime's default heartbeat interval (1 s): a no-op job ends long
    # before its first heartbeat, as short jobs do.
    worker = Worker(args.target, args.key, worker_id=args.worker_id,
                    concurrency=args.concurrency, grace=2.0)

    @worker.kind(args.kind)
    def run(job):
        # Stamped first: the latency is up to the moment the function runs.
        return {"started_us": time.time_ns() // 1000}

    print("worker ready", flush=True)
    worker.run()


if __name__ == "__main__":
    main()
