#!/usr/bin/python3
"""The Celery 5 + Redis peer of Quarry's job-queue benchmarks, in the same
shapes: a private redis-server (AOF on, fsync every second) on a free
loopback port in a temporary directory; a Celery worker with 1, 2 and 4
prefork processes (and a threads pool) draining a backlog of no-op tasks;
enqueue -> start latency one probe at a time, idle and at a fraction of the
measured throughput. Prints one "RESULT {json}" line per figure, as the C++
benchmarks do. Run it through bench/jobs/compare.sh (Debian's /usr/bin/python3,
which has celery and redis).

  celery_bench.py [--tasks=10000] [--pools=prefork:1,prefork:2,prefork:4,threads:4]
"""
import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def result(**fields):
    print("RESULT " + json.dumps(fields), flush=True)


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().strip()


class Redis:
    """redis-server with the durability the comparison calls equal to
    PostgreSQL's synchronous_commit=on: every write appended to the AOF at
    once, the AOF fsynced every second (a crash of the process loses
    nothing; of the machine, up to a second). RDB snapshots are off: the AOF
    is the durability, and a snapshot's fork would only add noise."""

    def __init__(self, tmp):
        import redis
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", tmp,
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
             "--logfile", os.path.join(tmp, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.client = redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True)
        deadline = time.monotonic() + 20
        while True:
            try:
                self.client.ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.05)
        config = {}
        for name in ("appendonly", "appendfsync", "save"):
            config.update(self.client.config_get(name))
        self.durability = (f"redis AOF appendonly={config['appendonly']} "
                           f"appendfsync={config['appendfsync']}; acks_late")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Worker:
    """One `celery worker` (its own process group, so every pool process is
    stopped with it), ready once it answers a ping."""

    def __init__(self, app, env, pool, concurrency, queue, name, log_path):
        self.name = f"{name}@bench"
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "celery_noop", "worker", "--pool", pool,
             "--concurrency", str(concurrency), "-Q", queue, "-n", self.name,
             "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=HERE, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[self.name], timeout=0.5):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"celery worker did not start:\n{open(log_path).read()}")
        time.sleep(0.5)  # the pool's processes are up before the ping is answered

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # warm shutdown
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def drained(client):
    # kombu's Redis transport: the queue is the list "celery"; a delivered
    # message stays in the hash "unacked" until acknowledged, which
    # acks_late does after the task ran.
    return client.llen("celery") == 0 and client.hlen("unacked") == 0


def run_throughput(app, noop, redis_, env, tmp, pool, concurrency, tasks, timeout):
    client = redis_.client
    client.flushdb()
    # The worker consumes an empty queue at first; the backlog goes to
    # "celery"; the clock starts when the worker is told to consume it.
    # Neither enqueueing nor the worker's start-up is what is timed.
    worker = Worker(app, env, pool, concurrency, "hold", f"t-{pool}-{concurrency}",
                    os.path.join(tmp, f"worker-{pool}-{concurrency}.log"))
    try:
        t = time.monotonic()
        with app.producer_or_acquire() as producer:
            for _ in range(tasks):
                noop.apply_async(producer=producer)
        enqueue_s = time.monotonic() - t
        assert client.llen("celery") == tasks, client.llen("celery")
        start = time.monotonic()
        app.control.add_consumer("celery", destination=[worker.name], reply=True, timeout=5)
        deadline = start + timeout
        end = None
        while time.monotonic() < deadline:
            if drained(client):
                seen = time.monotonic()
                time.sleep(0.02)
                if drained(client):  # not a message between BRPOP and "unacked"
                    end = seen
                    break
            time.sleep(0.01)
        timed_out = end is None
        if timed_out:
            end = time.monotonic()
        stats = app.control.inspect([worker.name], timeout=5).stats() or {}
        done = stats.get(worker.name, {}).get("total", {}).get("bench.noop", 0)
    finally:
        worker.stop()
    seconds = end - start
    return dict(jobs=done, seconds=seconds, jobs_per_s=done / seconds, timed_out=timed_out,
                enqueue_per_s=tasks / enqueue_s)


def produce(url, rate, seconds):
    """The background load, in a process of its own so that it does not hold
    the probing process' GIL: every 10 ms the tasks due by then."""
    os.environ["BENCH_REDIS_URL"] = url
    from celery_noop import app, noop
    start = time.monotonic()
    sent = 0
    with app.producer_or_acquire() as producer:
        while time.monotonic() - start < seconds:
            due = int(rate * (time.monotonic() - start))
            for _ in range(due - sent):
                noop.apply_async(producer=producer)
            sent = max(sent, due)
            time.sleep(0.01)


