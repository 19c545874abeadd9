"""SPADER, the method: read this package first.

- ``vae.py``, ``regressor.py``: the two networks as plain torch modules;
- ``gradcam.py``: Grad-CAM on the regressor's last conv layer (exact, and a fast path);
- ``scorers.py``: the seven scorers and ``score_inputs``, the one function every caller
  scores through (VAE samples seeded per frame, loss, Grad-CAM, scores, maps);
- ``fitting.py``: the optimisation loops (seeded, resumable, early stopping);
- ``pseudo_anomalies.py``: generic damage made from normal frames for the regressor;
- ``recipe.py``: the training recipe (VAE, pseudo-anomalies, regressor ensembles, the
  operating threshold) that `spader train`, `spader experiment` and the API share;
- ``checkpoint.py``: the model file (safetensors + JSON, docs/model-format.md);
- ``metrics.py``, ``thresholds.py``: AUROC and the operating point.

Submodules import each other directly (never from this package), so importing any one
of them stays cheap and free of cycles.
"""

from core.spader.regressor import Regressor, RegressorConfig
from core.spader.vae import VAE, VAEConfig

__all__ = ["VAE", "VAEConfig", "Regressor", "RegressorConfig"]
