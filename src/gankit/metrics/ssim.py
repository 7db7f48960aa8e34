"""Full-reference image quality for super-resolution: PSNR and SSIM (Wang et al. 2004).

SSIM follows the paper's recommended setting: an 11 x 11 Gaussian window with standard
deviation 1.5 (normalised to sum 1), K1 = 0.01, K2 = 0.03, L = the data range (1 for pixels in
[0, 1]), computed over every position where the window fits inside the image (no padding),
averaged over the positions (the mean SSIM, MSSIM) and, for colour images, over the channels.
Both return one value per image; papers report the mean over a test set.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gankit.errors import GankitError

WINDOW = 11
SIGMA = 1.5
K1, K2 = 0.01, 0.03


def gaussian_window(size: int = WINDOW, sigma: float = SIGMA) -> torch.Tensor:
    """size x size Gaussian weights summing to 1 (float64)."""
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(r**2) / (2 * sigma**2))
    w = torch.outer(g, g)
    return w / w.sum()


def _check_pair(x: torch.Tensor, y: torch.Tensor, min_side: int = 1) -> None:
    if x.shape != y.shape or x.dim() != 4:
        raise GankitError(f"image quality needs two N x C x H x W batches of one shape, got "
                          f"{tuple(x.shape)} and {tuple(y.shape)}")
    if min(x.shape[-2:]) < min_side:
        raise GankitError(f"SSIM's {WINDOW} x {WINDOW} window needs images of at least "
                          f"{min_side} pixels a side, got {tuple(x.shape[-2:])}")


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio per image, 10 log10(range^2 / MSE), in dB (inf if equal)."""
    _check_pair(x, y)
    mse = (x.double() - y.double()).pow(2).flatten(1).mean(dim=1)
    return 10 * torch.log10(data_range**2 / mse)


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Mean SSIM per image (N,), in float64."""
    _check_pair(x, y, WINDOW)
    c = x.shape[1]
    w = gaussian_window().to(x.device).expand(c, 1, WINDOW, WINDOW)
    x, y = x.double(), y.double()

    def blur(t: torch.Tensor) -> torch.Tensor:  # windowed mean, each channel on its own
        return F.conv2d(t, w, groups=c)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return index.flatten(1).mean(dim=1)
