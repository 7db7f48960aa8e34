"""gankit: train, evaluate and understand Generative Adversarial Networks.

import gankit
cfg = gankit.load_config("ring8", ["train.epochs=2"])  # a shipped config, or a YAML path
run_dir = gankit.train(cfg)
run = gankit.load_run(run_dir)
samples = run.sample(64)
"""

from gankit.config import Config, load_config
from gankit.errors import GankitError
from gankit.train.loop import train
from gankit.train.run import Run, load_run

__version__ = "0.1.0"
__all__ = ["Config", "GankitError", "Run", "load_config", "load_run", "train", "__version__"]
