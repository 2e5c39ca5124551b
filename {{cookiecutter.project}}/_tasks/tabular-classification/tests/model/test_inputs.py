"""The network's inputs for a table: missing values and categories it never saw (the tabular task's own tests)."""

import itertools

import torch

from {{ cookiecutter.package }}.data import datamodule
from {{ cookiecutter.package }}.features import CATEGORIES, FEATURES, NUM_INPUTS
from {{ cookiecutter.package }}.model import Classifier, Probabilities
from {{ cookiecutter.package }}.schema import CLASSES


def _model(**kwargs) -> Classifier:
    return Classifier(num_features=NUM_INPUTS, num_classes=len(CLASSES), **kwargs)


def test_missing_values_and_unseen_categories_are_answered_like_unknowns(splits):
    """A missing value takes the training mean (with its flag); a category training never saw is 'unknown'."""
    features = torch.cat(list(datamodule(str(splits)).train_features()))  # the training part, shard by shard
    model = _model(dropout=0.0).eval()
    model.fit_inputs(features)
    empty = torch.full((3, NUM_INPUTS), float("nan"))
    probabilities = Probabilities(model)(empty)
    assert torch.isfinite(probabilities).all()
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(3))
    for name, values in CATEGORIES.items():
        index = FEATURES.index(name)
        unseen, missing = features[:2].clone(), features[:2].clone()
        unseen[:, index], missing[:, index] = len(values) + 7, 0.0  # beyond the contract's list / no value
        torch.testing.assert_close(model(unseen), model(missing))


def test_inputs_fitted_shard_by_shard_equal_those_fitted_on_the_whole_split(splits):
    """The statistics are sums: fitted on uneven chunks (as a streamed pass over shards gives them) they are the
    ones fitted on all the rows at once."""
    features = torch.cat(list(datamodule(str(splits)).train_features()))
    cuts = [0, 1, max(2, len(features) // 3), len(features)]
    whole, chunked = _model().inputs, _model().inputs
    whole.fit(features)
    chunked.fit(features[start:end] for start, end in itertools.pairwise(cuts) if start < end)
    for (name, held), (_, expected) in zip(chunked.named_buffers(), whole.named_buffers(), strict=True):
        torch.testing.assert_close(held, expected, msg=name)
