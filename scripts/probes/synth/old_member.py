"""Member j of the palms_wrong column trained by the code of commit 882d760 (the earlier
defaults: no BatchNorm, no augmentation, a random 10 % validation split), on the inputs
cached by reg_levers.py: does the old code give the old CNN-Reg on today's inputs?

  git worktree add /tmp/old882 882d760
  python scripts/probes/synth/old_member.py /tmp/old882 0 1 2

Saves f(x) on the test frames as /tmp/synth_probe/f_old_mJ.npy."""
import sys
from dataclasses import replace
from pathlib import Path

OLD = Path(sys.argv[1])
sys.path.insert(0, str(OLD))
import numpy as np
import torch

from core.experiments.folders import FolderTrainConfig, _settings  # the old code
from core.experiments.sweep import MEMBER_SEED_STEP, _pseudo_anomalies, regressor_normals
from core.metrics import auroc
from core.models.regressor import Regressor
from core.training import train_regressor

D = Path("/tmp/synth_probe")
# read here, not through reg_levers.load_cache: importing reg_levers would import today's core
x_tr = torch.from_numpy(np.load(D / "x_train.npy"))
y_tr = np.load(D / "y_train.npy")
x_te = torch.from_numpy(np.load(D / "x_test.npy"))
y_te = np.load(D / "y_test.npy")
cfg = FolderTrainConfig(normal="pigeon", known=("palms_wrong",), seed=1, reg_normal_frames=1200)
s = _settings(cfg, 128, False, 1.0)
normal = regressor_normals(x_tr[torch.from_numpy(y_tr == "pigeon")], s.reg_normal_frames, s.seed)
known = x_tr[torch.from_numpy(y_tr == "palms_wrong")]
for j in map(int, sys.argv[2:]):
    pseudo = _pseudo_anomalies(normal, s, s.seed + MEMBER_SEED_STEP * j, None)
    seed = s.seed + 1 + MEMBER_SEED_STEP * j
    torch.manual_seed(seed)
    reg = Regressor(s.regressor.member())
    h = train_regressor(reg, normal, known, replace(s.reg_train, seed=seed), pseudo=pseudo, pseudo_share=s.pseudo_share)
    reg.eval()
    with torch.no_grad():
        f = torch.cat([reg(x_te[i:i + 100]) for i in range(0, len(x_te), 100)]).numpy()
    np.save(D / f"f_old_m{j}.npy", f)
    def a(c=None):
        keep = (y_te == "pigeon") | ((y_te != "pigeon") if c is None else (y_te == c))
        return auroc(f[keep], y_te[keep] == "pigeon")
    print(f"old m{j}: rounds {len(h.val_loss)} best {h.best_epoch + 1} starts {h.starts} | CNN-Reg all {a():.3f} "
          + " ".join(f"{c} {a(c):.3f}" for c in sorted(set(y_te) - {"pigeon", "palms_wrong"}))
          + f" | val {['%.3f' % v for v in h.val_loss]}", flush=True)
