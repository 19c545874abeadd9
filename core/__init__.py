"""SPADER method: models, Grad-CAM, scoring, training, metrics. Pure torch/numpy, no Qt."""

__version__ = "0.1.0"
