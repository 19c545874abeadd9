"""Kinds of pose within a synthetic class (Pose.variant) and the per-kind AUROC read off a sweep's saved scores."""

import json

import numpy as np
import pytest

from core.cli.main import main
from core.data.folders import open_dataset
from core.data.synth import poses as P
from core.data.synth.scene import LEFT, RIGHT, sample_subject
from core.data.synth.writer import dataset_pose, parse_frame_filename, write_dataset
from core.errors import DataError
from core.data.splits import split_items
from core.spader.recipe import FolderTrainConfig
from core.experiments.variants import variant_table


def _lean_to_own_side(pose) -> float:
    """Mean over both hands of the finger direction's sideways part, + toward the hand's own side."""
    return float(np.mean([P.SIDE_SIGN[s] * pose.hand(s).rot[0, 0] for s in (RIGHT, LEFT)]))


def test_palms_wrong_frames_name_their_kind_and_it_matches_the_hands():
    kinds = []
    for k in range(120):
        subject = sample_subject(np.random.default_rng([5, 0, k % 7]), f"s{k % 7:04d}")
        pose = P.sample_pose("palms_wrong", subject, np.random.default_rng([5, 1, 2, k]))
        kinds.append(pose.variant)
        # own side: each hand's fingers lean out over its own side; crossed: over the other hand's
        assert (_lean_to_own_side(pose) > 0) == (pose.variant == "own_side"), k
    assert set(kinds) == set(P.VARIANTS["palms_wrong"])
    assert 0.45 < kinds.count("own_side") / len(kinds) < 0.75  # drawn 60 % own side


def test_only_the_classes_with_kinds_name_one():
    subject = sample_subject(np.random.default_rng(0), "s0000")
    for cls in P.CLASSES:
        seen = {P.sample_pose(cls, subject, np.random.default_rng([0, k])).variant for k in range(40)}
        assert seen == (set(P.VARIANTS[cls]) if cls in P.VARIANTS else {""}), cls


def test_frame_names_parse_back_and_bad_names_are_refused():
    assert parse_frame_filename("s0075_00475.png") == (75, 475)
    assert parse_frame_filename("dir/s0001_12345") == (1, 12345)
    with pytest.raises(DataError, match="not a frame name"):
        parse_frame_filename("hand_01.png")


@pytest.fixture(scope="module")
def synth_run(tmp_path_factory):
    """A small synthetic data set and a fake finished sweep over it whose SPADER scores rank
    own-side palms_wrong frames above every normal frame in the uncrossed column."""
    root = tmp_path_factory.mktemp("variants")
    data = root / "data"
    write_dataset(data, subjects=8, frames_per_class=40, seed=3, classes=["pigeon", "uncrossed", "palms_wrong"], workers=1)
    cfg = FolderTrainConfig(normal="pigeon", known=("uncrossed", "palms_wrong"), seed=0)
    test = split_items(open_dataset(data), cfg)[0]["test"]
    labels = np.array([it.cls for it in test])
    kind = np.array([dataset_pose(3, it.cls, it.path.name).variant for it in test])
    rng = np.random.default_rng(0)
    base = np.where(labels == "pigeon", 0.5 + 0.1 * rng.random(len(test)), 0.0)
    col_unc = np.where(kind == "own_side", 0.9, base)  # own side looks more normal than any pigeon
    col_pw = base.copy()  # palms_wrong known: every anomaly below every pigeon
    run = root / "run"
    run.mkdir()
    np.savez_compressed(run / "scores.npz", labels=labels, **{"uncrossed.spader": col_unc, "palms_wrong.spader": col_pw,
                                                              "uncrossed.cnn_reg": base, "palms_wrong.cnn_reg": base})
    result = {"experiment": "folders", "data": str(data), "known_choices": ["uncrossed", "palms_wrong"],
              "splits": {"test": {"subjects": sorted({it.subject for it in test})}},
              "config": {"normal": "pigeon", "known": ["uncrossed", "palms_wrong"], "seed": 0, "val_fraction": 0.15,
                         "test_fraction": 0.25, "max_per_class": None}}
    (run / "result.json").write_text(json.dumps(result))
    return run, data, labels, kind


def test_variant_table_reads_each_kinds_auroc_off_the_saved_scores(synth_run):
    run, _data, labels, kind = synth_run
    assert {"own_side", "crossed"} <= set(kind[labels == "palms_wrong"])  # the fixture holds both kinds
    t = variant_table(run)
    assert set(t.auroc) == {("palms_wrong", "own_side"), ("palms_wrong", "crossed")}
    assert t.counts[("palms_wrong", "own_side")] == int(((labels == "palms_wrong") & (kind == "own_side")).sum())
    assert sum(t.counts.values()) == int((labels == "palms_wrong").sum())
    assert t.auroc[("palms_wrong", "own_side")] == {"uncrossed": 0.0, "palms_wrong": 1.0}
    assert t.auroc[("palms_wrong", "crossed")] == {"uncrossed": 1.0, "palms_wrong": 1.0}
    # the mean where the class was unknown leaves out its own (known) column
    assert t.unknown_mean(("palms_wrong", "own_side")) == 0.0
    assert variant_table(run, scorer="cnn_reg").auroc[("palms_wrong", "own_side")]["uncrossed"] == 1.0


def test_variant_table_refuses_a_run_that_does_not_match_the_data(synth_run, tmp_path):
    run, data, _labels, _kind = synth_run
    other = tmp_path / "other"
    other.mkdir()
    (other / "result.json").write_text((run / "result.json").read_text().replace('"seed": 0', '"seed": 1'))
    (other / "scores.npz").write_bytes((run / "scores.npz").read_bytes())
    with pytest.raises(DataError, match="do not match"):
        variant_table(other)
    with pytest.raises(DataError, match="not a finished"):
        variant_table(tmp_path)


def test_cli_prints_the_per_kind_table(synth_run, capsys):
    run, _data, _labels, _kind = synth_run
    assert main(["experiment", "variants", str(run)]) == 0
    out = capsys.readouterr().out
    rows = {line.split("(")[0].strip(): line for line in out.splitlines() if line.startswith("palms_wrong")}
    assert set(rows) == {"palms_wrong own_side", "palms_wrong crossed"}
    own = rows["palms_wrong own_side"].split()
    assert own[3] == "0.000" and own[4:6] == ["1.000", "(known)"] and own[-1] == "0.000"
    assert main(["experiment", "variants", str(run), "--scorer", "nope"]) == 2
    assert "--scorer must be one of" in capsys.readouterr().err
