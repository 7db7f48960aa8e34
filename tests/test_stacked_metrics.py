"""Stacked MNIST scoring: one digit per channel, codes 0..999, modes and KL to uniform."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gankit.errors import GankitError
from gankit.metrics.stacked import stacked_mode_metrics


class MeanBrightnessDigit(nn.Module):
    """A stand-in classifier: the digit is the image's mean brightness times 10, rounded down."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        digit = (x.mean(dim=(1, 2, 3)) * 10).floor().long().clamp(0, 9)
        return nn.functional.one_hot(digit, 10).float()


def images_for(codes: list[tuple[int, int, int]]) -> torch.Tensor:
    values = torch.tensor(codes, dtype=torch.float32) / 10 + 0.05
    return values[:, :, None, None].expand(-1, -1, 28, 28).contiguous()


def test_each_channel_is_read_as_one_digit():
    codes = [(1, 2, 3), (1, 2, 3), (9, 0, 7), (0, 0, 0)]
    result = stacked_mode_metrics(images_for(codes), MeanBrightnessDigit())
    assert result["modes_covered"] == 3
    # p_hat = (1/2, 1/4, 1/4) over 3 of 1000 codes: KL = sum p log(1000 p)
    expected = 0.5 * math.log(500) + 2 * 0.25 * math.log(250)
    assert result["kl_to_uniform"] == pytest.approx(expected)


def test_all_thousand_codes_in_equal_numbers_give_zero_kl():
    codes = [(a, b, c) for a in range(10) for b in range(10) for c in range(10)]
    result = stacked_mode_metrics(images_for(codes), MeanBrightnessDigit())
    assert result["modes_covered"] == 1000
    assert result["kl_to_uniform"] == pytest.approx(0.0, abs=1e-12)


def test_single_channel_samples_are_refused():
    from gankit.metrics.stacked import evaluate_stacked

    with pytest.raises(GankitError, match="N x 3 x 28 x 28"):
        evaluate_stacked(torch.rand(60, 1, 28, 28))
