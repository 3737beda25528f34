"""Chapter 6's degradations and classical baselines: seeded masks of the asked coverage, noise and
downscaling as stated, and library methods that keep the known pixels and beat trivial fills."""

from __future__ import annotations

import math

import pytest
import torch

from synthlib.restoration import (
    add_noise,
    apply_mask,
    box_mask,
    denoise_nl_means,
    denoise_tv,
    downscale,
    inpaint_biharmonic,
    inpaint_telea,
    sigma_from_255,
    stroke_mask,
    upscale,
)


def _smooth_image(h: int = 48, w: int = 64) -> torch.Tensor:
    """A smooth colour image (sums of low-frequency sinusoids) on which interpolation should do well."""
    y, x = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    return torch.stack([0.6 * torch.sin(3 * x + 1), 0.5 * torch.cos(2 * y + 3 * x), 0.4 * torch.sin(4 * y)]).float()


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return 10 * math.log10(4.0 / float((a - b).square().mean()))


@pytest.mark.parametrize("make", [box_mask, stroke_mask])
def test_masks_are_seeded_and_cover_what_was_asked(make):
    masks = [make(96, 128, coverage=(0.1, 0.3), generator=torch.Generator().manual_seed(s)) for s in range(12)]
    cover = [float(m.float().mean()) for m in masks]
    assert all(m.dtype == torch.bool and m.shape == (96, 128) for m in masks)
    assert all(0.08 <= c <= 0.45 for c in cover), cover
    assert len({round(c, 4) for c in cover}) > 6  # different seeds, different masks
    again = make(96, 128, coverage=(0.1, 0.3), generator=torch.Generator().manual_seed(3))
    assert torch.equal(again, masks[3])
    with pytest.raises(ValueError, match="coverage"):
        make(8, 8, coverage=(0.3, 0.1))


def test_noise_and_downscale_are_what_they_say():
    img = _smooth_image()
    noisy = add_noise(img, sigma_from_255(25), generator=torch.Generator().manual_seed(0))
    assert abs(float((noisy - img).std()) - 25 * 2 / 255) < 0.01
    small = downscale(img, 4)
    assert small.shape == (3, 12, 16)
    with pytest.raises(ValueError, match="multiples"):
        downscale(img[..., :50], 4)


@pytest.mark.parametrize("method", [inpaint_biharmonic, inpaint_telea])
def test_inpainting_keeps_known_pixels_and_beats_a_grey_fill(method):
    img = _smooth_image()
    mask = box_mask(48, 64, coverage=(0.15, 0.2), generator=torch.Generator().manual_seed(1))
    out = method(apply_mask(img, mask), mask)
    assert torch.equal(out[:, ~mask], apply_mask(img, mask)[:, ~mask])
    assert _psnr(out, img) > _psnr(apply_mask(img, mask), img) + 5
    with pytest.raises(ValueError, match="bool tensor"):
        method(img, mask.float())


def test_denoisers_raise_psnr():
    img = _smooth_image()
    noisy = add_noise(img, sigma_from_255(25), generator=torch.Generator().manual_seed(0))
    base = _psnr(noisy, img)
    assert _psnr(denoise_nl_means(noisy, sigma_from_255(25)), img) > base + 3
    assert _psnr(denoise_tv(noisy), img) > base + 3


def test_upscalers_beat_nearest_on_a_smooth_image():
    img = _smooth_image()
    small = downscale(img, 4)
    near = _psnr(upscale(small, 4, "nearest"), img)
    for method in ("bicubic", "lanczos"):
        out = upscale(small, 4, method)
        assert out.shape == img.shape
        assert _psnr(out, img) > near + 1, method
    with pytest.raises(ValueError, match="method"):
        upscale(small, 4, "magic")
