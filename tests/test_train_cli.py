"""`spader train`, `spader evaluate` and `spader experiment folders` on a tiny class-folder set."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from core.spader.checkpoint import load_model, save_model
from core.cli.main import main
from core.spader.metrics import auroc
from core.spader.scorers import SCORER_KEYS


def _frame(shape: str, rng: np.random.Generator) -> np.ndarray:
    """A wall at 2 m and a 'hand' 1 m away whose shape is the class."""
    img = np.full((96, 96), 2000, np.uint16)
    cx, cy = (int(v) for v in rng.integers(36, 60, size=2))
    yy, xx = np.mgrid[:96, :96]
    if shape == "disc":
        mask = (xx - cx) ** 2 + (yy - cy) ** 2 < 14**2
    elif shape == "bar":
        mask = (abs(xx - cx) < 18) & (abs(yy - cy) < 4)
    else:  # "cross"
        mask = ((abs(xx - cx) < 14) & (abs(yy - cy) < 3)) | ((abs(xx - cx) < 3) & (abs(yy - cy) < 14))
    img[mask] = 1000 + rng.integers(0, 20, size=int(mask.sum()))
    return img


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ds")
    rng = np.random.default_rng(0)
    for cls, shape in (("pigeon", "disc"), ("bar", "bar"), ("cross", "cross")):
        (root / cls).mkdir()
        for subject in range(6):
            for i in range(8):
                cv2.imwrite(str(root / cls / f"s{subject:04d}_{i:05d}.png"), _frame(shape, rng))
    (root / "dataset.json").write_text(json.dumps({
        "format": "spader-dataset", "format_version": 1, "unit_mm": 1.0,
        "subject_pattern": "^(?P<subject>[^_]+)_", "synthetic": True}))
    return root


FAST = ["--size", "32", "--vae-epochs", "2", "--reg-epochs", "3", "--vae-steps", "0", "--reg-steps", "0",
        "--workers", "1", "--val-fraction", "0.2", "--test-fraction", "0.34"]


def exit_status(argv: list[str]) -> int:
    """main's status for a command line: a bad option value stops in argparse (SystemExit 2),
    a bad combination later (a returned 2); either way a message, never a traceback."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code)


