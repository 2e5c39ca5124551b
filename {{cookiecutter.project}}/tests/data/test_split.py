"""The split is deterministic, disjoint, stratified and saved so every step sees the same rows."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package }} import config
from {{ cookiecutter.package }}.data import SPLITS, load_split, split
from {{ cookiecutter.package }}.features import GROUP
from {{ cookiecutter.package }}.schema import LABEL
from {{ cookiecutter.package }}.splits import check_part_current, validate_and_split
from {{ cookiecutter.package }}.validate import ContractError, validate_frame, write_table


@pytest.fixture
def data_cfg(workspace):
    return config.load(config.DataConfig)


def test_split_sizes_follow_the_configured_fractions(bundled, data_cfg):
    parts = split(bundled, data_cfg.val_fraction, data_cfg.test_fraction, data_cfg.seed)
    assert sum(len(part) for part in parts.values()) == len(bundled)
    assert len(parts["test"]) == pytest.approx(len(bundled) * data_cfg.test_fraction, abs=1)
    assert len(parts["val"]) == pytest.approx(len(bundled) * data_cfg.val_fraction, abs=1)


def test_no_row_is_in_two_splits(bundled, data_cfg):
    parts = split(bundled, data_cfg.val_fraction, data_cfg.test_fraction, data_cfg.seed)
    indices = [set(part.index) for part in parts.values()]
    assert not (indices[0] & indices[1] or indices[0] & indices[2] or indices[1] & indices[2])


def test_same_seed_same_split_other_seed_other_split(bundled, data_cfg):
    first = split(bundled, data_cfg.val_fraction, data_cfg.test_fraction, 7)
    again = split(bundled, data_cfg.val_fraction, data_cfg.test_fraction, 7)
    other = split(bundled, data_cfg.val_fraction, data_cfg.test_fraction, 8)
    assert all(first[name].index.equals(again[name].index) for name in SPLITS)
    assert not first["test"].index.equals(other["test"].index)


def test_split_keeps_the_class_balance(bundled, data_cfg):
    """Every class's share in each part is the whole table's, as near as the part's size allows: within one row of
    it (a part of 9 rows cannot hold 46.7% of anything), and within 0.03 of it in a part of 100 rows or more."""
    parts = split(bundled, data_cfg.val_fraction, data_cfg.test_fraction, data_cfg.seed)
    overall = bundled[LABEL].value_counts(normalize=True).sort_index()
    for part in parts.values():
        shares = part[LABEL].value_counts(normalize=True).reindex(overall.index, fill_value=0.0)
        tolerance = max(0.03, 1 / len(part)) + 1e-9
        assert shares.to_numpy() == pytest.approx(overall.to_numpy(), abs=tolerance)


def test_saved_split_reads_back_the_same_rows(splits, bundled, data_cfg):
    """Each part reads back as the contract gives its rows (a date as a date, whatever the file wrote)."""
    parts = split(bundled, data_cfg.val_fraction, data_cfg.test_fraction, data_cfg.seed)
    for name in SPLITS:
        saved = load_split(splits, name)
        expected = validate_frame(parts[name], name)
        pd.testing.assert_frame_equal(saved, expected, check_names=False, check_dtype=False)


@pytest.mark.parametrize(("val", "test"), [(0.0, 0.2), (0.5, 0.5), (0.2, 1.2)])
def test_impossible_fractions_are_refused(bundled, val, test):
    with pytest.raises(ValueError, match="fraction"):
        split(bundled, val, test, 0)


@pytest.mark.skipif(GROUP is None, reason="no column ties rows together in this contract")
def test_copies_of_one_item_never_straddle_the_split(bundled, data_cfg):
    """Rows with the same GROUP value (the same image file content) land in one part, whatever the seed."""
    copies = bundled.sample(n=30, random_state=0)
    frame = pd.concat([bundled, copies, copies], ignore_index=True)
    for seed in range(5):
        parts = split(frame, data_cfg.val_fraction, data_cfg.test_fraction, seed)
        assert sum(len(part) for part in parts.values()) == len(frame)
        train, val, test = (set(parts[name][GROUP]) for name in SPLITS)
        assert not (train & val or train & test or val & test)


def _data_settings(**settings) -> config.DataConfig:
    """configs/data.yaml of the scratch project with `settings` changed."""
    path = Path("configs/data.yaml")
    path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()), **settings}))
    return config.load(config.DataConfig)


def _saved_rows(directory) -> dict[str, set]:
    return {name: set(load_split(directory, name).index) for name in SPLITS}


def test_a_split_validated_in_small_batches_is_the_split_of_the_whole_table(bundled, data_cfg):
    """`make validate` reads in batches and shards what it writes; the rows of each part are the ones the seeded,
    stratified split of the whole table gives, and every shard holds at most shard_rows rows."""
    rows = len(bundled)
    settings = _data_settings(batch_rows=max(1, rows // 7), shard_rows=max(1, rows // 5))
    total, manifest = validate_and_split(settings.raw)
    assert total == rows
    whole = split(validate_frame(bundled, "whole"), settings.val_fraction, settings.test_fraction, settings.seed)
    assert _saved_rows(settings.splits_dir) == {name: set(whole[name].index) for name in SPLITS}
    for name in SPLITS:
        shards = manifest["parts"][name]["shards"]
        assert sum(shard["rows"] for shard in shards) == len(whole[name]) == manifest["parts"][name]["rows"]
        assert all(0 < shard["rows"] <= settings.shard_rows for shard in shards)
        assert len(shards) == -(-len(whole[name]) // settings.shard_rows)
        assert sum(manifest["parts"][name]["classes"].values()) == len(whole[name])


def test_a_contract_failure_in_the_last_batch_names_its_line_and_writes_nothing(splits, bundled, data_cfg, tmp_path):
    """A table read in batches: the last row alone has no label (every contract requires one; an empty cell keeps the
    column's type, whatever it is). The failure is reported with that row's line in the file; the split saved before
    is left exactly as it was, and no staging folder is left behind."""
    if Path(data_cfg.raw).is_dir():
        pytest.skip("an image folder is checked as one index, not a file read in batches")
    frame = bundled.copy()
    for column in frame.select_dtypes(include=["object", "string"]).columns:  # one record per line of the file
        frame[column] = frame[column].str.replace(r"[\r\n]+", " ", regex=True)
    frame[LABEL] = frame[LABEL].astype(object)
    frame.loc[frame.index[-1], LABEL] = None
    path = tmp_path / "late.csv"
    write_table(frame, path)
    _data_settings(batch_rows=max(1, len(frame) // 4))
    before = {file: file.read_bytes() for file in sorted(Path(splits).rglob("*")) if file.is_file()}
    with pytest.raises(ContractError) as failure:
        validate_and_split(path)
    message = str(failure.value)
    assert "late.csv" in message and "empty value" in message, message
    row = next(line for line in message.splitlines() if "empty value" in line)
    assert row.split()[-1] == str(len(frame) + 1), message  # the last row: line rows + 1 (after the header)
    after = {file: file.read_bytes() for file in sorted(Path(splits).rglob("*")) if file.is_file()}
    assert after == before
    assert not list(Path(splits).parent.glob("*.staging"))


def test_a_hand_edited_split_is_refused_by_training(splits):
    """Training checks each part's shards against the manifest's hash: an edited shard is refused, naming the part."""
    manifest = json.loads((Path(splits) / "manifest.json").read_text())
    shard = Path(splits) / manifest["parts"]["train"]["shards"][0]["file"]
    shard.write_bytes(shard.read_bytes() + b"\0")
    with pytest.raises(ContractError, match=r"train.*make validate"):
        check_part_current(splits, "train")
