"""BERT (as Hugging Face's BertModel) + sentence-transformers pooling in plain
PyTorch modules, written for the reference check and the benchmark baseline:
an independent implementation of the architecture the C++ encoder runs."""
import json
import math
import os
import struct

import numpy as np
import torch
from torch import nn


class LayerNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.bias = nn.Parameter(torch.zeros(size))
        self.eps = eps

    def forward(self, x):
        return nn.functional.layer_norm(x, (x.shape[-1],), self.weight, self.bias, self.eps)


class Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h, i, eps = cfg["hidden_size"], cfg["intermediate_size"], cfg["layer_norm_eps"]
        self.heads = cfg["num_attention_heads"]
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.attn_out = nn.Linear(h, h)
        self.attn_ln = LayerNorm(h, eps)
        self.inter = nn.Linear(h, i)
        self.out = nn.Linear(i, h)
        self.out_ln = LayerNorm(h, eps)

    def forward(self, x, mask):
        b, n, h = x.shape
        d = h // self.heads

        def split(t):
            return t.view(b, n, self.heads, d).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d)
        scores = scores + (1.0 - mask[:, None, None, :]) * torch.finfo(scores.dtype).min
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, h)
        x = self.attn_ln(self.attn_out(ctx) + x)
        ffn = self.inter(x)
        ffn = nn.functional.gelu(ffn)  # the exact erf form
        return self.out_ln(self.out(ffn) + x)


