"""Model files: one safetensors file holding both networks, with JSON metadata in its header.

Format version 1 (docs/model-format.md has every key): tensors ``vae.<state_dict key>``
and ``regressor.<state_dict key>``; header metadata ``format = "spader-model"``,
``format_version = "1"``, ``meta``, a JSON object, and ``sha256``, the digest of the meta
text and of every tensor (``content_digest``). Every save writes ``vae`` and
``regressor`` (the architectures), ``input_size``, ``software_version`` and ``created``;
`spader train` adds ``name``, ``threshold`` (with ``threshold_method`` and
``threshold_validation``), ``normal_class``, ``known_classes``, ``classes``, ``preprocess``,
``train_config``, ``train_seconds``, ``split``, ``data``, ``seed`` and ``command``.
M (VAE samples per frame) is not stored: scoring uses ``scorers.M_SAMPLES``.
Loading never unpickles, checks keys, shapes and values and the digest (a file written
before the digest existed has none and loads without that check), and names the problem
when the file is damaged or does not match.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from core import __version__
from core.device import place_model
from core.errors import ModelFileError, shown
from core.spader.regressor import Regressor, RegressorConfig
from core.spader.vae import VAE, VAEConfig

FORMAT = "spader-model"
FORMAT_VERSION = "1"
DIGEST_KEY = "sha256"  # header metadata: content_digest() of the file, checked on load
HEADER_KEYS = frozenset({"format", "format_version", "meta", DIGEST_KEY})  # all a save writes


@dataclass
class SpaderModel:
    """The VAE and the regressor that SPADER scores with, plus their metadata."""

    vae: VAE
    regressor: Regressor
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def input_size(self) -> int:
        return self.vae.config.input_size

    @property
    def threshold(self) -> float | None:
        t = self.meta.get("threshold")
        return None if t is None else float(t)

    @property
    def name(self) -> str:
        """The model's name with control characters (terminal escapes) left out."""
        raw = str(self.meta.get("name", "model"))
        return "".join(ch for ch in raw if ch.isprintable()) or "model"

    def to(self, device: torch.device | str) -> "SpaderModel":
        place_model(self.vae, device)
        place_model(self.regressor, device)
        return self

    def eval(self) -> "SpaderModel":
        self.vae.eval()
        self.regressor.eval()
        return self

    @property
    def device(self) -> torch.device:
        return next(self.vae.parameters()).device


def build_model(vae_config: VAEConfig, reg_config: RegressorConfig, **meta: Any) -> SpaderModel:
    if vae_config.input_size != reg_config.input_size:
        raise ValueError("VAE and regressor must share one input size")
    return SpaderModel(VAE(vae_config), Regressor(reg_config), dict(meta))


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_model(model: SpaderModel, path: str | Path) -> Path:
    """Write atomically (temp file + rename), so a crash never leaves half a model."""
    path = Path(path)
    if path.suffix != ".safetensors":
        path = path.with_suffix(".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = dict(model.meta)
    meta.update(
        vae=model.vae.config.to_dict(),
        regressor=model.regressor.config.to_dict(),
        input_size=model.input_size,
        software_version=__version__,
    )
    meta.setdefault("created", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    tensors = {f"vae.{k}": v.detach().cpu().contiguous() for k, v in model.vae.state_dict().items()}
    tensors.update(
        {f"regressor.{k}": v.detach().cpu().contiguous() for k, v in model.regressor.state_dict().items()}
    )
    meta_text = json.dumps(meta)
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "meta": meta_text,
              DIGEST_KEY: content_digest(meta_text, tensors)}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=header)
    # safetensors creates its file readable by the owner only; a model is shared like any
    # document (trained by one account, screened with by another), so the umask decides
    os.chmod(tmp, 0o666 & ~_current_umask())
    os.replace(tmp, path)
    model.meta = meta
    return path


