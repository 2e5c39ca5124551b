"""What a text model's input layer (tokenizer.TextInputs) must learn from the training texts, and what its batches
hold."""

import numpy as np
import torch

from {{ cookiecutter.package }}.features import NUM_INPUTS
from {{ cookiecutter.package }}.network import PAIR_PRIME
from {{ cookiecutter.package }}.schema import VOCAB_SIZE
from {{ cookiecutter.package }}.tokenizer import learn


def fitted_state(features: list[str], inputs) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The token ids the layer gives the first training texts, against those of a tokenizer the same trainer learns
    here on the same texts, cut and padded to the model's width; and the inverse document frequency of every word and
    word pair, counted here with numpy (scikit-learn's smoothed formula)."""
    texts = list(features)
    expected = learn(texts)
    expected.enable_truncation(max_length=NUM_INPUTS, direction=inputs.encoder.settings["truncation"])
    expected.enable_padding(pad_id=0, length=NUM_INPUTS)
    ids = np.asarray([encoding.ids for encoding in expected.encode_batch(texts)], dtype=np.int64)
    buckets = inputs.bag.buckets
    documents = np.zeros(VOCAB_SIZE + buckets)
    for row in ids:
        words = row[row != 0]
        pairs = (words[:-1] * PAIR_PRIME + words[1:]) % buckets + VOCAB_SIZE
        documents[np.unique(np.concatenate([words, pairs]))] += 1
    idf = np.log((1 + len(ids)) / (1 + documents)) + 1
    return {
        "token ids": (inputs.ids(texts[:50]), torch.from_numpy(ids[:50])),
        "idf": (inputs.bag.idf, torch.as_tensor(idf, dtype=torch.float32)),
    }


def random_inputs(count: int) -> torch.Tensor:
    """What the exported model takes: token ids of the model's width."""
    return torch.randint(0, VOCAB_SIZE, (count, NUM_INPUTS))


def check_batch(features: list[str]) -> None:
    """A training batch holds the texts themselves: the model tokenizes them with its own tokenizer."""
    assert all(isinstance(text, str) and text.strip() for text in features)


def distinct_batch(dataset, count: int) -> tuple[list[str], torch.Tensor]:
    """Up to `count` of the dataset's texts, in order, each unlike every earlier one."""
    seen, kept = set(), []
    for index in range(len(dataset)):
        if dataset.texts[index] not in seen:
            seen.add(dataset.texts[index])
            kept.append(index)
        if len(kept) == count:
            break
    return [dataset.texts[index] for index in kept], dataset.labels[torch.as_tensor(kept)]
