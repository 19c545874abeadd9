"""Synthetic pigeon-pose generator: renderer, sensor model, classes, data set and session writers, CLI."""

from __future__ import annotations

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest

from capture.session import SessionReader
from core.cli.main import main
from core.data.synth import (
    CLASSES,
    KINECT_NFOV_BINNED,
    KINECT_NFOV_UNBINNED,
    RAISED_CLASSES,
    TRANSITION,
    SceneParams,
    SensorModel,
    dataset_frame,
    dataset_subject,
    make_generator,
    nearest_depth_mm,
    noise_sigma_mm,
    parse_script,
    read_labels,
    render_frame,
    render_ideal,
    sample_pose,
    sample_scene,
    sample_subject,
    scaled_camera,
    synthetic_pigeon_source,
    write_dataset,
    write_session,
)
from core.data.synth.crop import crop_descriptors, metric_hand_crop
from core.data.synth.raycast import depth_mode_name
from core.data.synth.raycast import LABEL_ARM, LABEL_BODY, LABEL_HEAD, LABEL_LEFT_HAND, LABEL_RIGHT_HAND
from core.data.synth.sensor import fov_mask
from core.errors import DataError

HANDS = [LABEL_RIGHT_HAND, LABEL_LEFT_HAND]


def scene(cls: str, seed: int, k: int = 0) -> SceneParams:
    rng = np.random.default_rng([seed, k])
    subject = dataset_subject(seed, k)
    return SceneParams(subject, sample_pose(cls, subject, rng))


# -- frames ---------------------------------------------------------------------------------
def test_same_seed_same_frame_different_seed_different():
    a = render_frame(sample_scene("pigeon", np.random.default_rng(5)), np.random.default_rng(6))
    b = render_frame(sample_scene("pigeon", np.random.default_rng(5)), np.random.default_rng(6))
    assert np.array_equal(a, b)
    c = render_frame(sample_scene("pigeon", np.random.default_rng(5)), np.random.default_rng(7))  # noise only
    d = render_frame(sample_scene("pigeon", np.random.default_rng(8)), np.random.default_rng(6))  # another person
    assert not np.array_equal(a, c) and not np.array_equal(a, d)
    assert np.array_equal(dataset_frame(3, "uncrossed", 4, 2)[1], dataset_frame(3, "uncrossed", 4, 2)[1])


def test_dtype_shape_unit_and_camera_parameters():
    p = scene("pigeon", 1)
    d = render_frame(p, np.random.default_rng(0))
    assert d.dtype == np.uint16 and d.shape == (288, 320)
    valid = d[d > 0]
    assert 0.6 < valid.size / d.size < 0.99  # holes exist, most pixels have a reading
    assert 1900 < np.median(valid) < 2700  # millimetres: mostly the wall at 2-2.5 m
    assert valid.min() >= 500  # the sensor's minimum range
    small = render_frame(replace(p, camera=scaled_camera(160, 144)), np.random.default_rng(0))
    assert small.shape == (144, 160)
    ideal_small = render_ideal(replace(p, camera=scaled_camera(160, 144))).depth
    ideal = render_ideal(p).depth
    # same field of view: the half-size image is the big one subsampled (up to edges)
    assert np.median(np.abs(ideal_small - ideal[::2, ::2])) < 1.0
    assert KINECT_NFOV_BINNED.fx == 252.0 and (KINECT_NFOV_BINNED.width, KINECT_NFOV_BINNED.height) == (320, 288)
    # the unbinned mode is the binned one at twice the resolution, same field of view
    assert scaled_camera(640, 576) == KINECT_NFOV_UNBINNED
    assert scaled_camera(320, 288, KINECT_NFOV_UNBINNED) == KINECT_NFOV_BINNED
    assert [depth_mode_name(k) for k in (KINECT_NFOV_UNBINNED, KINECT_NFOV_BINNED, scaled_camera(400, 360))] == [
        "NFOV_UNBINNED", "NFOV_2X2BINNED", "400x360"]


