"""The tokenizer cannot disagree with its model: training and serving read the same texts into the same token ids and
the same probabilities, a text longer than the model reads included, and the tokenizer travels with the model."""

from pathlib import Path

import pytest
import torch

from {{ cookiecutter.package }} import config
from {{ cookiecutter.package }}.bento import model_files
from {{ cookiecutter.package }}.data import load_split
from {{ cookiecutter.package }}.model import Classifier
from {{ cookiecutter.package }}.plugin import TASK
from {{ cookiecutter.package }}.schema import MAX_CHARS, MAX_TOKENS, TEXT
from {{ cookiecutter.package }}.tokenizer import SETTINGS_FILE, TOKENIZER_FILE, Encoder, learn
from {{ cookiecutter.package }}.train import train

pytestmark = pytest.mark.slow

SHORT = ["train.trainer.max_epochs=1", "train.trainer.limit_val_batches=2", "train.early_stopping.patience=1"]


@pytest.fixture(scope="module")
def served(tmp_path_factory, make_workspace):
    """One short training run, and its model's files as `make package` puts them in the bento (bento.model_files:
    the store itself is left alone, as the service tests start theirs)."""
    root = tmp_path_factory.mktemp("tokenizer")
    with pytest.MonkeyPatch.context() as monkeypatch:
        make_workspace(root, monkeypatch)
        from {{ cookiecutter.package }}.data import save_splits, split
        from {{ cookiecutter.package }}.validate import read_table

        data_cfg = config.load(config.DataConfig)
        parts = split(read_table(data_cfg.raw), data_cfg.val_fraction, data_cfg.test_fraction, data_cfg.seed)
        save_splits(parts, data_cfg.splits_dir, data_cfg.raw)
        record = train(SHORT)
        checkpoint = next(Path(config.load(config.TrainConfig).checkpoint_dir, record["run_id"]).glob("epoch*.ckpt"))
        folder = root / "bento-model"
        folder.mkdir()
        model_files(record["model_uri"], folder)
        yield {"root": root, "checkpoint": checkpoint, "bento_model": folder, "splits": data_cfg.splits_dir}


def test_training_and_serving_give_the_same_ids_and_probabilities(served):
    texts = load_split(served["splits"], "test")[TEXT].head(20).tolist()
    # Longer than the model reads (each word at least one token), within the contract's MAX_CHARS: cut the same way.
    word = min((word for text in texts for word in text.split()), key=len)
    long_text = " ".join([word] * (MAX_TOKENS + 8))
    if len(long_text) > MAX_CHARS:
        pytest.skip(f"MAX_CHARS {MAX_CHARS} holds no text longer than MAX_TOKENS {MAX_TOKENS} words")
    texts.append(long_text)
    trained = Classifier.load_from_checkpoint(served["checkpoint"], map_location="cpu").eval()
    with torch.no_grad():
        training_ids = trained.inputs.ids(texts)  # the tokenizer in the checkpoint's state
        training_probabilities = torch.softmax(trained(texts), dim=-1)
    # The service's path: records parsed by its request model, encoded with the encoder read from the bento's model
    # folder, scored by the exported program beside it.
    encoder = TASK.load_encoder(served["bento_model"])
    records = [TASK.request_model()(**{TEXT: text}) for text in texts]
    serving_ids, logged = TASK.inputs(records, encoder)
    program = torch.export.load(served["bento_model"] / "model.pt2").module()
    with torch.no_grad():
        serving_probabilities = program(torch.from_numpy(serving_ids))
    assert torch.equal(training_ids, torch.from_numpy(serving_ids))
    torch.testing.assert_close(training_probabilities, serving_probabilities, rtol=0, atol=1e-6)
    assert serving_ids.shape == (len(texts), MAX_TOKENS) and (serving_ids[-1] != encoder.pad_id).all()
    assert logged[-1]["tokens"] > MAX_TOKENS  # the log keeps the text's true length, not the cut one


def test_the_tokenizer_and_its_settings_travel_in_the_bento_not_rebuilt(served):
    folder = served["bento_model"]
    assert (folder / TOKENIZER_FILE).is_file() and (folder / SETTINGS_FILE).is_file()
    encoder = Encoder.load(folder)
    assert encoder.settings["max_tokens"] == MAX_TOKENS and encoder.settings["classes"] == TASK.class_names
    # A tokenizer learned on other texts gives other ids: serving must not (and does not) rebuild one.
    other = Encoder.fitted(learn(["entirely different words here", "nothing like the reviews"]))
    sample = ["a text the model has seen words of, and the end"]
    assert not (other.ids(sample) == encoder.ids(sample)).all()


def test_a_model_folder_without_its_tokenizer_is_refused_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=rf"{tmp_path}: no {TOKENIZER_FILE}"):
        Encoder.load(tmp_path)
