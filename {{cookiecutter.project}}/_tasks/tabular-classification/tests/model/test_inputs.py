"""The network's inputs for a table: missing values and categories it never saw (the tabular task's own tests)."""

import torch

from {{ cookiecutter.package }}.data import datamodule
from {{ cookiecutter.package }}.features import CATEGORIES, FEATURES, NUM_INPUTS
from {{ cookiecutter.package }}.model import Classifier, Probabilities
from {{ cookiecutter.package }}.schema import CLASSES


def _model(**kwargs) -> Classifier:
    return Classifier(num_features=NUM_INPUTS, num_classes=len(CLASSES), **kwargs)


def test_missing_values_and_unseen_categories_are_answered_like_unknowns(splits):
    """A missing value takes the training mean (with its flag); a category training never saw is 'unknown'."""
    features = datamodule(str(splits)).train_features()
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
