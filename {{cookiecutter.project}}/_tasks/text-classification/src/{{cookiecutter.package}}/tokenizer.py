"""The tokenizer that travels with the model: learned on the training split (or a pretrained model's own), saved
with the model in MLflow and inside the bento, and read back from there by evaluation, the gate, the drift check and
the service. Nothing rebuilds it from defaults or fetches it by name at serving time.

Its settings (schema.py: MAX_TOKENS, LOWERCASE, TRUNCATION) are part of the saved tokenizer itself (Hugging Face
`tokenizers`: its normaliser, truncation and padding), so they cannot differ between training and serving either.
"""

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tokenizers import Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import WordLevel
from torch import nn

from .schema import CLASSES, LOWERCASE, MAX_TOKENS, TRUNCATION, VOCAB_SIZE
from .texts import non_letter_share

PAD, UNKNOWN = "[PAD]", "[UNK]"
TOKENIZER_FILE, SETTINGS_FILE = "tokenizer.json", "encoder.json"


def learn(texts: list[str], vocab_size: int = VOCAB_SIZE, lowercase: bool = LOWERCASE) -> Tokenizer:
    """A word-level tokenizer learned on `texts`: BERT's normaliser and word splitting, the vocab_size - 2 most
    frequent words (ties in alphabetical order), [PAD] as id 0 and [UNK] for any other word.

    The vocabulary is counted here rather than by a `tokenizers` trainer: those break ties between equally frequent
    pieces in hash order, so two runs on the same texts learned different ids and the same seed trained different
    weights."""
    normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    splitter = pre_tokenizers.BertPreTokenizer()
    counts = Counter(word for text in texts for word, _ in splitter.pre_tokenize_str(normalizer.normalize_str(text)))
    words = sorted(counts, key=lambda word: (-counts[word], word))[: max(vocab_size - 2, 0)]
    vocabulary = {PAD: 0, UNKNOWN: 1} | {word: index for index, word in enumerate(words, start=2)}
    tokenizer = Tokenizer(WordLevel(vocabulary, unk_token=UNKNOWN))
    tokenizer.normalizer, tokenizer.pre_tokenizer = normalizer, splitter
    return tokenizer


def pretrained_tokenizer(source: str) -> Tokenizer:
    """The fast tokenizer of a pretrained transformer (a local folder, or a hub id already in the local cache)."""
    from transformers import AutoTokenizer

    loaded = AutoTokenizer.from_pretrained(source)
    if not loaded.is_fast:
        raise ValueError(f"{source}: its tokenizer has no fast (Rust) version, which the model must carry")
    if loaded.pad_token_id is None:
        raise ValueError(f"{source}: its tokenizer has no padding token; set one and save it to a folder")
    tokenizer = Tokenizer.from_str(loaded.backend_tokenizer.to_str())
    tokenizer.enable_padding(pad_id=loaded.pad_token_id, pad_token=loaded.pad_token)
    return tokenizer


