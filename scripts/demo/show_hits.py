#!/usr/bin/python3
"""Formats one `quarryctl search` JSON answer (stdin) as a short table.

    show_hits.py QUERY CLIENT_LATENCY_US < answer.json
"""
import json
import sys


def main():
    query, client_us = sys.argv[1], int(sys.argv[2])
    answer = json.load(sys.stdin)
    shards = answer.get("shards", [])
    shard_ms = ", ".join(
        f"s{s.get('shard', 0)} {int(s.get('latency_us', 0)) / 1000:.1f}ms"
        if s.get("outcome", "").endswith("ANSWERED") else f"s{s.get('shard', 0)} {s.get('outcome')}"
        for s in shards)
    embed_ms = int(answer.get("embed_latency_us", 0)) / 1000
    print(f'search "{query}": {client_us / 1000:.1f} ms end to end '
          f"(quarryctl process included; embed {embed_ms:.1f} ms, shards: {shard_ms or '-'})"
          + ("  PARTIAL" if answer.get("partial") else ""))
    hits = answer.get("hits", [])
    if not hits:
        print("    (no hits)")
    for hit in hits:
        text = " ".join(hit.get("text", "").split())
        if len(text) > 80:
            text = text[:77] + "..."
        print(f"  {hit.get('score', 0):7.4f}  {hit.get('id', ''):<28} {text}")


if __name__ == "__main__":
    main()
