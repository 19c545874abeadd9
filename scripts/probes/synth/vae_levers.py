"""VAE-only levers on the synthetic data of reg_levers.py (run its `cache` first): the VAE
term's AUROC (mean loss over M = 5 samples, through the one scoring path) on the test
subjects, normal vs all and per class, after training on the 3,600 normal training
frames with each variant.

  python scripts/probes/synth/vae_levers.py EPOCHS noaug aug

Variants: noaug (the frames as they are), aug (today's augmentation: the code in
core/spader/augment.py as checked out)."""
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
import numpy as np
import torch

from core.spader.evaluation import auroc_vs_normal
from core.spader.fitting import train_vae
from core.spader.recipe import recipe_settings
from core.spader.scorers import reconstruct
from core.spader.vae import VAE

sys.path.insert(0, str(Path(__file__).parent))
from reg_levers import CFG, load_cache  # noqa: E402


def run(epochs: int, variant: str) -> None:
    x_tr, y_tr, x_te, y_te, smooth = load_cache()
    cfg = replace(CFG, vae_epochs=epochs, augment=variant != "noaug")
    s = recipe_settings(cfg, x_tr.shape[-1], smooth, False)
    normal = x_tr[torch.from_numpy(y_tr == "pigeon")]
    torch.manual_seed(s.seed)
    vae = VAE(s.vae)
    t0 = time.perf_counter()
    h = train_vae(vae, normal, replace(s.vae_train, seed=s.seed))
    vae.eval()
    losses = []
    for i in range(0, len(x_te), 50):
        _, loss = reconstruct(vae, x_te[i:i + 50], range(i, i + len(x_te[i:i + 50])), seed=s.seed)
        losses.append(loss.mean(dim=(1, 2)).numpy())
    score = -np.concatenate(losses)
    per = {c: auroc_vs_normal(score, y_te, "pigeon", c) for c in sorted(set(y_te) - {"pigeon"})}
    print(f"{variant:8s} {epochs} epochs {time.perf_counter() - t0:6.0f}s best {h.best_epoch + 1} "
          f"val {min(h.val_loss):.1f} | VAE all {auroc_vs_normal(score, y_te, 'pigeon'):.3f} "
          + " ".join(f"{c} {a:.3f}" for c, a in per.items()), flush=True)


if __name__ == "__main__":
    for v in sys.argv[2:]:
        run(int(sys.argv[1]), v)
