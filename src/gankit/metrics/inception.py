"""Standard FID features from the InceptionV3 FID weights, when the user supplies them.

gankit never downloads weights. The supported file is the TorchScript export of the
TensorFlow FID Inception network (inception-2015-12-05.pt, as published with NVIDIA's
stylegan2-ada-pytorch); its forward takes N x 3 x H x W images in [0, 255] and, called with
return_features=True, returns the 2048-D pool features used by FID.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import GankitError

WEIGHTS_URL = ("https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/"
               "inception-2015-12-05.pt")
INPUT_SIZE = 299


class InceptionFeatures(nn.Module):
    """Wraps the TorchScript FID Inception: [0, 1] images of any size and 1 or 3 channels in,
    2048-D pool features out."""

    def __init__(self, scripted: torch.jit.ScriptModule) -> None:
        super().__init__()
        self.net = scripted

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)  # grayscale (MNIST) -> the RGB input Inception expects
        if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear",
                              align_corners=False)
        return self.net(x * 255.0, return_features=True)


def load_inception(path: str | Path | None) -> InceptionFeatures:
    """Load the user's TorchScript FID Inception file (`--inception-weights PATH`), eval mode."""
    if path is None or not Path(path).expanduser().is_file():
        where = "no path was given" if path is None else f"{path} does not exist"
        raise GankitError(
            f"standard FID needs the InceptionV3 FID weights, but {where}; download "
            f"{WEIGHTS_URL} yourself and pass it with --inception-weights PATH")
    path = Path(path).expanduser()
    try:
        scripted = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # not TorchScript, truncated, or a plain state dict
        raise GankitError(
            f"cannot read {path} as a TorchScript Inception model ({type(exc).__name__}); pass "
            f"the TorchScript file {WEIGHTS_URL.rsplit('/', 1)[-1]} (a pytorch-fid state dict "
            "is not supported)") from exc
    return InceptionFeatures(scripted).eval()
