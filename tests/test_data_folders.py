"""core.data.folders: class-folder data sets, subjects, splits and loading through the preprocessing."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.data.folders import load_preprocessed, open_dataset, split_by_subject
from core.errors import DataError
from core.spader.recipe import FolderTrainConfig, fit_widths, regressor_config
from core.preprocess import PreprocessConfig


def write_set(root: Path, n_subjects: int = 6, per: int = 2, unit_mm: float | None = None) -> Path:
    """Two classes; a 'hand' disc 0.6 m away in front of a 1.5 m wall."""
    yy, xx = np.mgrid[:48, :64]
    for cls in ("pigeon", "other"):
        (root / cls).mkdir(parents=True)
        for s in range(n_subjects):
            for i in range(per):
                img = np.full((48, 64), 1500, np.uint16)
                img[(xx - 32) ** 2 + (yy - 24) ** 2 < 10**2] = 600
                cv2.imwrite(str(root / cls / f"p{s:02d}_{i:03d}.png"), img)
    meta = {"subject_pattern": "^(?P<subject>p\\d+)_"}
    if unit_mm is not None:
        meta["unit_mm"] = unit_mm
    (root / "dataset.json").write_text(json.dumps(meta))
    return root


def test_subjects_never_cross_splits(tmp_path: Path) -> None:
    ds = open_dataset(write_set(tmp_path, n_subjects=8))
    assert ds.classes == ["other", "pigeon"] and len(ds.items) == 32 and ds.subject_source == "pattern"
    sp = split_by_subject(ds.items, val_fraction=0.25, test_fraction=0.25, seed=3)
    subj = [{it.subject for it in part} for part in (sp.train, sp.val, sp.test)]
    assert all(subj) and not (subj[0] & subj[1]) and not (subj[0] & subj[2]) and not (subj[1] & subj[2])
    assert len(sp.train) + len(sp.val) + len(sp.test) == 32 and sp.warning == ""
    # a subject's files of every class go together
    for part in (sp.train, sp.val, sp.test):
        for s in {it.subject for it in part}:
            assert {it.cls for it in part if it.subject == s} == {"pigeon", "other"}


def test_manifest_names_subjects(tmp_path: Path) -> None:
    root = write_set(tmp_path)
    (root / "dataset.json").write_text("{}")
    rows = ["file,subject"] + [f"{p.relative_to(root).as_posix()},person-{p.name[1:3]}"
                               for p in sorted(root.glob("*/*.png"))]
    (root / "subjects.csv").write_text("\n".join(rows) + "\n")
    ds = open_dataset(root)
    assert ds.subject_source == "manifest" and {it.subject for it in ds.items} == {f"person-{i:02d}" for i in range(6)}


def test_without_subjects_every_file_is_one_and_the_split_warns(tmp_path: Path) -> None:
    root = write_set(tmp_path)
    (root / "dataset.json").unlink()
    ds = open_dataset(root)
    assert ds.subject_source == "file"
    assert "subject" in split_by_subject(ds.items, files_are_subjects=ds.subject_source == "file").warning


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda r: None, "no such data set folder"),
        (lambda r: r.mkdir(), "no class folders"),
        (lambda r: (write_set(r), (r / "dataset.json").write_text("{not json")), "not valid JSON"),
        (lambda r: (write_set(r), (r / "dataset.json").write_text('{"subject_pattern": "(x"}')), "regular expression"),
        (lambda r: (write_set(r), (r / "dataset.json").write_text('{"subject_pattern": "^p"}')), "named group"),
    ],
)
def test_bad_data_sets_get_clear_errors(tmp_path: Path, setup, message: str) -> None:
    root = tmp_path / "ds"
    setup(root)
    with pytest.raises(DataError, match=message):
        open_dataset(root)


def test_loading_uses_the_unit_and_names_a_damaged_file(tmp_path: Path) -> None:
    root = write_set(tmp_path, unit_mm=0.5)  # stored values are half-millimetres: the hand is at 300 mm
    ds = open_dataset(root)
    x, pres = load_preprocessed(ds, ds.items[:4], PreprocessConfig(size=16, crop_mm=None), workers=2)
    assert x.shape == (4, 1, 16, 16) and all(p.has_hand for p in pres)
    assert all(p.ref_depth_mm == pytest.approx(300.0) for p in pres)
    bad = ds.items[0].path
    bad.write_bytes(b"\x89PNG broken")
    with pytest.raises(DataError, match=bad.name):
        load_preprocessed(ds, ds.items[:2], PreprocessConfig(size=16), workers=1)


def test_layer_count_fits_small_inputs() -> None:
    assert fit_widths((8, 16, 32, 64, 64), 128, 1) == (8, 16, 32, 64, 64)  # 128 / 2^5 = 4
    assert fit_widths((8, 16, 32, 64, 64), 32, 1) == (8, 16, 32)  # 32 / 2^3 = 4
    assert fit_widths((16, 32, 32, 64, 64), 32, 1, extra=1) == (16, 32, 32, 64)  # 3 pools: 4 px
    # the regressor keeps the default blocks at 128 px and drops the last ones at 32 px
    cfg = FolderTrainConfig(normal="n", known=("a",))
    assert regressor_config(cfg, 128).widths == cfg.reg_widths and regressor_config(cfg, 128).halvings is None
    assert regressor_config(cfg, 32).widths == (16, 32, 32, 64)
    with pytest.raises(ValueError, match="reg_members"):
        FolderTrainConfig(normal="n", known=("a",), reg_members=0)
    with pytest.raises(ValueError, match="normal class"):
        FolderTrainConfig(normal="n", known=("n",))
