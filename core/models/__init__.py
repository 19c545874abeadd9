"""The two networks of SPADER as plain torch modules."""

from core.models.regressor import Regressor, RegressorConfig
from core.models.vae import VAE, VAEConfig

__all__ = ["VAE", "VAEConfig", "Regressor", "RegressorConfig"]