class Encoder:
    """Texts -> token ids as the model reads them: the tokenizer with its truncation and padding, and the labels."""

    def __init__(self, tokenizer: Tokenizer, settings: dict):
        self.settings = settings
        padding = tokenizer.padding or {}
        self.pad_id = padding.get("pad_id", 0)
        tokenizer.enable_truncation(max_length=settings["max_tokens"], direction=settings["truncation"])
        tokenizer.enable_padding(
            pad_id=self.pad_id, pad_token=padding.get("pad_token", PAD), length=settings["max_tokens"]
        )
        self.tokenizer = tokenizer
        self.counter = Tokenizer.from_str(tokenizer.to_str())  # the same, uncut and unpadded: a text's true length
        self.counter.no_truncation()
        self.counter.no_padding()
        self.vocabulary = set(tokenizer.get_vocab())

    @classmethod
    def fitted(cls, tokenizer: Tokenizer, pretrained: str | None = None) -> "Encoder":
        settings = {"max_tokens": MAX_TOKENS, "truncation": TRUNCATION, "lowercase": LOWERCASE,
                    "classes": list(map(str, CLASSES)), "pretrained": pretrained}  # fmt: skip
        return cls(tokenizer, settings)

    def ids(self, texts: list[str]) -> np.ndarray:
        """(texts, MAX_TOKENS) int64 token ids, padded; a longer text cut at TRUNCATION's end."""
        return np.asarray([encoding.ids for encoding in self.tokenizer.encode_batch(list(texts))], dtype=np.int64)

    def stats(self, texts: list[str]) -> pd.DataFrame:
        """What the drift check compares per text: its length in characters and in tokens (uncut), the share of its
        words the tokenizer's vocabulary lacks as a whole word (read as [UNK], or in pieces), and the share of
        non-letters."""
        texts = list(texts)
        encodings = self.counter.encode_batch(texts)
        unknown = []
        for text in texts:
            normalised = self.counter.normalizer.normalize_str(text) if self.counter.normalizer else text
            words = [word for word, _ in self.counter.pre_tokenizer.pre_tokenize_str(normalised) if word.isalpha()]
            unknown.append(sum(word not in self.vocabulary for word in words) / len(words) if words else 0.0)
        return pd.DataFrame(
            {
                "chars": [float(len(text)) for text in texts],
                "tokens": [float(len(encoding.ids)) for encoding in encodings],
                "unknown_share": unknown,
                "non_letter_share": non_letter_share(texts),
            }
        )

    def save(self, folder: Path) -> list[Path]:
        tokenizer, settings = folder / TOKENIZER_FILE, folder / SETTINGS_FILE
        self.tokenizer.save(str(tokenizer))
        settings.write_text(json.dumps(self.settings, indent=2) + "\n")
        return [tokenizer, settings]

    @classmethod
    def load(cls, folder: Path) -> "Encoder":
        tokenizer, settings = folder / TOKENIZER_FILE, folder / SETTINGS_FILE
        if not tokenizer.is_file() or not settings.is_file():
            raise FileNotFoundError(
                f"{folder}: no {TOKENIZER_FILE} and {SETTINGS_FILE}. A text model carries its tokenizer; this one "
                "was logged without it (retrain it: `make pipeline`)"
            )
        encoder = cls(Tokenizer.from_file(str(tokenizer)), json.loads(settings.read_text()))
        if encoder.settings["classes"] != list(map(str, CLASSES)):
            raise ValueError(
                f"{folder}: the model's classes {encoder.settings['classes']} are not the contract's {CLASSES}"
            )
        return encoder


class TextInputs(nn.Module):
    """The model's input layer: the tokenizer (in its state, so checkpoints carry it) and, for the network learned
    from scratch, the weighted bag of words and word pairs fitted on the training split (network.WeightedBag).

    Given texts (training batches) it tokenizes them itself, so the model trains on exactly what its own tokenizer
    makes; the exported program takes token ids (tokenized by the same tokenizer, saved beside it). With a
    pretrained transformer it hands the ids on as they are.
    """

    def __init__(
        self, num_features: int, pretrained: str | None = None, embedding_dim: int = 64, bigram_buckets: int = 65536
    ):
        super().__init__()
        from .network import WeightedBag

        self.pretrained = pretrained
        self.bag = None if pretrained else WeightedBag(embedding_dim, bigram_buckets)
        self.width = num_features if pretrained else embedding_dim
        self.encoder: Encoder | None = None
        self.register_buffer("device_marker", torch.zeros(0), persistent=False)

    def fit(self, texts: list[str]) -> None:
        """Learn the tokenizer on the training texts (or take the pretrained model's own), then the bag's weights."""
        tokenizer = pretrained_tokenizer(self.pretrained) if self.pretrained else learn(list(texts))
        self.encoder = Encoder.fitted(tokenizer, self.pretrained)
        if self.bag is not None:
            self.bag.fit(torch.from_numpy(self.encoder.ids(list(texts))), self.encoder.pad_id)

    def ids(self, features) -> torch.Tensor:
        if isinstance(features, torch.Tensor):
            return features
        if self.encoder is None:
            raise RuntimeError("the tokenizer is not fitted: call Classifier.fit_inputs(training texts) first")
        return torch.from_numpy(self.encoder.ids(list(features))).to(self.device_marker.device)

    def forward(self, features) -> torch.Tensor:
        ids = self.ids(features)
        return ids if self.bag is None else self.bag(ids)

    def get_extra_state(self) -> dict:
        if self.encoder is None:
            return {}
        return {"tokenizer": self.encoder.tokenizer.to_str(), "settings": self.encoder.settings}

    def set_extra_state(self, state: dict) -> None:
        if state:
            self.encoder = Encoder(Tokenizer.from_str(state["tokenizer"]), state["settings"])
