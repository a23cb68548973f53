"""A local stand-in for the rate-limited external step of the triage flow (in
production an LLM or a ticketing API): POST /advice with
{"error": ..., "similar": [{"id", "score", "resolution"}, ...]} answers
{"advice": ...}. It allows --limit requests in any --window seconds (60: a
per-minute quota) and answers 429 with Retry-After, the seconds until the
oldest request in the window ages out, beyond that, as real providers do.

Every request is appended to --requests_log as one JSON line (time, status,
retry_after, job) so that a test can check what the worker did with a 429.
Binds 127.0.0.1 only; --port 0 picks a free port, written to --port_file.

    python3 advisor.py --port 8089 --limit 3
"""
import argparse
import collections
import http.server
import json
import math
import os
import threading
import time


class Quota:
    """At most `limit` requests in any `window` seconds (a sliding log)."""

    def __init__(self, limit, window):
        self._limit = limit
        self._window = window
        self._times = collections.deque()
        self._lock = threading.Lock()

    def take(self, now):
        """0 when this request may go ahead, else whole seconds to wait."""
        with self._lock:
            while self._times and self._times[0] <= now - self._window:
                self._times.popleft()
            if len(self._times) < self._limit:
                self._times.append(now)
                return 0
            return max(1, math.ceil(self._times[0] + self._window - now))


def advice_for(error, similar):
    if not similar:
        return f"No similar past failure; open a new incident for: {error[:200]}"
    best = similar[0]
    return (f"Looks like past failure {best['id']} (score {best['score']:.2f}). "
            f"What fixed it then: {best.get('resolution') or 'not recorded'}")


def make_handler(quota, log_path, log_lock):
    class Handler(http.server.BaseHTTPRequestHandler):
        def _record(self, status, retry_after):
            entry = {"at": time.time(), "status": status, "retry_after": retry_after,
                     "job": self.headers.get("X-Quarry-Job", "")}
            if log_path:
                with log_lock, open(log_path, "a") as f:
                    f.write(json.dumps(entry) + "\n")

        def _answer(self, status, body, headers=()):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):  # noqa: N802: http.server's naming
            if self.path != "/advice":
                self._answer(404, {"error": f"no such endpoint {self.path}"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            try:
                request = json.loads(self.rfile.read(length) or b"{}")
                error, similar = str(request["error"]), list(request.get("similar", []))
            except (ValueError, KeyError, TypeError) as e:
                self._answer(400, {"error": f"bad request: {e}"})
                return
            wait = quota.take(time.time())
            self._record(429 if wait else 200, wait)
            if wait:
                self._answer(429, {"error": "too many requests"}, [("Retry-After", str(wait))])
                return
            self._answer(200, {"advice": advice_for(error, similar)})

        def log_message(self, fmt, *args):
            print(f"advisor: {self.address_string()} {fmt % args}", flush=True)

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--limit", type=int, default=3, help="requests allowed per window")
    parser.add_argument("--window", type=float, default=60.0, help="seconds")
    parser.add_argument("--port_file", default="")
    parser.add_argument("--requests_log", default="")
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", args.port),
        make_handler(Quota(args.limit, args.window), args.requests_log, threading.Lock()))
    port = server.server_address[1]
    if args.port_file:
        # Written whole, then renamed: a reader never sees a partial number.
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, args.port_file)
    print(f"advisor on http://127.0.0.1:{port}/advice: {args.limit} requests per "
          f"{args.window:g} s", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
