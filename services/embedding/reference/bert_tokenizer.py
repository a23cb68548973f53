"""A small pure-Python BERT tokenizer (BasicTokenizer + WordPiece), written
independently of the C++ one from the algorithm of Google's BERT / Hugging
Face's BertTokenizer, using Python's own unicodedata and str.lower(). The C++
tokenizer must produce exactly these ids.

Like the Rust `tokenizers` BertNormalizer, it does not NFC-compose the input
first, and it does not treat literal "[CLS]"-style strings in the text as
special tokens (user text must not be able to inject them).
"""
import unicodedata


def _is_whitespace(ch):
    if ch in (" ", "\t", "\n", "\r"):
        return True
    return unicodedata.category(ch) == "Zs"


def _is_control(ch):
    if ch in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(ch).startswith("C")


def _is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


class BertTokenizer:
    def __init__(self, vocab, lower_case=True, strip_accents=None, max_len=512):
        self.vocab = {}
        for i, tok in enumerate(vocab):
            self.vocab.setdefault(tok, i)
        self.lower_case = lower_case
        self.strip_accents = lower_case if strip_accents is None else strip_accents
        self.max_len = max_len

    @staticmethod
    def read_vocab(path):
        with open(path, encoding="utf-8") as f:
            return [line.rstrip("\n").rstrip("\r") for line in f]

    def basic(self, text):
        cleaned = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or _is_control(ch):
                continue
            if _is_whitespace(ch):
                cleaned.append(" ")
            elif _is_cjk(cp):
                cleaned.append(" " + ch + " ")
            else:
                cleaned.append(ch)
        out = []
        for word in "".join(cleaned).split():
            if self.lower_case:
                word = word.lower()
            if self.strip_accents:
                word = "".join(c for c in unicodedata.normalize("NFD", word)
                               if unicodedata.category(c) != "Mn")
            current = ""
            for ch in word:
                if _is_punctuation(ch):
                    if current:
                        out.append(current)
                    current = ""
                    out.append(ch)
                else:
                    current += ch
            if current:
                out.append(current)
        return out

    def wordpiece(self, word):
        if len(word) > 100:
            return [self.vocab["[UNK]"]]
        pieces, start = [], 0
        while start < len(word):
            end, found = len(word), None
            while start < end:
                sub = word[start:end]
                if start > 0:
                    sub = "##" + sub
                if sub in self.vocab:
                    found = self.vocab[sub]
                    break
                end -= 1
            if found is None:
                return [self.vocab["[UNK]"]]
            pieces.append(found)
            start = end
        return pieces

    def encode(self, text):
        """Returns (ids with [CLS]/[SEP], truncated)."""
        ids = []
        for word in self.basic(text):
            ids.extend(self.wordpiece(word))
        truncated = len(ids) > self.max_len - 2
        ids = ids[: self.max_len - 2]
        return [self.vocab["[CLS]"]] + ids + [self.vocab["[SEP]"]], truncated
