"""Candidate 5 of issue #23, "a loss that grows with the hand's area": the VAE term on
every leave-one-subject-out fold of ntu_dev with today's recipe (the protocol's 64 px,
the VAE of `spader experiment folds`), scored as the paper's mean loss over the image and
as the loss per foreground pixel (sum of the loss map / pixels above the foreground level
0.3), normal G01 vs all other gestures on the held-out person.

  OMP_NUM_THREADS=1 .venv/bin/python scripts/probes/ntu_dev/s7_area.py [FOLDS]"""
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
import numpy as np
import torch

from core.data.folders import load_preprocessed, open_dataset
from core.spader.evaluation import auroc_vs_normal
from core.spader.pseudo_anomalies import FOREGROUND
from core.spader.recipe import TRAINING_PREPROCESS, FolderTrainConfig, recipe_settings, train_networks
from core.spader.scorers import reconstruct

ds = open_dataset(ROOT.parent / "shared/data/ntu_dev")
pre = replace(TRAINING_PREPROCESS, size=64)
cfg = FolderTrainConfig(normal="G01", known=("G02",), workers=2)
x_all, pres = load_preprocessed(ds, list(ds.items), pre, workers=2)
keep = np.array([p.has_hand for p in pres])
x = torch.from_numpy(np.ascontiguousarray(x_all[keep]))
labels = np.array([it.cls for it in ds.items])[keep]
subj = np.array([it.subject for it in ds.items])[keep]
area = (x[:, 0] > FOREGROUND).float().mean(dim=(1, 2)).numpy()
s = recipe_settings(cfg, 64, pre.smooth_px, False)
folds = sys.argv[1].split(",") if len(sys.argv) > 1 else sorted(set(subj))
rows = []
for fold in folds:
    t0 = time.perf_counter()
    tr, te = subj != fold, subj == fold
    nets = train_networks(x[torch.from_numpy(tr & (labels == "G01"))], {}, s)
    with torch.inference_mode():
        _, loss = reconstruct(nets.vae, x[torch.from_numpy(te)], range(int(te.sum())), seed=cfg.seed)
    mean_loss = loss.mean(dim=(1, 2)).numpy()
    y = labels[te]
    a = auroc_vs_normal(-mean_loss, y, "G01")
    b = auroc_vs_normal(-mean_loss / np.maximum(area[te], 1e-3), y, "G01")
    r = np.corrcoef(mean_loss, area[te])[0, 1]
    fist, other = area[te][y == "G01"].mean(), area[te][y != "G01"].mean()
    rows.append((a, b))
    print(f"P{fold}: {time.perf_counter() - t0:4.0f}s  VAE mean loss {a:.3f}  loss per foreground pixel {b:.3f}  "
          f"corr(loss, area) {r:.2f}  foreground share fist {fist:.3f} other gestures {other:.3f}", flush=True)
m = np.array(rows)
print(f"mean ± std over {len(rows)} folds: mean loss {m[:, 0].mean():.3f} ± {m[:, 0].std():.3f}, "
      f"per foreground pixel {m[:, 1].mean():.3f} ± {m[:, 1].std():.3f}")