def percentile(samples, q):
    # Nearest rank, as the C++ benchmarks.
    s = sorted(samples)
    i = max(1, min(len(s), int(-(-q * len(s) // 1))))
    return s[i - 1]


def run_latency(app, noop, redis_, env, tmp, pool, concurrency, rate, args):
    client = redis_.client
    client.flushdb()
    worker = Worker(app, env, pool, concurrency, "celery", f"l-{pool}-{concurrency}-{int(rate)}",
                    os.path.join(tmp, f"latency-{int(rate)}.log"))
    producer = None
    try:
        if rate > 0:
            bound = args.latency_run_timeout + args.probe_timeout + 5
            producer = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--produce",
                 f"{redis_.url},{rate},{bound}"], cwd=HERE, env=env)
            time.sleep(1)  # reach a steady state before probing
        samples, late, lost = [], 0, 0
        start = time.monotonic()
        for i in range(args.latency_probes):
            if time.monotonic() - start > args.latency_run_timeout:
                break
            time.sleep(random.uniform(10, args.probe_gap_max_ms) / 1000)
            enqueued_us = time.time_ns() // 1000
            noop.apply_async(kwargs={"probe": i})
            give_up = time.monotonic() + args.probe_timeout
            started = None
            while time.monotonic() < give_up:
                v = client.hget("bench:started", str(i))
                if v is not None:
                    started = int(v)
                    break
                time.sleep(0.001)
            if started is None:
                late += 1
                # Lost or slow? Let the worker drain what is queued, then look again.
                if producer is not None:
                    producer.terminate()
                drain_deadline = time.monotonic() + args.latency_run_timeout
                while not drained(client) and time.monotonic() < drain_deadline:
                    time.sleep(0.05)
                lost += client.hget("bench:started", str(i)) is None
                break
            samples.append((started - enqueued_us) / 1000)
    finally:
        if producer is not None:
            producer.terminate()
            producer.wait()
        worker.stop()
    return dict(probes=len(samples), late=late, lost=lost,
                p50_ms=percentile(samples, 0.5) if samples else 0,
                p99_ms=percentile(samples, 0.99) if samples else 0,
                max_ms=max(samples) if samples else 0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=10000)
    parser.add_argument("--pools", default="prefork:1,prefork:2,prefork:4,threads:4")
    parser.add_argument("--run_timeout", type=float, default=60)
    parser.add_argument("--latency_pool", default="prefork:4")
    parser.add_argument("--latency_probes", type=int, default=100)
    parser.add_argument("--latency_run_timeout", type=float, default=30)
    parser.add_argument("--probe_timeout", type=float, default=10)
    parser.add_argument("--probe_gap_max_ms", type=float, default=300)
    parser.add_argument("--load_fraction", type=float, default=0.5)
    parser.add_argument("--produce", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.produce:
        url, rate, seconds = args.produce.split(",")
        produce(url, float(rate), float(seconds))
        return

    import celery
    tmp = tempfile.mkdtemp(prefix="celery-bench-")
    redis_ = Redis(tmp)
    env = dict(os.environ, BENCH_REDIS_URL=redis_.url,
               PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    os.environ["BENCH_REDIS_URL"] = redis_.url
    from celery_noop import app, noop
    system = f"Celery {celery.__version__} + Redis {redis_.client.info()['redis_version']}"
    print(f"{system}: redis-server on 127.0.0.1:{redis_.port} ({redis_.durability}); "
          f"load average {load_average()}", flush=True)
    try:
        rates = {}
        for spec in args.pools.split(","):
            pool, concurrency = spec.split(":")
            row = run_throughput(app, noop, redis_, env, tmp, pool, int(concurrency), args.tasks,
                                 args.run_timeout)
            rates[spec] = row["jobs_per_s"]
            label = f"{concurrency} {pool} procs" if pool == "prefork" else f"{pool} pool x{concurrency}"
            print(f"  {label}: {row['jobs']} tasks in {row['seconds']:.2f} s = "
                  f"{row['jobs_per_s']:.0f} tasks/s{' (TIMED OUT)' if row['timed_out'] else ''} "
                  f"(enqueued at {row['enqueue_per_s']:.0f}/s beforehand)", flush=True)
            result(system=system, workers=label, durability=redis_.durability, **row)
        pool, concurrency = args.latency_pool.split(":")
        reference = rates.get(args.latency_pool) or max(rates.values(), default=0)
        label = f"{concurrency} {pool} procs" if pool == "prefork" else f"{pool} pool x{concurrency}"
        for fraction in (0.0, args.load_fraction):
            row = run_latency(app, noop, redis_, env, tmp, pool, int(concurrency),
                              fraction * reference, args)
            print(f"  latency, {'idle' if fraction == 0 else f'load {fraction:.0%}'}: "
                  f"p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms, "
                  f"max {row['max_ms']:.1f} ms ({row['probes']} probes, {row['late']} late, "
                  f"{row['lost']} lost; background {fraction * reference:.0f} tasks/s offered)",
                  flush=True)
            result(system=system, workers=label, latency=True, load=fraction,
                   offered_per_s=fraction * reference, durability=redis_.durability, **row)
    finally:
        redis_.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
