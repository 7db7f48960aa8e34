"""The objective registry: `objective:` in a config names one of these (default `gan`)."""

from __future__ import annotations

from typing import Any

import torch

from gankit.config import Config
from gankit.train.autoencoder import AutoencoderObjective
from gankit.train.bigan import BiGANObjective
from gankit.train.gan import GANObjective
from gankit.train.infogan import InfoGANObjective
from gankit.train.inpaint import InpaintObjective
from gankit.train.objective import Objective
from gankit.train.pix2pix import Pix2PixObjective
from gankit.train.semi import SemiObjective
from gankit.train.srgan import SRGANObjective
from gankit.train.text2image import Text2ImageObjective
from gankit.train.vae import VAEObjective

OBJECTIVES: dict[str, type[Objective]] = {
    "gan": GANObjective,
    "vae": VAEObjective,
    "srgan": SRGANObjective,
    "pix2pix": Pix2PixObjective,
    "text2image": Text2ImageObjective,
    "inpaint": InpaintObjective,
    "bigan": BiGANObjective,
    "autoencoder": AutoencoderObjective,  # BiGAN's baseline
    "semi": SemiObjective,
    "infogan": InfoGANObjective,  # objective gan + a code predictor Q (train/infogan.py)
}


def make_objective(cfg: Config, data: Any, device: torch.device) -> Objective:
    return OBJECTIVES[cfg.objective](cfg, data, device)
