"""What a long `make train` shows: Lightning's progress bar on a terminal; in CI and logs, one line per epoch."""

import sys
import time

import lightning as L
from lightning.pytorch.callbacks import Callback


def resolve_progress_bar(setting: object) -> bool:
    """configs/train.yaml's `enable_progress_bar: auto`: the bar where a person watches a terminal, not in a log."""
    if setting == "auto":
        return sys.stderr.isatty()
    return bool(setting)


def clock(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class EpochLines(Callback):
    """One line per epoch on rank 0 (flushed: a CI log shows it as it happens): the epoch, the training loss, the
    validation metrics, the time so far and the time left if every epoch up to max_epochs runs (early stopping may
    end sooner)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.started = 0.0

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.started = time.monotonic()

    # Said when the next epoch starts (or training ends): by then the epoch's training loss, logged in the model's
    # on_train_epoch_end after every non-monitoring callback's, is in callback_metrics.
    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.current_epoch > 0:
            self._say(trainer, trainer.current_epoch)

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self._say(trainer, trainer.current_epoch)

    def _say(self, trainer: L.Trainer, done: int) -> None:
        if not trainer.is_global_zero or not done:
            return
        elapsed = time.monotonic() - self.started
        metrics = trainer.callback_metrics
        shown = [name for name in ("train_loss", "val_loss") if name in metrics]
        shown += sorted(
            name for name in metrics if name.startswith("val_") and name not in shown and name != "val_rows"
        )
        values = ", ".join(f"{name} {float(metrics[name]):.4f}" for name in shown)
        line = f"epoch {done}/{trainer.max_epochs}: {values}; {clock(elapsed)} elapsed"
        if trainer.max_epochs and trainer.max_epochs > done:
            line += f", at most {clock(elapsed / done * (trainer.max_epochs - done))} left"
        print(line, file=self.stream, flush=True)
