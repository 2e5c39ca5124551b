"""The LightningModule: shapes, normalisation, determinism, and that it can learn at all."""

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from {{ cookiecutter.package }}.data import datamodule
from {{ cookiecutter.package }}.metrics import classification_metrics, training_metrics
from {{ cookiecutter.package }}.model import Classifier, Probabilities
from {{ cookiecutter.package }}.schema import CLASSES

from .cases import check_batch, distinct_batch, fitted_state, random_inputs


def _model(**kwargs) -> Classifier:
    from {{ cookiecutter.package }}.plugin import TASK

    return Classifier(num_features=TASK.num_inputs, num_classes=len(CLASSES), **kwargs)


def _quiet_trainer(**kwargs) -> L.Trainer:
    return L.Trainer(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,
    )


def test_output_shapes():
    model = _model()
    features = random_inputs(7)  # what the model takes (tests/model/cases.py)
    assert model(features).shape == (7, len(CLASSES))
    probabilities = Probabilities(model).eval()(features)
    assert probabilities.shape == (7, len(CLASSES))
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(7))


def test_preprocessing_is_fitted_on_training_rows_and_saved_in_the_model(splits):
    """What the model's input layer learns is exactly what the training rows say, and it travels in its state."""
    features = datamodule(str(splits)).train_features()
    model = _model(dropout=0.0).eval()
    model.fit_inputs(features)
    fitted = fitted_state(features, model.inputs)  # {name: (what it holds, what the task's own account says)}
    assert fitted
    for name, (held, expected) in fitted.items():
        torch.testing.assert_close(held, expected, msg=name)
    copy = _model(dropout=0.0).eval()
    copy.load_state_dict(model.state_dict())  # what a checkpoint or the exported model carries
    rows = random_inputs(8)
    torch.testing.assert_close(model(rows), copy(rows))


def test_overfits_one_batch(splits):
    """A model that can learn at all fits one batch perfectly, given a batch that can be fitted: rows whose
    features determine their label. Rows that repeat an earlier row's features are left out of it (in a table of
    categories, identical rows often disagree on the label, and no model can fit both)."""
    L.seed_everything(0)
    data = datamodule(str(splits), batch_size=32)
    data.setup()
    features, labels = distinct_batch(data.train_dataloader().dataset, 32)  # tests/model/cases.py
    if len(labels) < 2:
        pytest.skip("the training split has fewer than two rows with distinct features")
    model = _model(dropout=0.0, learning_rate=0.01)
    model.fit_inputs(data.train_features())
    trainer = _quiet_trainer(max_epochs=150, num_sanity_val_steps=0, limit_val_batches=0)
    trainer.fit(model, train_dataloaders=DataLoader([(features, labels)], batch_size=None))  # one batch, every epoch
    assert trainer.callback_metrics["train_loss"] < 0.02


def test_same_seed_gives_the_same_weights(splits):
    def fit_once() -> dict:
        L.seed_everything(123, workers=True)
        data = datamodule(str(splits), batch_size=64)
        model = _model()
        model.fit_inputs(data.train_features())
        _quiet_trainer(max_epochs=2, deterministic=True).fit(model, datamodule=data)
        return model.state_dict()

    first, second = fit_once(), fit_once()
    for name in first:  # the weights, and what the input layer learned (a text model's tokenizer)
        if isinstance(first[name], torch.Tensor):
            torch.testing.assert_close(first[name], second[name], rtol=0, atol=0)
        else:
            assert first[name] == second[name], name


def test_batches_hold_what_the_model_takes(splits):
    data = datamodule(str(splits), batch_size=50)
    data.setup()
    features, labels = next(iter(data.train_dataloader()))
    rows = min(50, sum(len(batch[1]) for batch in data.train_dataloader()))  # a small adopted sample may hold fewer
    assert len(features) == rows and labels.shape == (rows,) and labels.dtype == torch.int64
    check_batch(features)  # what the task's batches hold (tests/model/cases.py)


def test_training_and_gate_metrics_are_the_same_metrics():
    """Validation while training (torchmetrics) and evaluate/the gate (scikit-learn) report the same figures."""
    generator = torch.Generator().manual_seed(0)
    probabilities = torch.softmax(torch.randn(600, len(CLASSES), generator=generator), dim=1)
    labels = torch.randint(0, len(CLASSES), (600,), generator=generator)
    collection = training_metrics(len(CLASSES), "val_")
    for start in range(0, 600, 64):  # in batches, as the validation loop feeds it
        collection.update(probabilities[start : start + 64], labels[start : start + 64])
    during_training = {name.removeprefix("val_"): float(value) for name, value in collection.compute().items()}
    offline = classification_metrics(labels.numpy(), probabilities.numpy())
    assert during_training.keys() == offline.keys()
    for name, value in offline.items():
        assert abs(during_training[name] - value) < 1e-5, (name, during_training[name], value)
