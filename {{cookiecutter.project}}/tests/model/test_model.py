"""The LightningModule: shapes, normalisation, determinism, and that it can learn at all."""

import lightning as L
import torch

from {{ cookiecutter.package }}.data import DataModule
from {{ cookiecutter.package }}.features import NUM_INPUTS
from {{ cookiecutter.package }}.metrics import classification_metrics, training_metrics
from {{ cookiecutter.package }}.model import Classifier, Probabilities
from {{ cookiecutter.package }}.schema import CLASSES


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
    features = DataModule(str(splits)).train_features()
    model = _model(dropout=0.0).eval()
    model.fit_inputs(features)
    copy = _model(dropout=0.0).eval()
    copy.load_state_dict(model.state_dict())  # what a checkpoint or the exported model carries
    torch.testing.assert_close(model(features[:8]), copy(features[:8]))
    assert not torch.equal(model.inputs.mean, _model().inputs.mean)  # learned, not the defaults


def test_overfits_one_batch(splits):
    L.seed_everything(0)
    datamodule = DataModule(str(splits), batch_size=32)
    model = _model(dropout=0.0, learning_rate=0.01)
    model.fit_inputs(datamodule.train_features())
    trainer = _quiet_trainer(overfit_batches=1, max_epochs=150, num_sanity_val_steps=0, limit_val_batches=0)
    trainer.fit(model, datamodule=datamodule)
    assert trainer.callback_metrics["train_loss"] < 0.02


def test_same_seed_gives_the_same_weights(splits):
    def fit_once() -> dict:
        L.seed_everything(123, workers=True)
        datamodule = DataModule(str(splits), batch_size=64)
        model = _model()
        model.fit_inputs(datamodule.train_features())
        _quiet_trainer(max_epochs=2, deterministic=True).fit(model, datamodule=datamodule)
        return model.state_dict()

    first, second = fit_once(), fit_once()
    for name in first:
        torch.testing.assert_close(first[name], second[name], rtol=0, atol=0)


def test_batches_hold_what_the_model_takes(splits):
    datamodule = DataModule(str(splits), batch_size=50)
    datamodule.setup()
    features, labels = next(iter(datamodule.train_dataloader()))
    rows = min(50, len(datamodule.train_dataloader().dataset))  # a small adopted sample may hold fewer
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