class SentenceBert(nn.Module):
    def __init__(self, cfg, pooling="mean"):
        super().__init__()
        h = cfg["hidden_size"]
        self.word = nn.Embedding(cfg["vocab_size"], h)
        self.pos = nn.Embedding(cfg["max_position_embeddings"], h)
        self.token_type = nn.Embedding(cfg["type_vocab_size"], h)
        self.emb_ln = LayerNorm(h, cfg["layer_norm_eps"])
        self.layers = nn.ModuleList(Layer(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.pooling = pooling

    def forward(self, ids, mask):
        """ids, mask: [batch, len] (mask 1 for tokens, 0 for padding)."""
        pos = torch.arange(ids.shape[1])[None, :]
        x = self.emb_ln(self.word(ids) + self.pos(pos) + self.token_type(torch.zeros_like(ids)))
        mask = mask.to(x.dtype)
        for layer in self.layers:
            x = layer(x, mask)
        if self.pooling == "cls":
            pooled = x[:, 0]
        else:
            pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        return torch.nn.functional.normalize(pooled, dim=-1)

    # Hugging Face BertModel tensor names -> our parameters.
    def hf_names(self):
        names = {
            "embeddings.word_embeddings.weight": self.word.weight,
            "embeddings.position_embeddings.weight": self.pos.weight,
            "embeddings.token_type_embeddings.weight": self.token_type.weight,
            "embeddings.LayerNorm.weight": self.emb_ln.weight,
            "embeddings.LayerNorm.bias": self.emb_ln.bias,
        }
        for i, l in enumerate(self.layers):
            p = f"encoder.layer.{i}."
            for hf, mod in (("attention.self.query", l.query), ("attention.self.key", l.key),
                            ("attention.self.value", l.value),
                            ("attention.output.dense", l.attn_out),
                            ("attention.output.LayerNorm", l.attn_ln),
                            ("intermediate.dense", l.inter), ("output.dense", l.out),
                            ("output.LayerNorm", l.out_ln)):
                names[p + hf + ".weight"] = mod.weight
                names[p + hf + ".bias"] = mod.bias
        return names

    def load_safetensors(self, path):
        tensors = read_safetensors(path)
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in tensors else ""
        with torch.no_grad():
            for name, param in self.hf_names().items():
                arr = tensors[prefix + name]
                assert tuple(arr.shape) == tuple(param.shape), (name, arr.shape, param.shape)
                param.copy_(torch.from_numpy(arr.astype(np.float32)))

    def randomize(self, seed):
        """Seeded weights large enough that every layer matters."""
        rng = np.random.default_rng(seed)
        with torch.no_grad():
            for name, param in self.hf_names().items():
                shape = tuple(param.shape)
                if "LayerNorm.weight" in name:
                    arr = 1.0 + 0.1 * rng.standard_normal(shape)
                elif name.endswith(".bias"):
                    arr = 0.05 * rng.standard_normal(shape)
                elif "embeddings" in name:
                    arr = 0.5 * rng.standard_normal(shape)
                else:
                    arr = rng.standard_normal(shape) / math.sqrt(shape[1])
                param.copy_(torch.from_numpy(arr.astype(np.float32)))


_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        if info["dtype"] == "BF16":
            raw = np.frombuffer(data[base + b:base + e], dtype=np.uint16).astype(np.uint32) << 16
            arr = raw.view(np.float32)
        else:
            arr = np.frombuffer(data[base + b:base + e], dtype=_DTYPES[info["dtype"]])
        out[name] = arr.reshape(info["shape"])
    return out


def write_safetensors(path, tensors, dtype="F32"):
    """tensors: name -> float32 numpy array; stored as F32, F16 or BF16."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name], dtype=np.float32)
        if dtype == "F16":
            blob = arr.astype("<f2").tobytes()
        elif dtype == "BF16":
            bits = arr.view(np.uint32)
            rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype("<u2")
            blob = rounded.tobytes()
        else:
            blob = arr.astype("<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def write_model_dir(out_dir, model, cfg, vocab_lines, pooling, max_len, dtype="F32",
                    prefix="", vocab_format="txt", tokenizer_json_src=None):
    """Writes a sentence-transformers style directory holding `model`."""
    os.makedirs(os.path.join(out_dir, "1_Pooling"), exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(dict(cfg, architectures=["BertModel"], model_type="bert", hidden_act="gelu",
                       position_embedding_type="absolute", pad_token_id=0), f, indent=2)
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "strip_accents": None, "tokenize_chinese_chars": True,
                   "model_max_length": max_len, "tokenizer_class": "BertTokenizer"}, f, indent=2)
    with open(os.path.join(out_dir, "1_Pooling", "config.json"), "w") as f:
        json.dump({"word_embedding_dimension": cfg["hidden_size"],
                   "pooling_mode_cls_token": pooling == "cls",
                   "pooling_mode_mean_tokens": pooling == "mean"}, f, indent=2)
    if vocab_format == "txt":
        with open(os.path.join(out_dir, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write("".join(t + "\n" for t in vocab_lines))
    else:
        with open(tokenizer_json_src, "rb") as src, \
                open(os.path.join(out_dir, "tokenizer.json"), "wb") as dst:
            dst.write(src.read())
    tensors = {prefix + k: v.detach().numpy() for k, v in model.hf_names().items()}
    write_safetensors(os.path.join(out_dir, "model.safetensors"), tensors, dtype)
    # Round the PyTorch copy exactly as the stored weights were rounded.
    model.load_safetensors(os.path.join(out_dir, "model.safetensors"))


def encode(model, tokenizer, texts, batch_size=64):
    """Returns (token id lists, truncated flags, vectors as float lists)."""
    encoded = [tokenizer.encode(t) for t in texts]
    vectors = []
    with torch.no_grad():
        for start in range(0, len(encoded), batch_size):
            chunk = [ids for ids, _ in encoded[start:start + batch_size]]
            n = max(len(ids) for ids in chunk)
            ids = torch.zeros(len(chunk), n, dtype=torch.long)
            mask = torch.zeros(len(chunk), n, dtype=torch.long)
            for i, seq in enumerate(chunk):
                ids[i, :len(seq)] = torch.tensor(seq)
                mask[i, :len(seq)] = 1
            vectors.extend(model(ids, mask).tolist())
    return [ids for ids, _ in encoded], [t for _, t in encoded], vectors
