"""The LightningModule: shapes, normalisation, determinism, and that it can learn at all."""

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from {{ cookiecutter.package }}.data import InMemoryDataset, datamodule, keep_batch
from {{ cookiecutter.package }}.features import NUM_INPUTS
from {{ cookiecutter.package }}.metrics import classification_metrics, training_metrics
from {{ cookiecutter.package }}.model import Classifier, Probabilities
from {{ cookiecutter.package }}.schema import CLASSES

from .cases import fitted_state


def _model(**kwargs) -> Classifier:
    return Classifier(num_features=NUM_INPUTS, num_classes=len(CLASSES), **kwargs)


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
    features = torch.rand(7, NUM_INPUTS)
    assert model(features).shape == (7, len(CLASSES))
    probabilities = Probabilities(model).eval()(features)
    assert probabilities.shape == (7, len(CLASSES))
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(7))


def test_preprocessing_is_fitted_on_training_rows_and_saved_in_the_model(splits):
    """What the model's input layer learns is exactly what the training rows say, and it travels in its state."""
    features = datamodule(str(splits)).train_features()
    model = _model(dropout=0.0).eval()
    model.fit_inputs(features)
    expected = fitted_state(features, model.inputs)  # the task's own account of it (tests/model/cases.py)
    assert expected and set(expected) <= {name for name, _ in model.inputs.named_buffers()}
    for name, value in expected.items():
        torch.testing.assert_close(getattr(model.inputs, name), value, msg=name)
    copy = _model(dropout=0.0).eval()
    copy.load_state_dict(model.state_dict())  # what a checkpoint or the exported model carries
    torch.testing.assert_close(model(features[:8]), copy(features[:8]))


def test_overfits_one_batch(splits):
    """A model that can learn at all fits one batch perfectly, given a batch that can be fitted: rows whose
    features determine their label. Rows that repeat an earlier row's features are left out of it (in a table of
    categories, identical rows often disagree on the label, and no model can fit both)."""
    L.seed_everything(0)
    data = datamodule(str(splits), batch_size=32)
    data.setup()
    features, labels = distinct_rows(data.train_dataloader().dataset, 32)
    if len(features) < 2:
        pytest.skip("the training split has fewer than two rows with distinct features")
    model = _model(dropout=0.0, learning_rate=0.01)
    model.fit_inputs(data.train_features())
    batch = DataLoader(InMemoryDataset(features, labels), batch_size=len(labels), collate_fn=keep_batch)
    trainer = _quiet_trainer(max_epochs=150, num_sanity_val_steps=0, limit_val_batches=0)
    trainer.fit(model, train_dataloaders=batch)
    assert trainer.callback_metrics["train_loss"] < 0.02


def distinct_rows(dataset, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to `count` of the dataset's rows, in order, each with features no earlier one has (NaN equal to NaN)."""
    seen, kept = set(), []
    for index in range(len(dataset)):
        features, _ = dataset[index]
        key = features.nan_to_num(float("inf")).numpy().tobytes()
        if key not in seen:
            seen.add(key)
            kept.append(index)
        if len(kept) == count:
            break
    rows = [dataset[index] for index in kept]
    return torch.stack([row[0] for row in rows]), torch.stack([torch.as_tensor(row[1]) for row in rows])


def test_same_seed_gives_the_same_weights(splits):
    def fit_once() -> dict:
        L.seed_everything(123, workers=True)
        data = datamodule(str(splits), batch_size=64)
        model = _model()
        model.fit_inputs(data.train_features())
        _quiet_trainer(max_epochs=2, deterministic=True).fit(model, datamodule=data)
        return model.state_dict()

    first, second = fit_once(), fit_once()
    for name in first:
        torch.testing.assert_close(first[name], second[name], rtol=0, atol=0)


def test_batches_hold_what_the_model_takes(splits):
    data = datamodule(str(splits), batch_size=50)
    data.setup()
    features, labels = next(iter(data.train_dataloader()))
    rows = min(50, len(data.train_dataloader().dataset))  # a small adopted sample may hold fewer
    assert features.shape == (rows, NUM_INPUTS) and labels.shape == (rows,)
    assert features.dtype == torch.float32 and labels.dtype == torch.int64


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