@pytest.mark.parametrize("cls", CLASSES)
def test_every_class_hands_nearest_person_in_range(cls):
    for k in range(3):
        p = scene(cls, 21, k)
        d, lab = render_frame(p, np.random.default_rng(k), return_labels=True)
        hands = np.isin(lab, HANDS) & (d > 0)
        torso = (lab == LABEL_BODY) & (d > 0)
        assert 800 <= np.median(d[torso]) <= 1700, "person within 0.8-1.5 m (chest surface) plus the body's depth"
        assert 850 <= p.pose.distance_mm <= 1500
        assert hands.sum() > 150, "hands are visible"
        near = nearest_depth_mm(d)
        close = (d > 0) & (d < near + 30)
        share = np.isin(lab[close], HANDS + [LABEL_ARM]).mean()
        if cls in RAISED_CLASSES:
            assert share > 0.95, f"{cls}: the nearest surfaces are the hands/forearms ({share:.2f})"
            assert np.isin(lab[close], HANDS).mean() > 0.7
            offset = p.pose.distance_mm - np.median(d[hands])
            assert 180 <= offset <= 480, f"{cls}: hands {offset:.0f} mm in front of the chest"
        else:
            assert np.median(d[hands]) > p.pose.distance_mm - 150, "hands rest low, near the body"


def _descriptors(cls: str, n: int) -> dict[str, np.ndarray]:
    rows = [crop_descriptors(metric_hand_crop(dataset_frame(5, cls, k, 20)[1])) for k in range(n)]
    return {key: np.array([r[key] for r in rows]) for key in rows[0]}


def test_pigeon_differs_from_each_anomaly_near_the_hands():
    """On 400 mm hand crops, some simple shape measure separates pigeon from each anomaly
    (AUC >= 0.85 or <= 0.15 over 12 + 12 frames of different people and poses)."""
    pig = _descriptors("pigeon", 12)
    for cls in CLASSES[1:]:
        other = _descriptors(cls, 12)
        aucs = {k: float((other[k][:, None] > pig[k][None, :]).mean() + 0.5 * (other[k][:, None] == pig[k][None, :]).mean())
                for k in pig}
        best = max(aucs, key=lambda k: abs(aucs[k] - 0.5))
        assert abs(aucs[best] - 0.5) >= 0.35, f"{cls}: {aucs}"


def _hand_columns(cls: str, k: int) -> tuple[float, float]:
    lab = render_ideal(scene(cls, 41, k)).label
    cols = np.arange(lab.shape[1])[None, :].repeat(lab.shape[0], 0)
    return float(np.median(cols[lab == LABEL_RIGHT_HAND])), float(np.median(cols[lab == LABEL_LEFT_HAND]))


def test_class_semantics_crossed_one_hand_curled():
    for k in range(4):
        r, left = _hand_columns("pigeon", k)
        assert r > left, "pigeon: the hands are crossed (the right hand on the subject's left, image right)"
        r, left = _hand_columns("uncrossed", k)
        assert r < left - 20, "uncrossed: each hand on its own side, apart"
    for k in range(4):
        p = scene("one_hand", 43, k)
        d, lab = render_frame(p, np.random.default_rng(k), return_labels=True)
        close = (d > 0) & (d < nearest_depth_mm(d) + 60)
        counts = [int((close & (lab == h)).sum()) for h in HANDS]
        assert min(counts) < 0.05 * max(counts), "one hand only is raised"
    area = {}
    for cls in ("pigeon", "fingers_curled"):
        a = []
        for k in range(4):
            p = scene(cls, 47, k)
            buf = render_ideal(p)
            hand = np.isin(buf.label, HANDS)
            a.append(hand.sum() * (np.median(buf.depth[hand]) / 1000.0) ** 2)  # ~ physical area
        area[cls] = np.mean(a)
    assert area["fingers_curled"] < 0.8 * area["pigeon"]


