"""core.runtime.smoothing: the Gaussian input smoothing every preprocessing path can end with."""

from __future__ import annotations

import numpy as np
import pytest

from capture.frame import DepthFrame
from core.data.synth.render import render_frame, sample_scene
from core.preprocess import PreprocessConfig, preprocess_frame
from core.runtime.smoothing import smooth_image


def test_zero_sigma_changes_nothing() -> None:
    img = np.random.default_rng(0).random((2, 1, 16, 16)).astype(np.float32)
    assert np.array_equal(smooth_image(img, 0.0), img)


@pytest.mark.parametrize("shape", [(32, 32), (3, 32, 32), (3, 1, 32, 32)])
def test_shape_kept_input_untouched_noise_reduced(shape) -> None:
    rng = np.random.default_rng(1)
    img = (0.5 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
    before = img.copy()
    out = smooth_image(img, 1.0)
    assert out.shape == img.shape and out.dtype == np.float32
    assert np.array_equal(img, before)
    # white noise through a Gaussian of sigma 1 px: std falls by about 1 / (2 sqrt(pi)) = 0.28
    assert out.std() < 0.4 * img.std()
    assert out.mean() == pytest.approx(img.mean(), abs=0.01)


def test_constant_image_stays_constant_at_the_border() -> None:
    img = np.full((3, 20, 20), 0.7, np.float32)
    assert np.allclose(smooth_image(img, 2.0), 0.7, atol=1e-6)


def test_bad_arguments_are_errors() -> None:
    with pytest.raises(ValueError, match="sigma_px"):
        smooth_image(np.zeros((4, 4), np.float32), -1.0)
    with pytest.raises(ValueError, match="shape"):
        smooth_image(np.zeros(4, np.float32), 1.0)
    with pytest.raises(ValueError, match="smooth_px"):
        PreprocessConfig(smooth_px=-0.5)


def test_model_files_without_the_setting_load_unsmoothed() -> None:
    d = PreprocessConfig().to_dict()
    d.pop("smooth_px")
    assert PreprocessConfig.from_dict(d).smooth_px == 0.0
    assert PreprocessConfig.from_dict(PreprocessConfig(smooth_px=1.5).to_dict()).smooth_px == 1.5


def test_depth_preprocessing_ends_with_the_smoothing() -> None:
    rng = np.random.default_rng(3)
    params = sample_scene("pigeon", rng)
    frame = DepthFrame(render_frame(params, rng), 1.0, 0, intrinsics=params.camera)
    plain = preprocess_frame(frame, PreprocessConfig())
    smoothed = preprocess_frame(frame, PreprocessConfig(smooth_px=1.0))
    assert smoothed.box == plain.box and smoothed.has_hand
    assert np.allclose(smoothed.image, smooth_image(plain.image, 1.0), atol=1e-6)
    assert 0.0 <= smoothed.image.min() and smoothed.image.max() <= 1.0
    # less pixel-to-pixel variation: the noise and the flying pixels are damped
    assert np.abs(np.diff(smoothed.image, axis=1)).mean() < 0.8 * np.abs(np.diff(plain.image, axis=1)).mean()
