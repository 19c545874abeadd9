"""The scoring backends: the exported graph on onnxruntime / OpenVINO scores every frame as
eager PyTorch does, the graph cache never serves a stale or damaged file, and "auto"
falls back to PyTorch with a note when a graph backend cannot run."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch

from capture.session.reader import SessionReader
from core.assets import default_model_path, demo_session_path
from core.errors import SpaderError
from core.runtime import backends
from core.runtime.backends import make_backend
from core.runtime.graph import graph_path, load_or_export, model_digest, read_graph_metadata
from core.runtime.scorer import FrameScorer
from core.spader.checkpoint import load_model, save_model
from core.spader.scorers import SCORER_KEYS, frame_noise
from support import tiny_model

pytest.importorskip("onnxruntime")
GRAPH_BACKENDS = [k for k in backends.AUTO_ORDER if backends.installed(k)]
MAPS = ("recon", "loss_map", "cam", "weighted_loss")


def _score(model, backend: str, x: torch.Tensor, indices, seed: int = 0):
    return FrameScorer(model, device="cpu", backend=backend, seed=seed).score_arrays(x, indices)


@pytest.mark.slow
@pytest.mark.parametrize("backend", GRAPH_BACKENDS)
def test_every_backend_scores_the_demo_session_as_pytorch_does(backend: str) -> None:
    """The acceptance check: the bundled model, every demo frame with a hand, scores and
    maps within 1e-4 of eager PyTorch, scored one frame at a time as the live worker does."""
    model = load_model(default_model_path())
    ref = FrameScorer(model, device="cpu", backend="torch")
    fast = FrameScorer(load_model(default_model_path()), device="cpu", backend=backend)
    assert ref.backend == "torch" and fast.backend == backend
    frames = list(SessionReader(demo_session_path()))
    compared = 0
    for frame in frames:
        (a,) = ref.score_frames([frame])
        (b,) = fast.score_frames([frame])
        assert a.has_hand == b.has_hand and a.box == b.box
        if not a.has_hand:
            continue
        compared += 1
        for k in SCORER_KEYS:
            assert abs(a.scores[k] - b.scores[k]) <= 1e-4, (frame.index, k, a.scores[k], b.scores[k])
        for name in ("recon", "loss", "cam", "weighted_loss"):
            np.testing.assert_allclose(b.maps[name], a.maps[name], atol=1e-4, rtol=0, err_msg=name)
    assert compared > 100


@pytest.mark.parametrize("backend", GRAPH_BACKENDS)
def test_an_ensemble_with_batchnorm_scores_the_same_at_any_batch_size(backend: str) -> None:
    model = tiny_model(seed=1, members=3, norm="batch")
    x = torch.from_numpy(np.random.default_rng(0).random((7, 1, 32, 32), dtype=np.float32))
    ref = _score(model, "torch", x, range(20, 27), seed=3)
    whole = _score(model, backend, x, range(20, 27), seed=3)
    ones = [_score(model, backend, x[i : i + 1], [20 + i], seed=3) for i in range(7)]
    for k in SCORER_KEYS:
        np.testing.assert_allclose(whole.scores[k], ref.scores[k], atol=1e-5, rtol=0, err_msg=k)
        np.testing.assert_allclose([o.scores[k][0] for o in ones], ref.scores[k], atol=1e-5, rtol=0, err_msg=k)
    for name in MAPS:
        np.testing.assert_allclose(getattr(whole, name), getattr(ref, name), atol=1e-5, rtol=0, err_msg=name)


def test_the_noise_stays_an_input_so_the_seed_still_matters() -> None:
    model = tiny_model()
    x = torch.rand(1, 1, 32, 32)
    a = _score(model, "onnxruntime", x, [4], seed=0).scores["vae"][0]
    b = _score(model, "onnxruntime", x, [4], seed=1).scores["vae"][0]
    assert a != pytest.approx(b, abs=1e-7)
    assert a == pytest.approx(_score(model, "torch", x, [4], seed=0).scores["vae"][0], abs=1e-5)


def test_the_digest_follows_the_weights_not_the_file(tmp_path: Path) -> None:
    model = tiny_model()
    saved = load_model(save_model(model, tmp_path / "m.safetensors"))
    assert model_digest(saved) == model_digest(model)
    with torch.no_grad():
        next(saved.regressor.parameters()).view(-1)[0] += 1e-3
    assert model_digest(saved) != model_digest(model)
    assert graph_path(saved) != graph_path(model)


def test_the_graph_cache_is_reused_and_never_trusted_when_stale(tmp_path: Path) -> None:
    model = tiny_model(seed=7)
    path, what = load_or_export(model, folder=tmp_path)
    assert what == "exported" and path.parent == tmp_path
    assert read_graph_metadata(path)["model_digest"] == model_digest(model)
    assert load_or_export(model, folder=tmp_path) == (path, "cached")
    # another model's graph copied to this model's name: its metadata gives it away
    other, _ = load_or_export(tiny_model(seed=8), folder=tmp_path)
    path.write_bytes(other.read_bytes())
    again, what = load_or_export(model, folder=tmp_path)
    assert what.startswith("re-exported") and "another model" in what
    assert read_graph_metadata(again)["model_digest"] == model_digest(model)
    # a damaged file (cut short) is exported again, not loaded
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    _, what = load_or_export(model, folder=tmp_path)
    assert what.startswith("re-exported") and "damaged" in what
    x = torch.rand(2, 1, 32, 32)
    eps = frame_noise([0, 1], model.vae.config.latent_dim, seed=0)
    got = backends.OnnxRuntimeBackend(path, threads=1).score(x, eps)
    ref = backends.TorchBackend(model, torch.device("cpu")).score(x, eps).numpy()
    np.testing.assert_allclose(got.scores["spader"], ref.scores["spader"], atol=1e-5, rtol=0)
    assert not list(tmp_path.glob("*.part"))  # exports are atomic: no leftovers


def test_auto_falls_back_to_pytorch_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "installed", lambda key: key == "torch")
    scorer = FrameScorer(tiny_model(), device="cpu")
    assert scorer.backend == "torch"
    assert scorer.backend_note == "onnxruntime is not installed: scoring with PyTorch (slower)"
    with pytest.raises(SpaderError, match="onnxruntime is not installed"):
        FrameScorer(tiny_model(), device="cpu", backend="onnxruntime")


def test_a_failing_export_falls_back_and_an_explicit_choice_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs):
        raise SpaderError("could not export the scoring graph of model 'tiny-test': RuntimeError: boom")

    monkeypatch.setattr("core.runtime.graph.export_graph", broken)
    monkeypatch.setattr(backends, "AUTO_ORDER", ("onnxruntime",))
    model = tiny_model(seed=11)  # never exported before: nothing cached
    scorer = FrameScorer(model, device="cpu")
    assert scorer.backend == "torch" and "boom" in scorer.backend_note and "PyTorch" in scorer.backend_note
    with pytest.raises(SpaderError, match="cannot score with onnxruntime.*boom"):
        FrameScorer(model, device="cpu", backend="onnxruntime")


def test_autograd_gradcam_and_unknown_backends() -> None:
    model = tiny_model()
    assert FrameScorer(model, device="cpu", gradcam_method="autograd").backend == "torch"
    with pytest.raises(SpaderError, match="needs autograd"):
        make_backend(model, torch.device("cpu"), "onnxruntime", gradcam_method="autograd")
    with pytest.raises(SpaderError, match="unknown scoring backend 'tensorrt'"):
        FrameScorer(model, device="cpu", backend="tensorrt")


def test_the_worker_reports_its_backend_and_sets_its_threads() -> None:
    from capture.mailbox import LatestFrameMailbox
    from core.runtime.worker import ResultMailbox, ScoringWorker
    from support import pose_frames

    scorer = FrameScorer(tiny_model(), device="cpu", backend="onnxruntime")
    box, results = LatestFrameMailbox(), ResultMailbox()
    w = ScoringWorker(box, results, scorer, threads=1).start()
    try:
        box.put(pose_frames(1)[0])
        deadline = time.monotonic() + 10
        while results.latest is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert results.latest is not None and results.latest.has_hand
        st = w.stats
        assert st.backend == "onnxruntime CPU, 1 thread" and st.backend_note == ""
        assert scorer.threads == 1
        started = [e for e in w.drain_events() if e.kind.value == "started"]
        assert started and "onnxruntime CPU, 1 thread" in started[0].message
    finally:
        w.stop()


@pytest.mark.parametrize("size,cin,cout", [(8, 8, 4), (16, 16, 8), (5, 3, 2)])
def test_the_transposed_form_of_upsample_then_conv_is_the_same_maths(size: int, cin: int, cout: int) -> None:
    from core.runtime.graph import UpsampleConvAsTransposed

    torch.manual_seed(size)
    conv = torch.nn.Conv2d(cin, cout, 3, padding=1)
    x = torch.rand(3, cin, size, size)
    with torch.no_grad():
        want = conv(torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest"))
        got = UpsampleConvAsTransposed(conv)(x)
    assert got.shape == want.shape == (3, cout, 2 * size, 2 * size)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)


def test_the_export_rewrites_only_exact_2x_blocks_and_keeps_the_decoder_output() -> None:
    """An 84 px VAE (Noisy-MNIST) has a 21 -> 42 block (2x) and a 5 -> 10 block (2x) but also
    10 -> 21 (not 2x): only the exact ones are rewritten, and the output stays the same."""
    import copy

    from core.runtime.graph import DepthwiseSumConv, _TransposedUpBlock, _for_export
    from core.spader.vae import VAE, UpBlock, VAEConfig

    torch.manual_seed(0)
    vae = VAE(VAEConfig(input_size=84, widths=(8, 16, 16, 32), latent_dim=16)).eval()
    fast = _for_export(copy.deepcopy(vae)).eval()
    sizes = vae.feature_sizes
    kinds = [type(b) for b in fast.decoder]
    for i, kind in enumerate(kinds):
        exact = sizes[-(i + 2)] == 2 * sizes[-(i + 1)]
        assert kind is (_TransposedUpBlock if exact else UpBlock), (i, sizes)
    assert UpBlock in kinds and _TransposedUpBlock in kinds
    assert isinstance(fast.to_image, DepthwiseSumConv)
    z = torch.randn(6, 16)
    with torch.no_grad():
        torch.testing.assert_close(fast.decode(z), vae.decode(z), atol=1e-5, rtol=0)


def test_live_threads_give_a_graph_backend_every_core_and_pytorch_one_on_two() -> None:
    from core.runtime.backends import live_threads

    assert live_threads("onnxruntime", cpus=2) == 2 and live_threads("openvino", cpus=8) == 8
    assert live_threads("torch", cpus=2) == 1 and live_threads("torch", cpus=1) == 1
    assert live_threads("torch", cpus=16) is None  # torch's own choice on big machines


def test_spader_model_export_writes_a_checked_graph_and_refuses_bad_input(tmp_path: Path, capsys) -> None:
    from core.cli.main import main

    model_path = save_model(tiny_model(seed=5), tmp_path / "m.safetensors")
    out = tmp_path / "graphs" / "m.onnx"
    assert main(["model", "export", str(model_path), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "exported" in text and "largest score difference" in text
    assert read_graph_metadata(out)["model_digest"] == model_digest(load_model(model_path))
    # into the cache by default, and found there the second time
    assert main(["model", "export", str(model_path)]) == 0
    assert main(["model", "export", str(model_path)]) == 0
    assert "(cached," in capsys.readouterr().out
    # a damaged model file, and a place that cannot hold a file: a message, never a traceback
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    assert main(["model", "export", str(bad)]) == 2
    assert "spader model: error:" in capsys.readouterr().err
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["model", "export", str(model_path), "--out", str(blocker / "g.onnx")]) == 2
    assert "cannot write the scoring graph" in capsys.readouterr().err
