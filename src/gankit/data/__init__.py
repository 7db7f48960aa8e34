"""Datasets: MNIST, Stacked MNIST, PacGAN's 2-D mixtures, a 1-D Gaussian, image folders."""

from gankit.data.images import load_image_folder
from gankit.data.mnist import SPLITS, load_mnist, mnist_dir, read_idx
from gankit.data.stacked import make_stacked_mnist, stacked_code
from gankit.data.toy import (
    grid_means,
    make_gauss1d,
    make_toy,
    ring_means,
    sample_mixture,
)

__all__ = [
    "SPLITS",
    "grid_means",
    "load_image_folder",
    "load_mnist",
    "make_gauss1d",
    "make_stacked_mnist",
    "make_toy",
    "mnist_dir",
    "read_idx",
    "ring_means",
    "sample_mixture",
    "stacked_code",
]
