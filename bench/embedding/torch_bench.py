#!/usr/bin/python3
"""PyTorch CPU throughput of the same model (reference/torch_bert.py) on the
same inputs: torch.set_num_threads(2), torch.no_grad(), padded batches.
Prints one JSON object per configuration, like encoder_bench."""
import argparse
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "services", "embedding", "reference"))
import bert_tokenizer  # noqa: E402
import torch_bert  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model_dir", required=True)
    parser.add_argument("--inputs", required=True)
    parser.add_argument("--batch_sizes", default="1,8,32,64")
    parser.add_argument("--min_seconds", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with open(os.path.join(args.model_dir, "config.json")) as f:
        cfg = json.load(f)
    model = torch_bert.SentenceBert(cfg, "mean")
    model.load_safetensors(os.path.join(args.model_dir, "model.safetensors"))
    model.eval()
    vocab = bert_tokenizer.BertTokenizer.read_vocab(os.path.join(args.model_dir, "vocab.txt"))
    tokenizer = bert_tokenizer.BertTokenizer(vocab, max_len=256)
    with open(args.inputs) as f:
        inputs = json.load(f)
    for kind in ("short", "long"):
        for batch in (int(b) for b in args.batch_sizes.split(",")):
            texts = [inputs[kind][i % len(inputs[kind])] for i in range(batch)]
            seqs = [tokenizer.encode(t)[0] for t in texts]
            tokens = sum(len(s) for s in seqs)
            # PyTorch's best case: tokenized and padded once, only the model is
            # timed (the C++ figures include tokenization).
            n = max(len(s) for s in seqs)
            ids = torch.zeros(batch, n, dtype=torch.long)
            mask = torch.zeros(batch, n, dtype=torch.long)
            for i, seq in enumerate(seqs):
                ids[i, :len(seq)] = torch.tensor(seq)
                mask[i, :len(seq)] = 1
            with torch.no_grad():
                model(ids, mask)  # warm-up
                iterations, start = 0, time.perf_counter()
                while True:
                    model(ids, mask)
                    iterations += 1
                    elapsed = time.perf_counter() - start
                    if elapsed >= args.min_seconds and iterations >= 3:
                        break
            print(json.dumps({"impl": "torch", "texts": kind, "batch": batch,
                              "tokens_per_text": tokens / batch,
                              "sentences_per_s": batch * iterations / elapsed,
                              "tokens_per_s": tokens * iterations / elapsed}), flush=True)

if __name__ == "__main__":
    main()