# -- sensor model ---------------------------------------------------------------------------
def _noise_std(p: SceneParams, distance: float) -> float:
    p = replace(p, pose=replace(p.pose, distance_mm=distance))
    buf = render_ideal(p)
    errs = []
    for s in range(3):
        d = render_frame(p, np.random.default_rng(s)).astype(np.float64)
        ok = (buf.label == LABEL_BODY) & (buf.cos > 0.9) & (d > 0)
        ok = ok & (cv2.erode(ok.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0)
        errs.append(d[ok] - buf.depth[ok])
    e = np.concatenate(errs)
    return float(np.std(e))


def test_noise_grows_with_distance():
    p = scene("pigeon", 51)
    p = replace(p, sensor=SensorModel(noise_mm_at_1m=2.0))
    near, far = _noise_std(p, 900.0), _noise_std(p, 1500.0)
    assert 1.0 < near < 4.0
    assert far > 1.8 * near  # ~ (1.5 / 0.9)^2 = 2.8 (quantisation adds a little at both)
    assert 1.0 <= noise_sigma_mm(1000.0, SensorModel()) <= 3.0
    assert float(noise_sigma_mm(1000.0, SensorModel(), cos=0.3)) > float(noise_sigma_mm(1000.0, SensorModel()))


def test_holes_and_flying_pixels_at_silhouettes():
    p = scene("pigeon", 61)
    buf = render_ideal(p)
    z = buf.depth.astype(np.float32)
    jump = cv2.dilate(z, np.ones((3, 3), np.uint8)) - cv2.erode(z, np.ones((3, 3), np.uint8))
    edge = jump > 150
    interior = (buf.cos > 0.8) & (cv2.dilate(edge.astype(np.uint8), np.ones((7, 7), np.uint8)) == 0)
    interior &= fov_mask(p.camera) & (buf.label != LABEL_HEAD)  # outside the NFOV corners; no hair
    holes_edge, holes_inner, flying = [], [], []
    lo = cv2.erode(z, np.ones((3, 3), np.uint8))
    hi = cv2.dilate(z, np.ones((3, 3), np.uint8))
    for s in range(3):
        d = render_frame(p, np.random.default_rng(s)).astype(np.float32)
        holes_edge.append((d[edge] == 0).mean())
        holes_inner.append((d[interior] == 0).mean())
        mid = edge & (d > lo + 40) & (d < hi - 40)
        flying.append(mid.sum() / edge.sum())
    assert np.mean(holes_edge) > 0.25
    assert np.mean(holes_inner) < 0.01
    assert np.mean(flying) > 0.05  # depths between foreground and background
    grazing = buf.cos < 0.1
    d = render_frame(p, np.random.default_rng(0))
    assert (d[grazing] == 0).mean() > 0.9


# -- writers --------------------------------------------------------------------------------
def test_dataset_layout_json_determinism_and_overwrite(tmp_path):
    out = tmp_path / "ds"
    meta = write_dataset(out, subjects=2, frames_per_class=3, seed=4, classes=["pigeon", "one_hand"], workers=1)
    saved = json.loads((out / "dataset.json").read_text())
    assert saved == meta
    assert set(saved) == {"format", "format_version", "unit_mm", "subject_pattern", "synthetic", "generator", "seed",
                          "classes", "intrinsics", "description"}
    assert (saved["format"], saved["format_version"], saved["unit_mm"], saved["synthetic"]) == ("spader-dataset", 1, 1.0, True)
    assert saved["classes"] == {"pigeon": 3, "one_hand": 3} and saved["seed"] == 4
    assert saved["intrinsics"] == {"fx": 252.0, "fy": 252.0, "cx": 160.0, "cy": 144.0, "width": 320, "height": 288}
    assert "not clinical" in saved["description"]
    names = sorted(f.name for f in (out / "pigeon").iterdir())
    assert names == ["s0000_00000.png", "s0000_00002.png", "s0001_00001.png"]
    img = cv2.imread(str(out / "one_hand" / "s0001_00001.png"), cv2.IMREAD_UNCHANGED)
    assert img.dtype == np.uint16 and img.shape == (288, 320)
    assert np.array_equal(img, dataset_frame(4, "one_hand", 1, 2)[1])
    import re

    assert re.match(saved["subject_pattern"], "s0001_00001.png").group("subject") == "s0001"

    with pytest.raises(DataError, match="not empty"):
        write_dataset(out, subjects=2, frames_per_class=3, seed=4, classes=["pigeon"], workers=1)
    # two worker processes write byte-identical files
    out2 = tmp_path / "ds2"
    write_dataset(out2, subjects=2, frames_per_class=3, seed=4, classes=["pigeon", "one_hand"], workers=2)
    for f in sorted(out.rglob("*.png")):
        assert f.read_bytes() == (out2 / f.relative_to(out)).read_bytes()
    # --force replaces the class folders' frames
    write_dataset(out, subjects=1, frames_per_class=1, seed=5, classes=["pigeon"], workers=1, force=True)
    assert [f.name for f in (out / "pigeon").iterdir()] == ["s0000_00000.png"]
    assert json.loads((out / "dataset.json").read_text())["classes"] == {"pigeon": 1}
    with pytest.raises(DataError, match="unknown class"):
        write_dataset(tmp_path / "x", subjects=1, frames_per_class=1, classes=["pidgeon"], workers=1)


def test_session_opens_with_frames_fps_and_labels(tmp_path):
    out = tmp_path / "sess"
    script = [("hands_down", 0.5), ("pigeon", 0.5), ("uncrossed", 0.4)]
    n = write_session(out, seconds=None, seed=2, script=script, workers=1)
    assert n == 42
    r = SessionReader(out)
    assert len(r) == 42 and r.meta.fps == 30.0 and r.meta.sensor == "synthetic" and r.meta.unit_mm == 1.0
    assert r.problems == [] and r.closed
    assert r.device_ts_us[:3] == [0, 33333, 66667] and abs(r.time_s(30) - 1.0) < 1e-6
    assert r.meta.intrinsics == KINECT_NFOV_BINNED
    assert r.meta.settings["synthetic"]["labels_file"] == "labels.csv"
    labels = read_labels(out)
    assert len(labels) == 42 and labels[0] == "hands_down" and labels[-1] == "uncrossed"
    assert TRANSITION in labels and "pigeon" in labels
    assert r[20].depth.dtype == np.uint16 and r[20].depth.shape == (288, 320)
    # smooth motion: consecutive frames are similar, hands_down vs pigeon frames are not
    d = [r[i].depth.astype(np.float32) for i in (14, 15, 29)]
    both = lambda a, b: (a > 0) & (b > 0)  # noqa: E731
    m1, m2 = both(d[0], d[1]), both(d[0], d[2])
    assert np.median(np.abs(d[0] - d[1])[m1]) < np.mean(np.abs(d[0] - d[2])[m2])


def test_script_parsing_and_live_generator():
    assert parse_script("hands_down:3, pigeon:6") == [("hands_down", 3.0), ("pigeon", 6.0)]
    for bad, msg in (("pigeon", "CLASS:SECONDS"), ("dove:3", "unknown class"), ("pigeon:x", "not a number"), ("pigeon:0", "positive")):
        with pytest.raises(DataError, match=msg):
            parse_script(bad)
    gen = make_generator(seed=1, script=[("pigeon", 1.0)])
    a = gen(3, np.random.default_rng(0))
    assert a.dtype == np.uint16 and a.shape == (288, 320)
    assert np.array_equal(a, gen(33, np.random.default_rng(0)))  # loops every second
    assert gen.label(0) == "pigeon"
    src = synthetic_pigeon_source(seed=2, n_frames=2)
    with src:
        f0 = src.read()
        assert f0.depth.shape == (288, 320) and f0.intrinsics.width == 320
    with src:
        assert np.array_equal(src.read().depth, f0.depth)


def test_sample_subject_varies():
    subs = [sample_subject(np.random.default_rng(i)) for i in range(20)]
    assert len({s.front_hand for s in subs}) == 2
    assert np.ptp([s.body_scale for s in subs]) > 0.1 and np.ptp([s.distance_mm for s in subs]) > 200


def test_dataset_more_normal_frames_extends_the_same_frames(tmp_path):
    """--normal-frames: more pigeon frames than anomalous ones; the first ones are the ones a
    plain data set of that seed has, so a larger normal class only adds frames."""
    plain, more = tmp_path / "plain", tmp_path / "more"
    write_dataset(plain, subjects=2, frames_per_class=2, seed=3, classes=["pigeon", "one_hand"], workers=1)
    meta = write_dataset(more, subjects=2, frames_per_class=2, seed=3, classes=["pigeon", "one_hand"], workers=1,
                         normal_frames=5)
    assert meta["classes"] == {"pigeon": 5, "one_hand": 2}
    assert json.loads((more / "dataset.json").read_text())["classes"] == {"pigeon": 5, "one_hand": 2}
    assert sorted(f.name for f in (more / "pigeon").iterdir()) == [
        "s0000_00000.png", "s0000_00002.png", "s0000_00004.png", "s0001_00001.png", "s0001_00003.png"]
    assert sorted(f.name for f in (more / "one_hand").iterdir()) == ["s0000_00000.png", "s0001_00001.png"]
    for f in sorted(plain.rglob("*.png")):
        assert f.read_bytes() == (more / f.relative_to(plain)).read_bytes()
    with pytest.raises(DataError, match="at least one"):
        write_dataset(tmp_path / "x", subjects=1, frames_per_class=1, workers=1, normal_frames=0)
    with pytest.raises(DataError, match="needs the normal class"):
        write_dataset(tmp_path / "y", subjects=1, frames_per_class=1, classes=["one_hand"], workers=1, normal_frames=3)


# -- CLI ------------------------------------------------------------------------------------
def test_cli_help(capsys):
    for argv in (["synth", "--help"], ["synth", "dataset", "--help"], ["synth", "session", "--help"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
    assert "--frames-per-class" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["synth", "dataset", "OUT", "--subjects", "0"], "0 is outside 1..100000"),
        (["synth", "dataset", "OUT", "--frames-per-class", "many"], "not a whole number"),
        (["synth", "dataset", "OUT", "--normal-frames", "0"], "0 is outside 1..10000000"),
        (["synth"], "required"),
        (["synth", "session", "OUT", "--seconds", "-2"], "-2 must be above 0"),
        (["synth", "dataset", "OUT", "--depth-mode", "WFOV_UNBINNED"], "unknown depth mode"),
    ],
)
def test_cli_bad_arguments_exit_2(argv, message, capsys, tmp_path):
    argv = [str(tmp_path / a) if a == "OUT" else a for a in argv]
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and message in err and "Traceback" not in err


