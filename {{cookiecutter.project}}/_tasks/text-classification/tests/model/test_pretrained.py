"""PRETRAINED=<folder>: a transformer and its own tokenizer are fine-tuned and travel with the model. Tested offline
on a tiny BERT this test builds and saves to a folder (random weights, a vocabulary from the project's texts): the
real loading code, no network."""

from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
from tokenizers.models import WordPiece

from {{ cookiecutter.package }} import config
from {{ cookiecutter.package }}.data import load_split, save_splits, split
from {{ cookiecutter.package }}.evaluate import load_model, predict_proba
from {{ cookiecutter.package }}.schema import CLASSES, MAX_TOKENS, TEXT
from {{ cookiecutter.package }}.train import train
from {{ cookiecutter.package }}.validate import read_table

pytestmark = pytest.mark.slow

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def tiny_bert(folder: Path, texts: list[str]) -> Path:
    """A two-layer BERT with random weights and a word vocabulary from `texts`, saved as a hub model is."""
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    normalizer, splitter = normalizers.BertNormalizer(lowercase=True), pre_tokenizers.BertPreTokenizer()
    words = sorted({word for text in texts for word, _ in splitter.pre_tokenize_str(normalizer.normalize_str(text))})
    vocabulary = {token: index for index, token in enumerate([*SPECIAL, *words[:2000]])}
    tokenizer = Tokenizer(WordPiece(vocabulary, unk_token="[UNK]"))
    tokenizer.normalizer, tokenizer.pre_tokenizer = normalizer, splitter
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=128,
    )  # fmt: skip
    fast.save_pretrained(folder)
    settings = BertConfig(
        vocab_size=len(vocabulary), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128, pad_token_id=0,
    )  # fmt: skip
    torch.manual_seed(0)
    BertForSequenceClassification(settings).save_pretrained(folder)
    return folder


def test_a_pretrained_transformer_is_fine_tuned_and_carries_its_own_tokenizer(workspace, tmp_path):
    data_cfg = config.load(config.DataConfig)
    parts = split(read_table(data_cfg.raw), data_cfg.val_fraction, data_cfg.test_fraction, data_cfg.seed)
    save_splits(parts, data_cfg.splits_dir, data_cfg.raw)
    folder = tiny_bert(tmp_path / "tiny-bert", parts["train"][TEXT].tolist())
    record = train([
        "train.trainer.max_epochs=1", "train.trainer.limit_train_batches=4", "train.trainer.limit_val_batches=2",
        f"model.pretrained={folder}",
    ])  # fmt: skip
    model = load_model(record["model_uri"])
    assert model.encoder.settings["pretrained"] == str(folder)
    theirs = Tokenizer.from_file(str(folder / "tokenizer.json"))
    assert model.encoder.tokenizer.get_vocab() == theirs.get_vocab()  # the transformer's own, not one learned here
    test = load_split(data_cfg.splits_dir, "test").head(8)
    ids = model.encoder.ids(test[TEXT].tolist())
    assert ids.shape == (8, MAX_TOKENS) and (ids[:, 0] == 2).all()  # [CLS] first, as the transformer was trained
    probabilities = predict_proba(model, test)
    assert probabilities.shape == (8, len(CLASSES)) and abs(probabilities.sum(axis=1) - 1).max() < 1e-5