def content_digest(meta_text: str, tensors: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 of a model file's content: its meta text and every tensor (name, dtype,
    shape, bytes) in name order. Stored in the file; a changed byte anywhere in the
    metadata or the weights no longer matches it."""
    h = hashlib.sha256(b"spader-model 1\0")
    h.update(meta_text.encode("utf-8", errors="surrogatepass"))
    hash_tensors(h, tensors)
    return h.hexdigest()


def hash_tensors(h: Any, tensors: Mapping[str, torch.Tensor]) -> None:
    """Feed every tensor to ``h`` in name order: its name, dtype, shape and bytes (the one
    encoding of both digests: ``content_digest`` and ``model_digest``)."""
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")


def model_digest(model: SpaderModel) -> str:
    """The model's one identity: SHA-256 of what scoring depends on, both architectures and
    every tensor (names, dtypes, shapes, values), not the metadata. The same in memory and
    after a save and load, for a copy and a renamed file. Calibrations, screening headers,
    reports and the ONNX cache all name a model by it."""
    h = hashlib.sha256()
    h.update(json.dumps({"vae": model.vae.config.to_dict(), "regressor": model.regressor.config.to_dict()},
                        sort_keys=True).encode())
    for prefix, module in (("vae", model.vae), ("regressor", model.regressor)):  # vae first, as always
        hash_tensors(h, {f"{prefix}.{name}": t for name, t in module.state_dict().items()})
    return h.hexdigest()


def model_sha256(model: Any) -> str:
    """``model_digest`` computed once per loaded model (a model is not changed after loading)."""
    d = getattr(model, "_spader_digest", None)
    if d is None:
        d = model_digest(model)
        try:
            model._spader_digest = d
        except AttributeError:
            pass
    return d


def _raw_header(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: not a readable safetensors file ({exc})") from None


def read_header(path: str | Path) -> dict[str, Any]:
    """The JSON metadata of a model file, without loading its weights (nor checking them
    against the file's digest: ``load_model`` does)."""
    path = _existing(path)
    return _parse_header(path, _raw_header(path))


def load_model(path: str | Path, device: torch.device | str = "cpu") -> SpaderModel:
    """Load and validate a model file; raise ModelFileError naming what is wrong."""
    path = _existing(path)
    raw = _raw_header(path)
    meta = _parse_header(path, raw)
    try:
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{path}: the weights are damaged or truncated ({exc})") from None
    try:
        vae_cfg = VAEConfig.from_dict(meta["vae"])
        reg_cfg = RegressorConfig.from_dict(meta["regressor"])
        model = build_model(vae_cfg, reg_cfg)
    except (KeyError, TypeError, ValueError, IndexError, OverflowError, RuntimeError) as exc:
        raise ModelFileError(f"{path}: the architecture in its metadata is invalid ({exc})") from None
    for prefix, module in (("vae.", model.vae), ("regressor.", model.regressor)):
        _load_part(path, prefix, module, tensors)
    _check_digest(path, raw, tensors)
    model.meta = meta
    return model.to(device).eval()


def _check_digest(path: Path, raw: dict[str, str], tensors: Mapping[str, torch.Tensor]) -> None:
    """A file that carries a digest must match it: a flipped bit in a weight loads as a
    number like any other, so only the digest tells that the model is not the one saved."""
    unknown = sorted(set(raw) - HEADER_KEYS)
    if unknown:  # e.g. the digest's own key with a flipped bit: never mistaken for an older file
        raise ModelFileError(
            f"{path}: the file is damaged: its header holds {shown(unknown[0])}, which no model file has; "
            "use an intact copy of the model"
        )
    if DIGEST_KEY not in raw:
        return  # written before files carried a digest
    if raw[DIGEST_KEY] != content_digest(raw["meta"], tensors):
        raise ModelFileError(
            f"{path}: the file is damaged: its weights or metadata differ from what was saved "
            f"(the SHA-256 stored in it does not match); use an intact copy of the model"
        )


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"model file not found: {path}")
    if not path.is_file():
        raise ModelFileError(f"not a model file: {path}")
    return path


def _parse_header(path: Path, header: dict[str, str]) -> dict[str, Any]:
    if header.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a SPADER model file (format={header.get('format')!r})")
    if header.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {header.get('format_version')!r} is not supported "
            f"by this software (it reads version {FORMAT_VERSION})"
        )
    try:
        meta = json.loads(header["meta"])
    except (KeyError, ValueError) as exc:  # ValueError: bad JSON or a number of 5000 digits
        raise ModelFileError(f"{path}: the metadata JSON is missing or damaged ({exc})") from None
    except RecursionError:
        raise ModelFileError(f"{path}: the metadata JSON is damaged (nested too deeply)") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path}: the metadata is not a JSON object")
    _check_meta(path, meta)
    return meta


def _whole(v: object, lo: int, hi: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi



def _check_meta(path: Path, meta: dict[str, Any]) -> None:
    """Every value the app acts on, with bounds: a damaged or hostile header is refused
    here, not found later as a crash, a NaN verdict or an 800 GB allocation."""
    t = meta.get("threshold")
    # abs(t) <= 1e6 is false for NaN and the infinities, and exact for an int of any length
    if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not abs(t) <= 1e6):
        raise ModelFileError(f"{path}: its threshold {shown(t)} is not a usable number (a finite number up to 1e6)")
    if "name" in meta and not isinstance(meta["name"], str):
        raise ModelFileError(f"{path}: its name {shown(meta['name'])} is not text")
    if "preprocess" in meta and not isinstance(meta["preprocess"], dict):
        raise ModelFileError(f"{path}: its preprocessing settings are not a JSON object")
    for part, keys in (("vae", ("input_size", "latent_dim")), ("regressor", ("input_size",))):
        cfg = meta.get(part)
        if not isinstance(cfg, dict):
            raise ModelFileError(f"{path}: the architecture in its metadata is invalid (no '{part}' object)")
        for k in keys:
            if k in cfg and not _whole(cfg[k], 1, 4096):
                raise ModelFileError(f"{path}: {part}.{k} = {shown(cfg[k])} is outside 1..4096")
        widths = cfg.get("widths", [1])
        if not isinstance(widths, list) or not 1 <= len(widths) <= 12 or not all(_whole(w, 1, 4096) for w in widths):
            raise ModelFileError(f"{path}: {part}.widths = {shown(widths)}: 1 to 12 whole numbers in 1..4096")
        if "members" in cfg and not _whole(cfg["members"], 1, 16):
            raise ModelFileError(f"{path}: {part}.members = {shown(cfg['members'])} is outside 1..16")
        if "convs_per_level" in cfg and not _whole(cfg["convs_per_level"], 1, 8):
            raise ModelFileError(f"{path}: {part}.convs_per_level = {shown(cfg['convs_per_level'])} is outside 1..8")


def _load_part(path: Path, prefix: str, module: torch.nn.Module, tensors: dict) -> None:
    expected = module.state_dict()
    got = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    if missing or unexpected:
        raise ModelFileError(
            f"{path}: weights do not match the architecture in its metadata "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    for key, ref in expected.items():
        t = got[key]
        if t.shape != ref.shape:
            raise ModelFileError(
                f"{path}: tensor {prefix}{key} has shape {tuple(t.shape)}, expected {tuple(ref.shape)}"
            )
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise ModelFileError(f"{path}: tensor {prefix}{key} contains NaN or infinity")
    module.load_state_dict(got)
