"""The LightningModule: shapes, normalisation, determinism, and that it can learn at all."""

import lightning as L
import torch

from {{ cookiecutter.package }}.data import InMemoryDataModule
from {{ cookiecutter.package }}.model import Classifier, Probabilities
from {{ cookiecutter.package }}.schema import CLASSES, FEATURES


def _model(**kwargs) -> Classifier:
    return Classifier(num_features=len(FEATURES), num_classes=len(CLASSES), **kwargs)


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
    features = torch.rand(7, len(FEATURES))
    assert model(features).shape == (7, len(CLASSES))
    probabilities = Probabilities(model).eval()(features)
    assert probabilities.shape == (7, len(CLASSES))
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(7))


def test_normalisation_is_part_of_the_model():
    model = _model(dropout=0.0).eval()
    raw = torch.rand(4, len(FEATURES)) * 100
    model.set_normalisation(raw.mean(dim=0), raw.std(dim=0))
    shifted = _model(dropout=0.0).eval()
    shifted.load_state_dict(model.state_dict())
    torch.testing.assert_close(model(raw), shifted(raw))
    assert not torch.allclose(model.feature_mean, torch.zeros(len(FEATURES)))


def test_overfits_one_batch(splits):
    L.seed_everything(0)
    datamodule = InMemoryDataModule(str(splits), batch_size=32)
    model = _model(dropout=0.0, learning_rate=0.01)
    model.set_normalisation(*datamodule.feature_statistics())
    trainer = _quiet_trainer(overfit_batches=1, max_epochs=150, num_sanity_val_steps=0, limit_val_batches=0)
    trainer.fit(model, datamodule=datamodule)
    assert trainer.callback_metrics["train_loss"] < 0.02


def test_same_seed_gives_the_same_weights(splits):
    def fit_once() -> dict:
        L.seed_everything(123, workers=True)
        datamodule = InMemoryDataModule(str(splits), batch_size=64)
        model = _model()
        model.set_normalisation(*datamodule.feature_statistics())
        _quiet_trainer(max_epochs=2, deterministic=True).fit(model, datamodule=datamodule)
        return model.state_dict()

    first, second = fit_once(), fit_once()
    for name in first:
        torch.testing.assert_close(first[name], second[name], rtol=0, atol=0)


def test_batches_come_whole_from_memory(splits):
    datamodule = InMemoryDataModule(str(splits), batch_size=50)
    datamodule.setup()
    features, labels = next(iter(datamodule.train_dataloader()))
    assert features.shape == (50, len(FEATURES)) and labels.shape == (50,)
    assert features.dtype == torch.float32 and labels.dtype == torch.int64
