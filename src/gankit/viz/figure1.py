"""Figure 1 of Goodfellow et al. (2014), made live by training a 1-D GAN.

The paper's figure shows the data density p_data (black dots), the generator's density p_g
(green line) and the discriminator D (blue dashes) over x, and below them the mapping
x = G(z) drawn as lines from a uniformly sampled z axis up to the x axis. Here a tiny GAN is
trained with Algorithm 1 on p_data = N(2, 0.5^2) from z ~ U(0, 1), and the same picture is
drawn at chosen steps, plus the optimal discriminator D* = p_data / (p_data + p_g)
(Proposition 1) as a thin grey line so the trained D can be compared with it.

Entry points: ``train_figure1`` (train, write PNG frames and an animated GIF) and
``draw_figure1_frame`` (draw one frame from arrays).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from PIL import Image
from torch import nn

from gankit.errors import GankitError
from gankit.losses import make_loss
from gankit.theory import gaussian_pdf, optimal_discriminator
from gankit.train.steps import discriminator_step, generator_step

DATA_MEAN = 2.0
DATA_STD = 0.5
X_RANGE = (-1.5, 4.5)  # holds p_data and the untrained generator's output around 0
GRID_POINTS = 400
BATCH_SIZE = 256
LEARNING_RATE = 1e-3
KDE_SAMPLES = 4000
MAPPING_LINES = 25


def train_figure1(
    out_dir: str | Path,
    steps: int = 1000,
    seed: int = 0,
    frames: int | Sequence[int] = 9,
    k: int = 3,
) -> list[Path]:
    """Train the 1-D GAN for ``steps`` iterations of Algorithm 1 and draw Figure 1 as it learns.

    ``frames`` is either a number of frames (spread from step 0 to ``steps``, denser early
    where most of the change happens) or an explicit list of steps to draw. ``k`` is the
    paper's number of D steps per G step: its experiments used k = 1, but k = 3 keeps D close
    to D* here, which is what the figure is meant to show. Writes
    ``figure1_step{step:05d}.png`` for each frame and ``figure1.gif`` animating them into
    ``out_dir``; returns the paths written, PNG frames in step order then the GIF last.
    """
    if not isinstance(steps, int) or steps < 1:
        raise GankitError(f"steps must be a positive integer, got {steps!r}.")
    if not isinstance(k, int) or k < 1:
        raise GankitError(f"k (discriminator steps per generator step) must be a positive "
                          f"integer, got {k!r}.")
    frame_steps = _frame_steps(steps, frames)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    # Fork the global RNG so that seeding the tiny nets' init does not reseed the caller's torch.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator, discriminator = _make_generator(), _make_discriminator()
    rng = torch.Generator().manual_seed(seed)
    # Nets this small run several times faster on one thread than with intra-op threading.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        pngs = _train(generator, discriminator, rng, steps, k, frame_steps, out_dir)
    finally:
        torch.set_num_threads(threads)
    gif = out_dir / "figure1.gif"
    _write_gif(pngs, gif)
    return [*pngs, gif]


def _train(
    generator: nn.Module,
    discriminator: nn.Module,
    rng: torch.Generator,
    steps: int,
    k: int,
    frame_steps: set[int],
    out_dir: Path,
) -> list[Path]:
    """Algorithm 1 of Goodfellow et al. (2014), drawing a frame at each step in ``frame_steps``."""
    opt_g = torch.optim.Adam(generator.parameters(), lr=LEARNING_RATE, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=LEARNING_RATE, betas=(0.5, 0.999))
    loss = make_loss("non-saturating")

    def sample_data(m: int) -> torch.Tensor:
        return DATA_MEAN + DATA_STD * torch.randn(m, 1, generator=rng)

    def sample_noise(m: int) -> torch.Tensor:
        return torch.rand(m, 1, generator=rng)  # z ~ U(0, 1), as in the paper's figure

    pngs: list[Path] = []
    for step in range(steps + 1):
        if step in frame_steps:
            path = out_dir / f"figure1_step{step:05d}.png"
            title = f"Goodfellow et al. (2014) Figure 1, live: step {step} of {steps}, k = {k}"
            pngs.append(_draw_state(path, generator, discriminator, title, rng))
        if step == steps:
            break
        # Algorithm 1 with gankit's own update steps: k steps on D, then one non-saturating
        # step on G (section 3 of the paper).
        for _ in range(k):
            x_real = sample_data(BATCH_SIZE)
            discriminator_step(generator, discriminator, opt_d, loss, x_real, None,
                               sample_noise(BATCH_SIZE), None)
        generator_step(generator, discriminator, opt_g, loss, sample_noise(BATCH_SIZE), None)
    return pngs


def draw_figure1_frame(
    path: str | Path,
    x: np.ndarray,
    p_data: np.ndarray,
    p_g: np.ndarray,
    d: np.ndarray,
    z: np.ndarray,
    g_of_z: np.ndarray,
    title: str = "",
    z_range: tuple[float, float] = (0.0, 1.0),
    density_max: float | None = None,
) -> Path:
    """Draw one Figure 1 frame to the PNG ``path``.

    ``p_data``, ``p_g`` (densities) and ``d`` (D(x) as a probability) are evaluated on the
    increasing grid ``x``; D* is computed from ``p_data`` and ``p_g``. ``z`` and ``g_of_z``
    are matching noise values and their images, drawn as the mapping lines; ``z_range`` is
    the noise interval, laid out under the full width of the x axis. ``density_max`` fixes
    the density axis (default 1.6 x the peak of p_data) so that an animation does not rescale
    from frame to frame; a taller, collapsed p_g is clipped at the top.
    """
    x, p_data, p_g, d = (np.asarray(a, dtype=np.float64) for a in (x, p_data, p_g, d))
    z, g_of_z = np.asarray(z, dtype=np.float64), np.asarray(g_of_z, dtype=np.float64)
    if not (x.ndim == 1 and p_data.shape == p_g.shape == d.shape == x.shape):
        raise GankitError("draw_figure1_frame: x, p_data, p_g and d must be 1-D arrays on the "
                          "same grid.")
    if z.shape != g_of_z.shape:
        raise GankitError("draw_figure1_frame: z and g_of_z must have the same shape "
                          "(one image per noise value).")
    d_star = optimal_discriminator(p_data, p_g)
    lo, hi = float(x[0]), float(x[-1])

    fig = Figure(figsize=(7.0, 4.6), dpi=100)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.2]})
    d_axis = top.twinx()  # D lives in [0, 1]; densities get their own scale on the left
    lines = [
        top.plot(x, p_data, color="black", linestyle=":", linewidth=2.0, label="p_data")[0],
        top.plot(x, p_g, color="green", linewidth=2.0, label="p_g")[0],
        d_axis.plot(x, d, color="blue", linestyle="--", linewidth=1.8, label="D(x)")[0],
        d_axis.plot(x, d_star, color="grey", linewidth=0.9,
                    label="D* = p_data/(p_data+p_g)")[0],
    ]
    top.set_xlim(lo, hi)
    if density_max is None:
        density_max = 1.6 * max(float(p_data.max()), 1e-12)
    top.set_ylim(0.0, density_max)
    top.set_ylabel("density")
    d_axis.set_ylim(0.0, 1.05)
    d_axis.set_ylabel("D(x)")
    top.legend(handles=lines, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4,
               fontsize=8, frameon=False, handlelength=2.5)
    if title:
        fig.suptitle(title, fontsize=10)

    # The mapping x = G(z): z drawn on the lower line, its image on the upper line.
    z_lo, z_hi = z_range
    z_plot = lo + (z - z_lo) / (z_hi - z_lo) * (hi - lo)
    for z_at, x_at in zip(z_plot, g_of_z, strict=True):
        bottom.annotate("", xy=(x_at, 1.0), xytext=(z_at, 0.0),
                        arrowprops={"arrowstyle": "-|>", "color": "0.35", "linewidth": 0.7,
                                    "shrinkA": 0, "shrinkB": 0})
    bottom.axhline(1.0, color="black", linewidth=1.0)
    bottom.axhline(0.0, color="black", linewidth=1.0)
    bottom.set_ylim(-0.15, 1.15)
    bottom.set_yticks([0.0, 1.0], [f"z ~ U({z_lo:g}, {z_hi:g})", "x"])
    bottom.set_xlabel("x")
    for spine in ("top", "right", "left"):
        bottom.spines[spine].set_visible(False)
    fig.tight_layout()

    path = Path(path)
    fig.savefig(path)
    return path


class _Unconditional(nn.Sequential):
    """A plain stack called as gankit calls its nets, net(x, y), with no labels."""

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return super().forward(x)


def _make_generator() -> nn.Module:
    return _Unconditional(
        nn.Linear(1, 32), nn.LeakyReLU(0.2), nn.Linear(32, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1)
    )


def _make_discriminator() -> nn.Module:
    # Returns raw logits of shape (N,), the gankit convention for discriminators.
    return _Unconditional(
        nn.Linear(1, 32), nn.LeakyReLU(0.2), nn.Linear(32, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1),
        nn.Flatten(0),
    )


def _frame_steps(steps: int, frames: int | Sequence[int]) -> set[int]:
    if isinstance(frames, int):
        if frames < 2:
            raise GankitError(f"frames must be at least 2 to animate, got {frames}.")
        # Quadratic spacing: the first steps move p_g the most, later ones only refine it.
        chosen = {round(steps * (i / (frames - 1)) ** 2) for i in range(frames)}
    else:
        chosen = {int(s) for s in frames}
        if len(chosen) < 2 or min(chosen) < 0 or max(chosen) > steps:
            raise GankitError(f"frames must list at least 2 distinct steps in 0..{steps}, "
                              f"got {list(frames)!r}.")
    return chosen


@torch.no_grad()
def _draw_state(
    path: Path, generator: nn.Module, discriminator: nn.Module, title: str, rng: torch.Generator
) -> Path:
    x = np.linspace(*X_RANGE, GRID_POINTS)
    p_data = gaussian_pdf(x, DATA_MEAN, DATA_STD)
    samples = generator(torch.rand(KDE_SAMPLES, 1, generator=rng)).squeeze(1).double().numpy()
    p_g = _kde(samples, x)
    d = torch.sigmoid(discriminator(torch.from_numpy(x).float()[:, None])).double().numpy()
    # Evenly spaced z quantiles, like the paper's uniformly spread mapping lines.
    z = (np.arange(MAPPING_LINES) + 0.5) / MAPPING_LINES
    g_of_z = generator(torch.from_numpy(z).float()[:, None]).squeeze(1).double().numpy()
    return draw_figure1_frame(path, x, p_data, p_g, d, z, g_of_z, title=title)


def _kde(samples: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Gaussian kernel density estimate of ``samples`` on ``x`` (Silverman's bandwidth).

    The bandwidth has a floor of a grid cell: an untrained or collapsed generator may emit
    nearly one value, where Silverman's rule would give a zero-width, infinitely tall spike.
    """
    spread = float(samples.std())
    bandwidth = max(1.06 * spread * len(samples) ** -0.2, float(x[1] - x[0]))
    return gaussian_pdf(x[:, None] - samples[None, :], 0.0, bandwidth).mean(axis=1)


def _write_gif(pngs: list[Path], gif: Path, frame_ms: int = 600) -> None:
    images = [Image.open(p).convert("RGB") for p in pngs]
    # Hold the last frame longer so the converged state is readable before the loop restarts.
    durations = [frame_ms] * (len(images) - 1) + [3 * frame_ms]
    images[0].save(gif, save_all=True, append_images=images[1:], duration=durations, loop=0)
