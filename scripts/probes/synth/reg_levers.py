"""Regressor-only levers on the synthetic palms_wrong column: which of #23's regressor
changes costs CNN-Reg on synthetic data? Trains member 0 of the sweep's regressor (the
same split, normal subset, seeds and pseudo-anomalies as `spader experiment folders
--data runs/synth-hd-n6k --normal pigeon --known-each palms_wrong --reg-normal-frames 1200
--seed 1 --band-mm 150`) once per variant and prints CNN-Reg AUROC on the test subjects,
normal vs all and per unknown class, with the f(x) means per class.

  python scripts/probes/synth/reg_levers.py cache            # preprocess once -> /tmp/synth_probe
  python scripts/probes/synth/reg_levers.py base noaug nonorm  # one line per variant

Variants: base (today's defaults), noaug (no augmentation), nonorm (no BatchNorm), m1, m2 (member 1 or 2 of the
sweep's ensemble instead of member 0), combined with '+' (noaug+nonorm, base+m1). Each run
saves its f(x) on the test frames as /tmp/synth_probe/f_VARIANT.npy."""
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
import numpy as np
import torch

from core.spader.evaluation import auroc_vs_normal
from core.spader.fitting import train_regressor
from core.spader.recipe import MEMBER_SEED_STEP, FolderTrainConfig, _pseudo_anomalies, recipe_settings, regressor_normals
from core.spader.regressor import Regressor

D = Path(os.environ.get("PROBE_DIR", "/tmp/synth_probe"))
DATA = ROOT / "runs/synth-hd-n6k"
CFG = FolderTrainConfig(normal="pigeon", known=("palms_wrong",), seed=1, reg_normal_frames=1200, workers=2)


def cache() -> None:
    from core.data.folders import open_dataset
    from core.data.splits import prepare_splits
    from core.spader.recipe import TRAINING_PREPROCESS

    pre = replace(TRAINING_PREPROCESS, band_mm=150.0)
    prepared = prepare_splits(open_dataset(DATA), CFG, pre, progress=print)
    D.mkdir(parents=True, exist_ok=True)
    for name in ("train", "test"):
        np.save(D / f"x_{name}.npy", prepared.x[name].numpy())
        np.save(D / f"y_{name}.npy", prepared.labels[name])
    (D / "smooth.json").write_text(json.dumps({"smooth_px": prepared.smooth_px}))


def load_cache() -> tuple[torch.Tensor, np.ndarray, torch.Tensor, np.ndarray, float]:
    """The cached inputs: training frames and labels, test frames and labels, the smoothing."""
    return (torch.from_numpy(np.load(D / "x_train.npy")), np.load(D / "y_train.npy"),
            torch.from_numpy(np.load(D / "x_test.npy")), np.load(D / "y_test.npy"),
            json.loads((D / "smooth.json").read_text())["smooth_px"])


def run(variant: str) -> None:
    opts = set(variant.split("+")) - {"base"}
    x_tr, y_tr, x_te, y_te, smooth = load_cache()
    cfg = replace(CFG, augment="noaug" not in opts, reg_norm="none" if "nonorm" in opts else "batch")
    s = recipe_settings(cfg, x_tr.shape[-1], smooth, False)
    normal = regressor_normals(x_tr[torch.from_numpy(y_tr == "pigeon")], s.reg_normal_frames, s.seed)
    known = x_tr[torch.from_numpy(y_tr == "palms_wrong")]
    j = next((int(o[1:]) for o in opts if o[0] == "m" and o[1:].isdigit()), 0)  # member j
    pseudo = _pseudo_anomalies(normal, s, s.seed + MEMBER_SEED_STEP * j, None)
    seed = s.seed + 1 + MEMBER_SEED_STEP * j  # member j of the first known choice
    tc = replace(s.reg_train, seed=seed)
    torch.manual_seed(seed)
    reg = Regressor(s.regressor.member())
    t0 = time.perf_counter()
    h = train_regressor(reg, normal, known, tc, pseudo=pseudo, pseudo_share=s.pseudo_share)
    reg.eval()
    with torch.no_grad():
        folded = reg.folded()  # as score_dataset scores it
        f = torch.cat([folded(x_te[i:i + 100]) for i in range(0, len(x_te), 100)]).numpy()
    np.save(D / f"f_{variant}.npy", f)
    per = {c: auroc_vs_normal(f, y_te, "pigeon", c) for c in sorted(set(y_te) - {"pigeon", "palms_wrong"})}
    means = {c: float(f[y_te == c].mean()) for c in sorted(set(y_te))}
    print(f"{variant:14s} {time.perf_counter() - t0:6.0f}s rounds {len(h.val_loss)} best {h.best_epoch + 1} "
          f"steps {h.steps} starts {h.starts} | CNN-Reg all {auroc_vs_normal(f, y_te, 'pigeon'):.3f} "
          + " ".join(f"{c} {a:.3f}" for c, a in per.items())
          + " | f " + " ".join(f"{c} {m:.2f}" for c, m in means.items())
          + f" | train {['%.3f' % v for v in h.train_loss]} val {['%.3f' % v for v in h.val_loss]}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["cache"]:
        cache()
    else:
        for v in sys.argv[1:]:
            run(v)
