#!/usr/bin/python3
"""Writes the benchmark's input texts: 64 short (~12 tokens with [CLS]/[SEP])
and 64 long (~128 tokens) English-like sentences, deterministic, so that the
C++ and PyTorch runs embed exactly the same texts."""
import json
import random
import sys

WORDS = ("the a service vector search index query document embedding model batch token "
         "latency throughput replica shard database postgres worker queue job cache "
         "request response client server cluster network memory thread encoder layer "
         "attention matrix weight sentence similar result ranking score user data file "
         "system runs stores returns finds quickly slowly every new old large small "
         "fast simple robust").split()


def sentence(rng, words):
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def main():
    rng = random.Random(42)
    # Words here are single WordPiece tokens; "." and [CLS]/[SEP] add three.
    data = {"short": [sentence(rng, 8) for _ in range(64)],
            "long": [sentence(rng, 108) for _ in range(64)]}
    json.dump(data, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
