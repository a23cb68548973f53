#!/usr/bin/python3
"""Reads the JSON lines of encoder_bench and torch_bench from stdin and prints
a comparison table (ratio = C++ / PyTorch sentences per second)."""
import json
import sys


def main():
    rows = {}
    for line in sys.stdin:
        line = line.strip()
        if line.startswith("{"):
            r = json.loads(line)
            rows[(r["impl"], r["texts"], r["batch"])] = r
    print(f"{'texts':<6} {'batch':>5} {'tok/text':>8} | {'C++ sent/s':>10} {'C++ tok/s':>10} | "
          f"{'torch sent/s':>12} {'torch tok/s':>11} | {'ratio':>5}")
    for (impl, texts, batch), cpp in sorted(rows.items(), key=lambda kv: (kv[0][1] != "short",
                                                                          kv[0][2])):
        if impl != "cpp":
            continue
        torch = rows.get(("torch", texts, batch))
        t_sent = f"{torch['sentences_per_s']:12.1f}" if torch else f"{'-':>12}"
        t_tok = f"{torch['tokens_per_s']:11.0f}" if torch else f"{'-':>11}"
        ratio = f"{cpp['sentences_per_s'] / torch['sentences_per_s']:5.2f}" if torch else "    -"
        print(f"{texts:<6} {batch:>5} {cpp['tokens_per_text']:>8.1f} | "
              f"{cpp['sentences_per_s']:>10.1f} {cpp['tokens_per_s']:>10.0f} | {t_sent} {t_tok} | "
              f"{ratio}")


if __name__ == "__main__":
    main()
