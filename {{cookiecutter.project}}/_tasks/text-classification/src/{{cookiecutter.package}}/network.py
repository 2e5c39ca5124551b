"""The network inside the classifier: token ids in, class logits out.

By default a network learned from scratch: each text is the sum of its words' and word pairs' embeddings, weighted
by TF-IDF (the inverse document frequencies fitted on the training split, the vector scaled to length 1: the input a
strong linear baseline reads), then a dense head. With `pretrained` (configs/model.yaml, or PRETRAINED=<folder or hub
id> on the command line) a transformer with a classification head (Hugging Face `transformers`), fine-tuned whole;
its own tokenizer comes with it (tokenizer.pretrained_tokenizer).
"""

from collections.abc import Sequence

import torch
from torch import nn

from .schema import VOCAB_SIZE

PAIR_PRIME = 1_000_003  # word pairs are hashed into bigram_buckets: (first * PAIR_PRIME + second) % buckets


class WeightedBag(nn.Module):
    """Token ids -> the TF-IDF-weighted sum of the embeddings of the text's words and hashed word pairs.

    `fit` counts, on the training split's ids, in how many texts each word and pair occurs (scikit-learn's smoothed
    inverse document frequency); padding counts for nothing. The embeddings start small, so the first steps learn
    what a linear model over TF-IDF would, and the rest of the network builds on it.
    """

    def __init__(self, embedding_dim: int, buckets: int):
        super().__init__()
        self.buckets, self.pad_id = buckets, 0
        self.table = nn.Embedding(VOCAB_SIZE + buckets, embedding_dim)
        nn.init.uniform_(self.table.weight, -((VOCAB_SIZE + buckets) ** -0.5), (VOCAB_SIZE + buckets) ** -0.5)
        self.register_buffer("idf", torch.ones(VOCAB_SIZE + buckets))

    def keys(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each word's id and each pair's bucket (after the words), and which of them are not padding."""
        present = ids != self.pad_id
        pairs = (ids[:, :-1] * PAIR_PRIME + ids[:, 1:]) % self.buckets + VOCAB_SIZE
        return torch.cat([ids, pairs], dim=1), torch.cat([present, present[:, :-1] & present[:, 1:]], dim=1)

    def fit(self, ids: torch.Tensor, pad_id: int = 0) -> None:
        self.pad_id = pad_id
        keys, present = self.keys(ids)
        counts = torch.zeros(len(self.idf), dtype=torch.float64)
        for row, kept in zip(keys, present, strict=True):
            counts[torch.unique(row[kept])] += 1
        self.idf.copy_((torch.log((1 + len(ids)) / (1 + counts)) + 1).float())

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        keys, present = self.keys(ids)
        weights = self.idf[keys] * present.to(self.idf.dtype)
        weights = weights / weights.pow(2).sum(dim=1, keepdim=True).sqrt().clamp_min(1e-6)
        return (self.table(keys) * weights.unsqueeze(-1)).sum(dim=1)


class Pretrained(nn.Module):
    """A pretrained transformer with a new classification head; attention skips the padding."""

    def __init__(self, source: str, num_classes: int):
        super().__init__()
        from transformers import AutoModelForSequenceClassification

        self.model = AutoModelForSequenceClassification.from_pretrained(
            source, num_labels=num_classes, ignore_mismatched_sizes=True
        )
        self.pad_id = self.model.config.pad_token_id if self.model.config.pad_token_id is not None else 0

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=ids, attention_mask=(ids != self.pad_id).long()).logits


def build(
    num_inputs: int,
    num_classes: int,
    hidden_sizes: Sequence[int] = (),
    dropout: float = 0.3,
    pretrained: str | None = None,
    **_: object,
) -> nn.Module:
    """The head over the input layer's text vectors (`num_inputs` wide), or the pretrained transformer over ids."""
    if pretrained:
        return Pretrained(pretrained, num_classes)
    layers: list[nn.Module] = []
    size = num_inputs
    for hidden in hidden_sizes:
        layers += [nn.Dropout(dropout), nn.Linear(size, hidden), nn.ReLU()]
        size = hidden
    layers += [nn.Dropout(dropout), nn.Linear(size, num_classes)]
    return nn.Sequential(*layers)
