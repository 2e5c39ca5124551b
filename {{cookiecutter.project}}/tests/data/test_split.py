"""The split is deterministic, disjoint, stratified and saved so every step sees the same rows."""

import pandas as pd
import pytest

from {{ cookiecutter.package }} import config
from {{ cookiecutter.package }}.data import SPLITS, load_split, split
from {{ cookiecutter.package }}.features import GROUP
from {{ cookiecutter.package }}.schema import LABEL
from {{ cookiecutter.package }}.validate import validate_frame


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
