"""Model files: safetensors + JSON metadata; damaged or mismatched files get clear errors."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from core.spader.checkpoint import build_model, load_model, read_header, save_model
from core.errors import ModelFileError
from core.spader import Regressor, RegressorConfig, VAEConfig


def _small(**meta):
    torch.manual_seed(0)
    return build_model(
        VAEConfig(input_size=32, widths=(8, 16), latent_dim=8),
        RegressorConfig(input_size=32, widths=(4, 8)),
        name="tiny", threshold=0.25, classes=["pigeon", "uncrossed"], **meta,
    )


def test_roundtrip_keeps_weights_and_metadata(tmp_path: Path) -> None:
    model = _small(preprocess={"size": 32})
    path = save_model(model, tmp_path / "m.safetensors")
    loaded = load_model(path)
    for a, b in zip(model.vae.state_dict().values(), loaded.vae.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    for a, b in zip(model.regressor.state_dict().values(), loaded.regressor.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert loaded.threshold == 0.25 and loaded.name == "tiny"
    meta = read_header(path)
    for key in ("vae", "regressor", "input_size", "software_version", "created", "preprocess", "classes"):
        assert key in meta, key
    x = torch.rand(2, 1, 32, 32)
    torch.testing.assert_close(loaded.regressor(x), model.regressor(x))


def test_file_is_plain_safetensors_not_a_pickle(tmp_path: Path) -> None:
    path = save_model(_small(), tmp_path / "m.safetensors")
    raw = path.read_bytes()
    # safetensors layout: an 8-byte little-endian header length, then a JSON header. A pickle
    # starts with the PROTO opcode 0x80, torch.save's zip with "PK": neither is possible here.
    (n,) = struct.unpack("<Q", raw[:8])
    assert 0 < n < len(raw) and raw[8:9] == b"{" and not raw.startswith((b"\x80", b"PK"))
    json.loads(raw[8 : 8 + n])
    assert all(k.startswith(("vae.", "regressor.")) for k in load_file(str(path)))


def test_saved_file_is_readable_as_the_umask_allows(tmp_path: Path) -> None:
    """safetensors alone writes owner-only files; a model trained by one account must open
    in another (the clinician's), like any file the user saves."""
    import os

    old = os.umask(0o022)
    try:
        path = save_model(_small(), tmp_path / "m.safetensors")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "nope.safetensors")


def test_truncated_file(tmp_path: Path) -> None:
    path = save_model(_small(), tmp_path / "m.safetensors")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="damaged|truncated|readable"):
        load_model(path)


def test_garbage_file(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"\x00" * 100)
    with pytest.raises(ModelFileError):
        load_model(path)


def test_not_a_spader_file(tmp_path: Path) -> None:
    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(path), metadata={"format": "pt"})
    with pytest.raises(ModelFileError, match="not a SPADER model"):
        load_model(path)


def _rewrite(path: Path, tensors=None, meta_edit=None, header_edit=None) -> None:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        header = dict(f.metadata())
    tensors = tensors if tensors is not None else load_file(str(path))
    if meta_edit:
        meta = json.loads(header["meta"])
        meta_edit(meta)
        header["meta"] = json.dumps(meta)
    if header_edit:
        header_edit(header)
    save_file(tensors, str(path), metadata=header)


def test_newer_format_version_is_refused(tmp_path: Path) -> None:
    path = save_model(_small(), tmp_path / "m.safetensors")
    _rewrite(path, header_edit=lambda h: h.update(format_version="99"))
    with pytest.raises(ModelFileError, match="version"):
        load_model(path)


def test_architecture_mismatch_names_the_tensor(tmp_path: Path) -> None:
    path = save_model(_small(), tmp_path / "m.safetensors")
    _rewrite(path, meta_edit=lambda m: m["vae"].update(latent_dim=16))
    with pytest.raises(ModelFileError, match="shape"):
        load_model(path)


def test_missing_tensor(tmp_path: Path) -> None:
    path = save_model(_small(), tmp_path / "m.safetensors")
    tensors = load_file(str(path))
    tensors.pop(next(k for k in tensors if k.startswith("regressor.")))
    _rewrite(path, tensors=tensors)
    with pytest.raises(ModelFileError, match="missing"):
        load_model(path)


def test_nan_weights(tmp_path: Path) -> None:
    path = save_model(_small(), tmp_path / "m.safetensors")
    tensors = load_file(str(path))
    key = next(k for k in tensors if k.startswith("vae.") and tensors[k].is_floating_point())
    tensors[key] = tensors[key].clone().fill_(float("nan"))
    _rewrite(path, tensors=tensors)
    with pytest.raises(ModelFileError, match="NaN"):
        load_model(path)


