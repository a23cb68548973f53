#!/usr/bin/python3
"""Reads the "RESULT {json}" lines of the job-queue benchmarks (files given
as arguments) and prints compare.sh's table: one row per system and worker
configuration, with its throughput and, where measured, its enqueue -> start
latency idle and under load."""
import json
import sys


def main():
    rows, latency = [], {}
    for path in sys.argv[1:]:
        with open(path) as f:
            for line in f:
                if not line.startswith("RESULT "):
                    continue
                r = json.loads(line[len("RESULT "):])
                key = (r["system"], r["workers"], r["durability"])
                if r.get("latency"):
                    latency.setdefault(key, {})["idle" if r["load"] == 0 else "load"] = r
                else:
                    rows.append(r)
    keys = [(r["system"], r["workers"], r["durability"]) for r in rows]
    for key in latency:
        if key not in keys:
            rows.append({"system": key[0], "workers": key[1], "durability": key[2]})

    def lat(key, which):
        r = latency.get(key, {}).get(which)
        if r is None:
            return "—"
        text = f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f}"
        if which == "load":
            text += f" @{r['offered_per_s']:.0f}/s"
        if r.get("late"):
            text += f" ({r['late']} late, {r['lost']} lost)"
        return text + f" (n={r['probes']})"

    print("| system | workers | jobs/s | start latency p50 / p99 ms, idle | "
          "p50 / p99 ms, 50% load | durability |")
    print("|---|---|---:|---|---|---|")
    for r in rows:
        key = (r["system"], r["workers"], r["durability"])
        rate = "—"
        if "jobs_per_s" in r:
            rate = f"{r['jobs_per_s']:.0f}"
            if r.get("timed_out"):
                rate += f" (TIMED OUT, {r['jobs']} done)"
        print(f"| {r['system']} | {r['workers']} | {rate} | {lat(key, 'idle')} | "
              f"{lat(key, 'load')} | {r['durability']} |")

    target = [r for r in rows if r["system"].startswith("Quarry in-process Runner")
              and r.get("threads") == 4 and "synchronous_commit=on" in r["durability"]
              and "fsync=on" in r["durability"] and "jobs_per_s" in r]
    for r in target:
        verdict = "met" if r["jobs_per_s"] >= 5000 else "MISSED"
        print(f"\nTarget >= 5000 jobs/s, in-process Runner, 4 threads, fsync and "
              f"synchronous_commit on: {r['jobs_per_s']:.0f} jobs/s ({verdict}).")


if __name__ == "__main__":
    main()
