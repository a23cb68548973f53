#!/usr/bin/python3
"""Writes small seeded-random BERT models and PyTorch reference vectors for the
C++ encoder's reference test (run by a genrule; nothing here is committed but
the script).

  make_reference.py --shared_dir DIR --out_dir DIR
    DIR/tiny_model/        2 layers, hidden 64, 4 heads, mean pooling, F32
    DIR/tiny_cls_model/    3 layers, hidden 48, 3 heads, CLS pooling, F16,
                           "bert." names, tokenizer.json instead of vocab.txt
    DIR/tiny_reference.json      sentences, token ids, vectors of both models
    DIR/real_reference.json      the same for the pretrained model when
                                 SHARED_DIR/model.safetensors exists, else
                                 {"available": false}

  make_reference.py --shared_dir DIR --write_minilm_random DIR2 [--seed N]
    writes a model with exactly all-MiniLM-L6-v2's architecture and seeded
    random weights (for the benchmark when real weights are missing).

Run with Debian's /usr/bin/python3 (python3-torch, python3-numpy).
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bert_tokenizer  # noqa: E402
import torch_bert  # noqa: E402

LONG = ("The quick brown fox jumps over the lazy dog while the committee debates, at "
        "considerable length, whether the minutes of the previous meeting should record "
        "every single objection raised by members who arrived late, left early, or never "
        "read the agenda in the first place; meanwhile, the coffee went cold. ")

SENTENCES = [
    "Hello, world!",
    "A quick test.",
    "terminal file manager",
    "How do I reset my password?",
    "The cat sat on the mat.",
    "Vector databases store embeddings for similarity search.",
    "PostgreSQL is the only durable store.",
    "I can't believe it's not butter!",
    "e-mail: someone@example.com, phone +1 (555) 010-9999.",
    "Prices rose 3.5% in Q3 2023, to $1,234.56 per unit.",
    "Café au lait, naïve résumé, coöperate.",
    "Ångström, Dvořák and Łódź are spelled with diacritics.",
    "São Paulo é a maior cidade do Brasil.",
    "Die Straße ist nass, weil es regnet.",
    "Tiếng Việt có nhiều dấu thanh.",
    "İstanbul'da hava çok güzel.",
    "ΟΔΟΣ ΣΤΟΝ ΣΙΣΥΦΟ",
    "Σίσυφος και ο βράχος.",
    "Привет, мир! Ёлка и ёж.",
    "Москва — столица России.",
    "我爱自然语言处理。",
    "日本語のテキストを処理します。",
    "がぎぐげご パピプペポ",
    "한국어 문장을 토큰화합니다.",
    "中文English混合text测试",
    "مرحبا بالعالم",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "def f(x): return x ** 2  # square",
    "SELECT id, name FROM users WHERE age >= 21 ORDER BY name;",
    "std::vector<float> v{1.0f, 2.0f};",
    "https://example.com/path?query=1&b=two#frag",
    "Emoji: 😀🚀 and symbols © ® ™ € £ ¥",
    "Zero\u200bwidth space and soft\u00adhyphen",
    "Tabs\tand\nnewlines\r\nare whitespace",
    "Non\u00a0breaking\u3000ideographic space",
    "Control\u0007char and \u0000 nul",
    "\u200b\u0007\u200b",
    "...",
    "¿Qué? ¡Sí! «Bonjour» „Hallo“ ‘quoted’ “double”",
    "Fullwidth ＡＢＣ！ １２３",
    "Ligature ﬁ and ﬂ, roman numeral Ⅻ, circled ⓐ",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "xqzvbnmwrtplk qqqjjjzzz",
    "a" * 120,
    "The year 1999, the number 42 and 3.14159.",
    "UPPER lower MiXeD CaSe",
    "don't won't shouldn't y'all",
    "well-known state-of-the-art end-to-end",
    "a b c d e f g",
    "x",
    "Embedding service: text → vectors, batched & cached.",
    "Ⅰ ⅱ Ⅲ, ß ẞ, ﬀ, Ǆ ǅ ǆ",
    "Ｈｅｌｌｏ　Ｗｏｒｌｄ",
    LONG,
    LONG * 3,
    "word " * 300,
]

TINY = dict(vocab_size=30522, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=128, max_position_embeddings=64, type_vocab_size=2,
            layer_norm_eps=1e-12)
TINY_CLS = dict(vocab_size=30522, hidden_size=48, num_hidden_layers=3, num_attention_heads=3,
                intermediate_size=96, max_position_embeddings=40, type_vocab_size=2,
                layer_norm_eps=1e-12)
MINILM = dict(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
              intermediate_size=1536, max_position_embeddings=512, type_vocab_size=2,
              layer_norm_eps=1e-12)


def model_entry(model, tokenizer, name):
    ids, truncated, vectors = torch_bert.encode(model, tokenizer, SENTENCES)
    return {"name": name, "token_ids": ids, "truncated": truncated,
            "vectors": [[round(v, 7) for v in vec] for vec in vectors]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared_dir", required=True)
    parser.add_argument("--out_dir")
    parser.add_argument("--write_minilm_random")
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()
    torch.set_num_threads(1)
    vocab_path = os.path.join(args.shared_dir, "vocab.txt")
    vocab = bert_tokenizer.BertTokenizer.read_vocab(vocab_path)

    if args.write_minilm_random:
        torch.manual_seed(args.seed)
        model = torch_bert.SentenceBert(MINILM, "mean")
        model.randomize(args.seed)
        torch_bert.write_model_dir(args.write_minilm_random, model, MINILM, vocab, "mean", 256)
        return 0

    torch.manual_seed(args.seed)
    os.makedirs(args.out_dir, exist_ok=True)
    tiny = torch_bert.SentenceBert(TINY, "mean")
    tiny.randomize(args.seed)
    torch_bert.write_model_dir(os.path.join(args.out_dir, "tiny_model"), tiny, TINY, vocab,
                               "mean", TINY["max_position_embeddings"])
    tiny_cls = torch_bert.SentenceBert(TINY_CLS, "cls")
    tiny_cls.randomize(args.seed + 1)
    torch_bert.write_model_dir(os.path.join(args.out_dir, "tiny_cls_model"), tiny_cls, TINY_CLS,
                               vocab, "cls", TINY_CLS["max_position_embeddings"], dtype="F16",
                               prefix="bert.", vocab_format="json",
                               tokenizer_json_src=os.path.join(args.shared_dir, "tokenizer.json"))
    tok = bert_tokenizer.BertTokenizer(vocab, max_len=TINY["max_position_embeddings"])
    tok_cls = bert_tokenizer.BertTokenizer(vocab, max_len=TINY_CLS["max_position_embeddings"])
    reference = {"sentences": SENTENCES,
                 "models": [model_entry(tiny, tok, "tiny_model"),
                            model_entry(tiny_cls, tok_cls, "tiny_cls_model")]}
    with open(os.path.join(args.out_dir, "tiny_reference.json"), "w", encoding="utf-8") as f:
        json.dump(reference, f, ensure_ascii=False)

    real = {"available": False}
    weights = os.path.join(args.shared_dir, "model.safetensors")
    if os.path.exists(weights):
        with open(os.path.join(args.shared_dir, "config.json")) as f:
            cfg = json.load(f)
        pooling = "mean"
        pool_path = os.path.join(args.shared_dir, "1_Pooling", "config.json")
        if os.path.exists(pool_path):
            with open(pool_path) as f:
                pooling = "cls" if json.load(f).get("pooling_mode_cls_token") else "mean"
        model = torch_bert.SentenceBert(cfg, pooling)
        model.load_safetensors(weights)
        max_len = min(cfg["max_position_embeddings"], 256)
        st_path = os.path.join(args.shared_dir, "sentence_bert_config.json")
        if os.path.exists(st_path):
            with open(st_path) as f:
                max_len = min(cfg["max_position_embeddings"], json.load(f)["max_seq_length"])
        tok_real = bert_tokenizer.BertTokenizer(vocab, max_len=max_len)
        real = {"available": True, "sentences": SENTENCES,
                "models": [model_entry(model, tok_real, os.path.basename(
                    os.path.normpath(args.shared_dir)))]}
    with open(os.path.join(args.out_dir, "real_reference.json"), "w", encoding="utf-8") as f:
        json.dump(real, f, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
