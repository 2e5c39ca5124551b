"""The LightningModule: the task's network (plugin.Task) with input normalisation, loss, metrics and optimiser."""

import lightning as L
import torch
from torch import nn
from torchmetrics import MeanMetric, SumMetric

from .metrics import training_metrics
from .plugin import TASK


class Classifier(L.LightningModule):
    def __init__(
        self,
        num_features: int,
        num_classes: int = 2,
        learning_rate: float = 3e-3,
        weight_decay: float = 1e-4,
        **network_kwargs,
    ):
        """`network_kwargs` go to the task's network (configs/model.yaml): all of them are saved as hyperparameters."""
        super().__init__()
        self.save_hyperparameters()
        # Preprocessing (imputation, scaling, categories, a tokenizer) lives in the model, fitted on the training
        # split, so the saved model takes rows as the task's encode makes them from the contract's raw values.
        self.inputs = TASK.input_layer(num_features, **network_kwargs)
        self.net = TASK.network(self.inputs.width, num_classes, **network_kwargs)
        self.loss = nn.CrossEntropyLoss()
        self.train_loss = MeanMetric()
        self.val_loss = MeanMetric()
        self.val_metrics = training_metrics(num_classes, "val_")
        # Rows seen in validation, summed over all processes: proves the metrics are synced under DDP.
        self.val_rows = SumMetric()

    def fit_inputs(self, features) -> None:
        """Fit the preprocessing on the training split (encoded rows, or a text task's texts: the task's datamodule
        says what train_features gives and its input layer what it learns)."""
        self.inputs.fit(features)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Logits for each class."""
        return self.net(self.inputs(features))

    def training_step(self, batch, batch_idx):
        features, labels = batch
        loss = self.loss(self(features), labels)
        # Accumulated here and logged once per epoch: a self.log call per step costs more than a small
        # model's whole forward and backward pass (see bench/train_throughput.py).
        self.train_loss.update(loss.detach(), weight=len(labels))
        return loss

    def on_train_epoch_end(self) -> None:
        self.log("train_loss", self.train_loss)

    def validation_step(self, batch, batch_idx):
        features, labels = batch
        logits = self(features)
        self.val_loss.update(self.loss(logits, labels), weight=len(labels))
        self.val_metrics.update(logits.float().softmax(dim=-1), labels)
        self.val_rows.update(torch.tensor(float(len(labels)), device=self.device))

    def on_validation_epoch_end(self) -> None:
        # Computed once an epoch, as train_loss is: torchmetrics' compute syncs each metric's state across
        # processes (DDP), so every rank logs the same whole-split values. A self.log call per step would cost
        # more than the step (bench/train_throughput.py).
        values = {
            "val_loss": self.val_loss.compute(),
            **self.val_metrics.compute(),
            "val_rows": self.val_rows.compute(),
        }
        self.log_dict(values, sync_dist=True)  # equal on every rank already; said so, so Lightning does not warn
        for metric in (self.val_loss, self.val_metrics, self.val_rows):
            metric.reset()

    def configure_optimizers(self):
        return torch.optim.AdamW(
            self.parameters(), lr=self.hparams.learning_rate, weight_decay=self.hparams.weight_decay
        )


class Probabilities(nn.Module):
    """What is saved and served: encoded rows (features.encode) in, class probabilities out."""

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.classifier(features), dim=-1)