def test_damaged_metadata_json(tmp_path: Path) -> None:
    path = save_model(_small(), tmp_path / "m.safetensors")
    _rewrite(path, header_edit=lambda h: h.update(meta="{not json"))
    with pytest.raises(ModelFileError, match="metadata"):
        load_model(path)


def test_save_is_atomic_and_leaves_no_temp_file(tmp_path: Path) -> None:
    save_model(_small(), tmp_path / "m.safetensors")
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_deeper_vae_round_trips_and_older_files_load_as_the_light_model(tmp_path: Path) -> None:
    torch.manual_seed(0)
    deep = build_model(VAEConfig(input_size=32, widths=(8, 16), latent_dim=8, convs_per_level=2),
                       RegressorConfig(input_size=32, widths=(4, 8)), name="deep")
    loaded = load_model(save_model(deep, tmp_path / "deep.safetensors"))
    assert loaded.vae.config.convs_per_level == 2
    x = torch.rand(2, 1, 32, 32)
    torch.testing.assert_close(loaded.vae.decode(loaded.vae.encode(x)[0]), deep.vae.decode(deep.vae.encode(x)[0]))
    # the light model is written without the key, as before the setting existed, so older
    # versions still read it, and a file without the key loads as the light model
    light_cfg = VAEConfig(input_size=32, widths=(8, 16), latent_dim=8).to_dict()
    assert "convs_per_level" not in light_cfg
    assert VAEConfig.from_dict(light_cfg).convs_per_level == 1
    assert VAEConfig.from_dict(deep.vae.config.to_dict()).convs_per_level == 2
    for bad in (0, 1.5, "2"):
        with pytest.raises(ValueError, match="convs_per_level"):
            VAEConfig(convs_per_level=bad)
    light = _small()
    assert not any(".extra." in k for k in light.vae.state_dict())


def test_bundled_default_model_still_loads() -> None:
    bundled = Path(__file__).resolve().parents[1] / "assets" / "models" / "default.safetensors"
    model = load_model(bundled)
    assert model.vae.config.convs_per_level == 1
    with torch.no_grad():
        out = model.vae.reconstruct(torch.rand(1, 1, 128, 128), m=2)
    assert out.shape == (1, 2, 1, 128, 128)


def test_an_ensemble_regressor_round_trips_and_single_ones_keep_the_old_header(tmp_path: Path) -> None:
    torch.manual_seed(0)
    members = [Regressor(RegressorConfig(input_size=32, widths=(4, 8))) for _ in range(3)]
    model = _small()
    model.regressor = Regressor.from_members(members)
    loaded = load_model(save_model(model, tmp_path / "ens.safetensors"))
    assert loaded.regressor.config.members == 3
    assert read_header(tmp_path / "ens.safetensors")["regressor"]["members"] == 3
    x = torch.rand(3, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded.regressor(x), torch.stack([m(x) for m in members]).mean(dim=0))
    # one regressor is written as before the setting existed, so older versions read it
    save_model(_small(), tmp_path / "one.safetensors")
    assert "members" not in read_header(tmp_path / "one.safetensors")["regressor"]
    assert load_model(tmp_path / "one.safetensors").regressor.config.members == 1


def test_a_regressor_with_fewer_halvings_round_trips_and_others_keep_the_old_header(tmp_path: Path) -> None:
    model = _small()
    model.regressor = Regressor(RegressorConfig(input_size=32, widths=(4, 8, 8), halvings=1))
    loaded = load_model(save_model(model, tmp_path / "fine.safetensors"))
    assert loaded.regressor.config.halvings == 1
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded.regressor(x), model.regressor(x))
        assert loaded.regressor.features(x).shape[-2:] == (16, 16)
    save_model(_small(), tmp_path / "plain.safetensors")
    assert "halvings" not in read_header(tmp_path / "plain.safetensors")["regressor"]
    assert load_model(tmp_path / "plain.safetensors").regressor.config.halvings is None


def test_a_batch_normed_regressor_round_trips_with_its_running_statistics(tmp_path: Path) -> None:
    model = _small()
    model.regressor = Regressor(RegressorConfig(input_size=32, widths=(4, 8), norm="batch")).train()
    with torch.no_grad():
        model.regressor(torch.rand(6, 1, 32, 32) + 2.0)  # running statistics far from the initial 0 / 1
    model.regressor.eval()
    loaded = load_model(save_model(model, tmp_path / "bn.safetensors"))
    assert loaded.regressor.config.norm == "batch"
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded.regressor(x), model.regressor(x), rtol=0, atol=0)
    save_model(_small(), tmp_path / "plain.safetensors")  # no norm: the header older versions read
    assert "norm" not in read_header(tmp_path / "plain.safetensors")["regressor"]
    assert load_model(tmp_path / "plain.safetensors").regressor.config.norm == "none"
