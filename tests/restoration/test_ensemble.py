"""The geometric self-ensemble: eight flips and quarter turns, each undone, averaged."""

import pytest
import torch

from synthlib.restoration import self_ensemble
from synthlib.restoration.ensemble import DIHEDRAL, _forward, _inverse


def test_the_eight_transforms_are_distinct_and_each_is_undone():
    x = torch.arange(12.0).view(1, 1, 3, 4)   # not square: turned pictures swap height and width
    seen = set()
    for k, flip in DIHEDRAL:
        t = _forward(x, k, flip)
        assert torch.equal(_inverse(t, k, flip), x)
        seen.add(tuple(t.flatten().tolist()) + tuple(t.shape))
    assert len(seen) == 8


def test_an_orientation_free_map_is_unchanged_and_a_biased_one_is_averaged():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 5, 7)
    assert torch.allclose(self_ensemble(lambda v: 2 * v - 1, x), 2 * x - 1)   # pointwise: every view agrees
    assert torch.equal(self_ensemble(lambda v: v + 1, x, transforms=1), x + 1)

    def shift_right(v):   # prefers one direction: the ensemble spreads it over all four
        return torch.roll(v, 1, dims=-1)

    y = self_ensemble(shift_right, x)
    expected = (2 * torch.roll(x, 1, -1) + 2 * torch.roll(x, -1, -1) + 2 * torch.roll(x, 1, -2) + 2 * torch.roll(x, -1, -2)) / 8
    assert torch.allclose(y, expected, atol=1e-6)


def test_an_upscaler_keeps_its_output_shape():
    up = lambda v: torch.nn.functional.interpolate(v, scale_factor=4, mode="nearest")   # noqa: E731
    x = torch.rand(1, 3, 6, 9)
    assert torch.allclose(self_ensemble(up, x), up(x))
    with pytest.raises(ValueError, match="transforms must be 1..8"):
        self_ensemble(up, x, transforms=9)