def test_cli_user_errors_exit_2_without_traceback(tmp_path, capsys):
    assert main(["synth", "dataset", str(tmp_path / "d"), "--classes", "pigeon,dove", "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("spader synth: error:") and "unknown class" in err and "Traceback" not in err
    assert main(["synth", "session", str(tmp_path / "s"), "--script", "pigeon=3"]) == 2
    assert "CLASS:SECONDS" in capsys.readouterr().err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("keep")
    assert main(["synth", "dataset", str(tmp_path / "full"), "--subjects", "1", "--frames-per-class", "1"]) == 2
    assert "--force" in capsys.readouterr().err


def test_cli_dataset_and_session(tmp_path, capsys):
    out = tmp_path / "d"
    argv = ["synth", "dataset", str(out), "--subjects", "1", "--frames-per-class", "1", "--classes", "pigeon", "hands_down",
            "--workers", "1", "--seed", "9"]
    assert main(argv) == 0
    assert "frames/s" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["dataset.json", "hands_down", "pigeon", "synth_subjects.json"]
    # the CLI imitates the app's live depth mode unless told otherwise
    assert json.loads((out / "dataset.json").read_text())["intrinsics"] == {
        "fx": 504.0, "fy": 504.0, "cx": 320.0, "cy": 288.0, "width": 640, "height": 576}
    assert cv2.imread(str(next((out / "pigeon").iterdir())), cv2.IMREAD_UNCHANGED).shape == (576, 640)
    binned = tmp_path / "b"
    assert main(argv[:2] + [str(binned)] + argv[3:] + ["--depth-mode", "nfov-2x2binned"]) == 0
    assert json.loads((binned / "dataset.json").read_text())["intrinsics"]["width"] == 320
    # --width scales the chosen mode's intrinsics (same field of view)
    half = tmp_path / "h"
    assert main(argv[:2] + [str(half)] + argv[3:] + ["--width", "160"]) == 0
    assert json.loads((half / "dataset.json").read_text())["intrinsics"] == {
        "fx": 126.0, "fy": 126.0, "cx": 80.0, "cy": 72.0, "width": 160, "height": 144}
    capsys.readouterr()
    assert main(["synth", "session", str(tmp_path / "s"), "--seconds", "0.2", "--workers", "1", "--script", "pigeon:1",
                 "--depth-mode", "NFOV_2X2BINNED"]) == 0
    assert "6 frames" in capsys.readouterr().out
    meta = SessionReader(tmp_path / "s").meta
    assert meta.intrinsics == KINECT_NFOV_BINNED and meta.depth_mode == "NFOV_2X2BINNED (synthetic)"
    assert read_labels(tmp_path / "s") == ["pigeon"] * 6
    assert main(["synth", "session", str(tmp_path / "s"), "--seconds", "0.2", "--workers", "1"]) == 2  # exists