def test_train_writes_a_model_with_threshold_and_split(tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "m.safetensors"
    rc = main(["train", "--data", str(tiny_dataset), "--normal", "pigeon", "--known", "bar", "--out", str(out), *FAST])
    assert rc == 0, capsys.readouterr().err
    model = load_model(out)
    meta = model.meta
    assert model.threshold is not None and np.isfinite(model.threshold)
    assert meta["normal_class"] == "pigeon" and meta["known_classes"] == ["bar"]
    assert meta["preprocess"]["size"] == 32 and meta["command"].startswith("spader train")
    test_s, val_s = set(meta["split"]["test_subjects"]), set(meta["split"]["val_subjects"])
    train_s = set(meta["data"]["splits"]["train"]["subjects"])
    assert test_s and val_s and not (test_s & val_s) and not (test_s & train_s) and not (val_s & train_s)
    ev = json.loads(out.with_name("m-eval.json").read_text())
    assert set(ev["auroc"]) == set(SCORER_KEYS) and "cross" in ev["auroc"]["spader"]
    printed = capsys.readouterr().out
    assert "SPADER" in printed and "cross" in printed

    rc = main(["evaluate", "--model", str(out), "--data", str(tiny_dataset), "--normal", "pigeon",
               "--known", "bar", "--out", str(tmp_path / "ev"), "--workers", "1"])
    assert rc == 0
    res = json.loads((tmp_path / "ev" / "result.json").read_text())
    assert res["split"] == "test" and set(res["classes"]) == {"bar", "cross"}
    # evaluate on the held-out subjects repeats the numbers train printed for them
    assert res["auroc"]["spader"]["all"] == pytest.approx(ev["auroc"]["spader"]["all"], abs=1e-6)
    capsys.readouterr()
    # --max-per-class caps the files of each class (it used to be accepted and ignored here)
    rc = main(["evaluate", "--model", str(out), "--data", str(tiny_dataset), "--normal", "pigeon", "--split", "all",
               "--max-per-class", "5", "--out", str(tmp_path / "ev5"), "--workers", "1"])
    printed = capsys.readouterr()
    assert rc == 0 and "preprocessing 15 files" in printed.err and "(15 frames" in printed.out
    # --split val: the validation subjects the model file records (8 files x 3 classes each)
    rc = main(["evaluate", "--model", str(out), "--data", str(tiny_dataset), "--normal", "pigeon", "--split", "val",
               "--out", str(tmp_path / "evv"), "--workers", "1"])
    printed = capsys.readouterr()
    n_val = 24 * len(meta["split"]["val_subjects"])
    assert rc == 0 and f"preprocessing {n_val} files" in printed.err
    assert json.loads((tmp_path / "evv" / "result.json").read_text())["split"] == "val"
    no_split = load_model(out)
    del no_split.meta["split"]
    save_model(no_split, tmp_path / "no-split.safetensors")
    rc = main(["evaluate", "--model", str(tmp_path / "no-split.safetensors"), "--data", str(tiny_dataset),
               "--normal", "pigeon", "--split", "val", "--out", str(tmp_path / "evn"), "--workers", "1"])
    err = capsys.readouterr().err
    assert rc == 2 and "records no validation subjects" in err and "Traceback" not in err
    rc = exit_status(["evaluate", "--model", str(out), "--data", str(tiny_dataset), "--normal", "pigeon",
               "--max-per-class", "0", "--out", str(tmp_path / "ev0"), "--workers", "1"])
    assert rc == 2 and "--max-per-class" in capsys.readouterr().err


def test_unknown_class_name_is_a_clear_error(tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    rc = main(["train", "--data", str(tiny_dataset), "--normal", "pigeon", "--known", "nope",
               "--out", str(tmp_path / "m.safetensors"), *FAST])
    assert rc == 2
    err = capsys.readouterr().err
    assert "nope" in err and "Traceback" not in err


def test_experiment_folders_sweeps_the_known_choices(tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    rc = main(["experiment", "folders", "--data", str(tiny_dataset), "--normal", "pigeon",
               "--known-each", "bar", "cross", "--out", str(tmp_path), "--save-models", *FAST])
    assert rc == 0, capsys.readouterr().err
    res = json.loads((tmp_path / "result.json").read_text())
    assert res["known_choices"] == ["bar", "cross"]
    for s in SCORER_KEYS:
        assert set(res["all_anomalies"][s]) == {"bar", "cross"}
    # the class that was known is never reported as unknown for that choice
    assert "bar" not in res["unknown_classes"]["spader"]["bar"]
    assert "cross" in res["unknown_classes"]["spader"]["bar"]
    # the per-frame scores behind the table come with it
    with np.load(tmp_path / "scores.npz") as z:
        labels = z["labels"]
        assert set(labels) == {"pigeon", "bar", "cross"}
        assert auroc(z["cross.spader"], labels == "pigeon") == pytest.approx(res["all_anomalies"]["spader"]["cross"])
    # --save-models: each choice's model, which `spader evaluate` reads on the same test subjects;
    # f(x) has no sampling, so its column comes out exactly as the sweep's
    model = load_model(tmp_path / "model-cross.safetensors")
    assert model.meta["known_classes"] == ["cross"] and model.threshold is None
    assert model.meta["split"]["test_subjects"] == res["splits"]["test"]["subjects"]
    capsys.readouterr()
    rc = main(["evaluate", "--model", str(tmp_path / "model-cross.safetensors"), "--data", str(tiny_dataset),
               "--normal", "pigeon", "--out", str(tmp_path / "ev"), "--workers", "1"])
    assert rc == 0, capsys.readouterr().err
    ev = json.loads((tmp_path / "ev" / "result.json").read_text())
    assert ev["auroc"]["cnn_reg"]["all"] == pytest.approx(res["all_anomalies"]["cnn_reg"]["cross"], abs=1e-9)


def test_training_options_are_checked_and_recorded(tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "m.safetensors"
    rc = main(["train", "--data", str(tiny_dataset), "--normal", "pigeon", "--known", "bar", "--out", str(out),
               "--vae-convs", "2", "--pseudo-anomalies", "0.5", "--reg-members", "2",
               "--reg-normal-frames", "5", *FAST])
    err = capsys.readouterr().err
    assert rc == 0, err
    model = load_model(out)
    n_normal = model.meta["data"]["splits"]["train"]["classes"]["pigeon"]
    assert n_normal > 5 and f"the regressors learn from 5 of the {n_normal} normal training images" in err
    assert "made 5 pseudo-anomalies from the normal training images (50%" in err  # one per regressor normal
    assert model.meta["train_config"]["reg_normal_frames"] == 5
    assert model.vae.config.convs_per_level == 2
    assert model.meta["train_config"]["pseudo_share"] == 0.5
    assert model.regressor.config.members == 2 and model.meta["train_config"]["reg_members"] == 2
    rc = main(["train", "--data", str(tiny_dataset), "--normal", "pigeon", "--known", "bar",
               "--out", str(tmp_path / "paper.safetensors"), "--pseudo-anomalies", "0", *FAST])
    assert rc == 0 and "pseudo-anomalies" not in capsys.readouterr().err
    for bad in (["--pseudo-anomalies", "1"], ["--pseudo-anomalies", "-0.1"], ["--vae-convs", "0"],
                ["--reg-members", "0"], ["--reg-normal-frames", "0"], ["--batch-size", "0"], ["--seed", "-1"]):
        rc = exit_status(["train", "--data", str(tiny_dataset), "--normal", "pigeon", "--known", "bar",
                          "--out", str(tmp_path / "x.safetensors"), *bad, *FAST])
        assert rc == 2
        err = capsys.readouterr().err
        assert bad[0] in err and "Traceback" not in err


def test_options_that_measured_no_better_are_gone(tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    """--reg-widths/--reg-halvings/--reg-dilate/--reg-norm/--pseudo-copies left the CLI
    (docs/results.md has what they measured); models trained with them still load
    (tests/test_checkpoint.py)."""
    for gone in (["--reg-widths", "4", "8"], ["--reg-halvings", "1"], ["--reg-dilate"], ["--reg-norm", "batch"],
                 ["--pseudo-copies", "2"]):
        with pytest.raises(SystemExit) as exc:
            main(["train", "--data", str(tiny_dataset), "--normal", "pigeon", "--known", "bar",
                  "--out", str(tmp_path / "x.safetensors"), *gone, *FAST])
        assert exc.value.code == 2 and "unrecognized arguments" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["experiment", "noisy-mnist", "--data", "x.npz", "--clamp-regressor"])
    assert not (tmp_path / "x.safetensors").exists()


def test_the_cli_defaults_are_the_recipes(tiny_dataset: Path) -> None:
    """The CLI takes every default from FolderTrainConfig and TRAINING_PREPROCESS."""
    from core.cli import folder_args
    from core.cli.main import build_parser
    from core.spader.recipe import TRAINING_PREPROCESS, FolderTrainConfig

    args = build_parser("train").parse_args(["train", "--data", str(tiny_dataset), "--normal", "pigeon",
                                             "--known", "bar", "--out", "m.safetensors"])
    assert folder_args.train_config(args, args.known) == FolderTrainConfig(normal="pigeon", known=("bar",))
    assert folder_args.preprocess_config(args) == TRAINING_PREPROCESS


def test_the_cli_and_the_api_train_the_same_model(tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    from core.spader.recipe import TRAINING_PREPROCESS, FolderTrainConfig, train_folder_model

    out = tmp_path / "cli.safetensors"
    rc = main(["train", "--data", str(tiny_dataset), "--normal", "pigeon", "--known", "bar", "--out", str(out),
               "--reg-members", "2", *FAST])
    assert rc == 0, capsys.readouterr().err
    cli = load_model(out)
    cfg = FolderTrainConfig(normal="pigeon", known=("bar",), vae_epochs=2, reg_epochs=3, workers=1,
                            val_fraction=0.2, test_fraction=0.34, reg_members=2, vae_min_steps=0, reg_min_steps=0)
    api = train_folder_model(tiny_dataset, cfg, dataclasses.replace(TRAINING_PREPROCESS, size=32)).model
    for part in ("vae", "regressor"):
        a, b = getattr(cli, part).state_dict(), getattr(api, part).state_dict()
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k].cpu(), b[k].cpu()), (part, k)
    assert cli.threshold == api.threshold
    for key in ("preprocess", "train_config", "split", "classes", "normal_class", "known_classes"):
        assert json.loads(json.dumps(api.meta[key])) == cli.meta[key], key


def test_the_depth_band_is_an_option_recorded_in_the_model(tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    from core.runtime.scorer import model_preprocess_config
    from core.preprocess import preprocess_depth

    out = tmp_path / "band.safetensors"
    rc = main(["train", "--data", str(tiny_dataset), "--normal", "pigeon", "--known", "bar", "--out", str(out),
               "--band-mm", "40", "--crop-mm", "300", "--seed-band-mm", "80", "--reg-members", "1", *FAST])
    assert rc == 0, capsys.readouterr().err
    pre = model_preprocess_config(load_model(out))  # what scoring, evaluate and the app will use
    assert (pre.band_mm, pre.crop_mm, pre.seed_band_mm) == (40, 300, 80)
    frame = np.full((96, 96), 2000, np.uint16)
    frame[30:60, 30:60] = 1000
    frame[40:50, 40:50] = 1020  # a dent 20 mm deep in the 'hand'
    sharp = dataclasses.replace(pre, smooth_px=0.0)
    narrow = preprocess_depth(frame.astype(np.float32), sharp).image
    wide = preprocess_depth(frame.astype(np.float32), dataclasses.replace(sharp, band_mm=250.0)).image
    c = pre.size // 2  # the dent is at the middle of the hand, the middle of the crop
    # the same 20 mm of relief spans half the band at 40 mm, under a tenth of it at 250 mm
    assert narrow.max() - narrow[c, c] == pytest.approx(0.5, abs=0.05)
    assert wide.max() - wide[c, c] == pytest.approx(0.08, abs=0.01)
    for bad in ("0", "-5"):
        rc = exit_status(["train", "--data", str(tiny_dataset), "--normal", "pigeon", "--known", "bar",
                          "--out", str(tmp_path / "x.safetensors"), "--band-mm", bad, *FAST])
        assert rc == 2 and "--band-mm" in capsys.readouterr().err


@pytest.mark.slow
def test_leave_one_subject_out_tests_every_subject_once(tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    rc = main(["experiment", "folds", "--data", str(tiny_dataset), "--normal", "pigeon", "--known-each", "bar",
               "cross", "--out", str(tmp_path), "--reg-members", "1", *FAST])
    printed = capsys.readouterr()
    assert rc == 0, printed.err
    res = json.loads((tmp_path / "result.json").read_text())
    assert res["test_subjects"] == [f"s{i:04d}" for i in range(6)]  # every subject is the test subject once
    for s in SCORER_KEYS:
        for k in ("bar", "cross"):
            assert len(res["aurocs"][s][k]) == 6 and all(0.0 <= a <= 1.0 for a in res["aurocs"][s][k])
        avg = res["summary"][s]["average"]
        assert avg["mean"] == pytest.approx(np.mean([np.mean([res["aurocs"][s][k][f] for k in ("bar", "cross")])
                                                     for f in range(6)]))
    assert "leave-one-subject-out folds" in printed.out and "± " in printed.out
    assert len(res["regressor_starts"]) == 6 and 0.0 <= res["first_start_share"] <= 1.0
    for i in range(6):
        assert f"fold {i + 1}/6: test subject s{i:04d}" in printed.err
    # the shapes are easy: the regressor tells them apart on the unseen subjects
    assert res["summary"]["cnn_reg"]["average"]["mean"] > 0.8


def test_the_folds_can_be_limited_to_some_test_subjects(tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    rc = main(["experiment", "folds", "--data", str(tiny_dataset), "--normal", "pigeon", "--known-each", "bar",
               "--out", str(tmp_path), "--reg-members", "1", "--test-subjects", "s0002", *FAST])
    printed = capsys.readouterr()
    assert rc == 0, printed.err
    res = json.loads((tmp_path / "result.json").read_text())
    assert res["test_subjects"] == ["s0002"] and len(res["aurocs"]["spader"]["bar"]) == 1
    assert "of 6 subjects" in printed.err and "fold 1/1: test subject s0002" in printed.err
    rc = main(["experiment", "folds", "--data", str(tiny_dataset), "--normal", "pigeon", "--known-each", "bar",
               "--out", str(tmp_path / "x"), "--test-subjects", "nobody", *FAST])
    err = capsys.readouterr().err
    assert rc != 0 and "no subject nobody" in err and "Traceback" not in err


def test_the_training_budget_and_augmentation_are_options_recorded_in_the_model(
        tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "steps.safetensors"
    rc = main(["train", "--data", str(tiny_dataset), "--normal", "pigeon", "--known", "bar", "--out", str(out),
               "--reg-members", "1", *FAST, "--vae-steps", "30", "--reg-steps", "20", "--no-augment"])
    assert rc == 0, capsys.readouterr().err
    recorded = load_model(out).meta["train_config"]
    assert (recorded["vae_min_steps"], recorded["reg_min_steps"], recorded["augment"]) == (30, 20, False)
    for bad in ("--vae-steps", "--reg-steps"):
        rc = exit_status(["train", "--data", str(tiny_dataset), "--normal", "pigeon", "--known", "bar",
                   "--out", str(tmp_path / "x.safetensors"), *FAST, bad, "-1"])
        assert rc == 2 and bad in capsys.readouterr().err
