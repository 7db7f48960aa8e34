"""The config schema: a tree of dataclasses, one per YAML section.

Which keys a network kind reads is declared beside it (`KIND_KEYS`); `validate.py` refuses a
non-default value for a key the chosen kind ignores, so a typo never silently falls back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gankit.augment import AugmentConfig
from gankit.losses import LOSS_NAMES, LossConfig

__all__ = [
    "Config", "DataConfig", "DiscriminatorConfig", "GeneratorConfig", "LossConfig",
    "OptimConfig", "TrainConfig", "LOSS_NAMES", "DATASETS", "GENERATORS", "DISCRIMINATORS",
    "OPTIMIZERS", "KIND_KEYS", "OUTPUTS", "OBJECTIVE_SECTIONS", "Pix2PixConfig",
    "InpaintConfig", "MASK_KINDS", "BiGANConfig",
    "SemiConfig", "InfoConfig", "GAN_D_OBJECTIVES",
]
__all__ += ["SRGANConfig"]

DATASETS = ("mnist", "ring", "grid", "gauss1d", "image-folder", "stacked-mnist", "cifar10",
            "mnist-sketch", "paired", "mnist-captions")
DATASETS += ("captioned-folder",)  # text to image on the user's captioned images
GENERATORS = ("mlp", "dcgan")
DISCRIMINATORS = ("maxout", "mlp", "dcgan")
OPTIMIZERS = ("sgd", "adam", "rmsprop")

# The keys of `generator:` and `discriminator:` each network kind reads (nets/__init__.py passes
# exactly these to the constructors). Any other key must keep its default.
_MLP_D = ("hidden", "init_range", "dropout_input", "dropout_hidden", "minibatch_std", "pack",
          "spectral_norm")
KIND_KEYS: dict[tuple[str, str], tuple[str, ...]] = {
    ("generator", "mlp"): ("z_dim", "z_dist", "hidden", "batch_norm", "init_range", "output",
                           "output_bias_from_data", "z_categories"),
    ("generator", "dcgan"): ("z_dim", "base", "attention", "spectral_norm", "output",
                             "extra_layers"),
    ("discriminator", "maxout"): (*_MLP_D, "pieces"),
    ("discriminator", "mlp"): _MLP_D,
    ("discriminator", "dcgan"): ("base", "attention", "spectral_norm", "batch_norm",
                                 "minibatch_std", "pack", "extra_layers"),
}
# Config sections that only some objectives read: section name -> the objectives that read it.
# A new objective with settings of its own adds a dataclass section to Config and a line here;
# validate.py refuses a non-default value in a section the chosen objective does not read.
OBJECTIVE_SECTIONS: dict[str, tuple[str, ...]] = {
    "semi": ("semi",),
    "vae": ("vae",),
    "srgan": ("srgan",),
    "pix2pix": ("pix2pix",),
    "text2image": ("text2image",),
    "inpaint": ("inpaint",),
    "bigan": ("bigan", "autoencoder"),  # the encoder of train/bigan.py
    "info": ("infogan",),
}
# Objectives whose D and D step are objective gan's (train/gan.py): what reads a z code,
# train.joint_d_pass and rejection sampling's D.
GAN_D_OBJECTIVES = ("gan", "infogan")

# Output layers each generator kind offers: images in [0, 1] by a sigmoid or a rescaled tanh;
# point data (2-D mixtures) by a linear layer.
OUTPUTS = {"mlp": ("sigmoid", "tanh", "linear"), "dcgan": ("sigmoid", "tanh")}


@dataclass
class DataConfig:
    dataset: str = "mnist"
    dir: str | None = (
        None  # MNIST folder or the user's image folder; None: GANKIT_DATA_DIR, shared, cache
    )
    # toy sets: size of the fixed training set (PacGAN used 100,000); mnist: train on the first
    # n_train images when fewer than its 50,000 (a small-data run)
    n_train: int = 100_000
    modes: int = 8  # ring: number of Gaussians
    radius: float = 1.0  # ring radius
    side: int = 5  # grid: side x side Gaussians
    spacing: float = 2.0  # grid: distance between neighbouring means
    std: float | None = None  # None: 0.01 for the ring, 0.05 for the grid (PacGAN)
    mean: float = 4.0  # gauss1d
    size: int = 28  # image-folder: images are resized and centre-cropped to size x size
    channels: int = 1  # image-folder: 1 (grayscale) or 3 (RGB)
    conditional: bool = False  # feed labels to G and D
    dir_a: str | None = None  # paired: the input images (paired with dir_b's by file name)
    dir_b: str | None = None  # paired: the target images
    # mnist-captions: DIGIT:WORD combinations (e.g. "3:thin", "7:left") whose images are left
    # out of training, so no training caption says them; scored separately (data/captions.py).
    held_out: list[str] = field(default_factory=list)


@dataclass
class GeneratorConfig:
    kind: str = "mlp"
    z_dim: int = 100
    z_dist: str = (
        "uniform"  # uniform: U(-sqrt3, sqrt3) per coordinate (unit variance); normal: N(0, 1)
    )
    # mlp: K > 0 appends a one-hot code of one of K equally likely categories to z (a discrete
    # latent: G can jump between separate modes instead of bridging them)
    z_categories: int = 0
    hidden: list[int] = field(default_factory=lambda: [1200, 1200])
    batch_norm: bool = False
    init_range: float = 0.05  # weights ~ U(-r, r); 0 keeps PyTorch's default init
    output: str = "sigmoid"  # sigmoid (pixels in [0, 1]) or linear (toy data)
    output_bias_from_data: bool = True  # sigmoid output bias = logit of each pixel's training mean
    base: int = 64  # dcgan: channel width unit
    attention: bool = False  # dcgan: a SAGAN self-attention block
    spectral_norm: bool = False
    extra_layers: int = 0  # dcgan: stride-1 3x3 conv layers added at every hidden resolution


@dataclass
class DiscriminatorConfig:
    kind: str = "maxout"
    hidden: list[int] = field(default_factory=lambda: [240, 240])
    pieces: int = 5  # maxout pieces per unit
    init_range: float = 0.005
    dropout_input: float = 0.2  # probability of dropping an input pixel (keep 0.8)
    dropout_hidden: float = 0.5
    batch_norm: bool = True  # dcgan only: WGAN-GP critics must set this to false
    base: int = 64
    attention: bool = False
    spectral_norm: bool = False
    minibatch_std: bool = False  # append the minibatch standard deviation as a feature
    extra_layers: int = 0  # dcgan: stride-1 3x3 conv layers after every hidden stride-2 conv
    pack: int = 1  # PacGAN: D judges `pack` samples at once


@dataclass
class OptimConfig:
    name: str = "sgd"
    lr: float = 0.1
    # lr divided by this at every update (the authors' mnist.yaml). Each network counts its own
    # updates (a choice, stated): with k D steps per G step, D's rate decays k times as fast
    # per iteration as G's. Give d_optim its own lr_decay to change that.
    lr_decay: float = 1.000004
    lr_min: float = 1e-6
    momentum_start: float = 0.5  # classic momentum, rising linearly ...
    momentum_end: float = 0.7
    momentum_start_epoch: int = 1  # ... from this epoch ...
    momentum_end_epoch: int = 250  # ... to this one
    betas: list[float] = field(default_factory=lambda: [0.5, 0.999])
    weight_decay: float = 0.0


@dataclass
class TrainConfig:
    k: int = 1  # discriminator steps per generator step (Algorithm 1)
    update: str = "alternating"  # alternating (Algorithm 1) or simultaneous (the authors' code)
    batch_size: int = 100
    epochs: int = 25
    max_steps: int = 0  # generator steps; 0: no limit other than epochs
    log_every: int = 100
    checkpoint_every: int = 0  # generator steps between checkpoints; 0: every epoch only
    n_sample_grid: int = 100
    ema: float = 0.0  # decay of an EMA copy of G used for sampling; 0: off
    # Ramp the EMA decay up with the G step t, min(ema, (1 + t) / (10 + t)), so early EMA
    # samples follow G instead of its initial weights. False keeps old runs exactly as they were.
    ema_warmup: bool = False
    # G_ema's batch-norm statistics (train/standing_stats.py): copy (the live G's, as gankit did
    # before) or recompute (its own, from fresh noise, each time it is sampled or saved)
    ema_bn: str = "copy"
    # Top-k generator updates (Sinha et al. 2020): G learns only from the fakes D scores highest.
    # k starts at the batch size and is multiplied by topk_decay every epoch, down to
    # topk * batch_size; topk = 1 is off.
    topk: float = 1.0
    topk_decay: float = 0.99
    progress: bool = True
    device: str = "cpu"
    threads: int = 0  # torch threads; 0: PyTorch's default
    eval_every: int = 0  # epochs between in-training evaluations (gankit eval's protocols); 0: off
    eval_metrics: list[str] = field(default_factory=list)  # empty: the dataset's defaults
    eval_n: int = 0  # samples per in-training evaluation; 0: the protocol's (10,000 MNIST)
    tensorboard: bool = False
    sync_bn: bool = False  # torchrun: synchronise batch-norm statistics across processes
    # Speed options (train/speedups.py; measured in docs/results/speed.md). Off by default: each
    # changes results only within float tolerance (tests/test_speedups.py), not bit for bit.
    compile: bool = False  # torch.compile G and D (the first iterations pay the compilation)
    channels_last: bool = False  # convolutional weights and activations in NHWC layout
    fused_optim: bool = False  # one fused kernel per optimiser step (SGD: even bit-identical)
    amp: str = "off"  # bf16: matrix products and convolutions in bfloat16 (autocast)
    # CPU dropout masks from torch.rand (4x faster than bernoulli_): same distribution and the
    # same seeded, resumable global stream, but other masks, so other results than the default
    fast_dropout: bool = False
    # Convolutions with an image-sized side (<= 4 channels: G's last, D's first layer) as
    # matrix products plus fold where oneDNN is slow there; float32 rounding only
    gemm_image_convs: bool = False
    # objective gan, an MLP D without minibatch std or spectral norm: D scores the real and
    # the fake minibatch in one pass; rounding, and which dropout mask each sample gets
    joint_d_pass: bool = False


# train.ema_bn: where the batch-norm statistics of G's EMA copy come from (train/standing_stats.py)
EMA_BN_MODES = ("copy", "recompute")


# Hidden regions of objective inpaint (data/masks.py): half (top, bottom, left or right), quarter
# (one of four), box (a random rectangle, sides in inpaint.box_size), all (the whole image: G then
# samples unconditionally), or one named half.
MASK_KINDS = ("half", "quarter", "box", "all", "top", "bottom", "left", "right")


@dataclass
class InpaintConfig:
    masks: list[str] = field(default_factory=lambda: ["half", "quarter", "box"])  # drawn uniformly
    box_size: list[int] = field(default_factory=lambda: [8, 16])  # box sides: min, max (pixels)
    adversarial: bool = True  # false: a deterministic completion net trained with L2 (no z, no D)
    # G's extra terms (0 keeps the plain GAN; the L2 net, adversarial: false, has neither, so
    # `--set inpaint.adversarial=false` on a GAN config is its baseline): mode seeking (Mao et al.
    # 2019) rewards two completions of one input for differing with z; reconstruction is the
    # weight of an L1 term on the hidden pixels (pix2pix's L1 + adversarial) that keeps the class.
    mode_seeking: float = 0.0
    reconstruction: float = 0.0
    z_every_layer: bool = False  # z also enters every decoder layer as constant maps


@dataclass
class BiGANConfig:
    """The encoder E(x) -> z of objective bigan (and of its baseline, objective autoencoder).
    Its code size is generator.z_dim; the joint D(x, z) is the discriminator: section's MLP."""

    encoder_hidden: list[int] = field(default_factory=lambda: [512, 512])
    encoder_batch_norm: bool = False
    encoder_init_range: float = 0.0  # weights ~ U(-r, r); 0 keeps PyTorch's default init


@dataclass
class InfoConfig:
    """objective infogan (train/infogan.py, Chen et al. 2016): Q guesses the categorical code
    of generator.z_categories from G's sample; G's loss adds weight * Q's cross-entropy."""

    weight: float = 1.0  # InfoGAN's lambda (1 for discrete codes in the paper)
    hidden: list[int] = field(default_factory=lambda: [128, 128])  # Q's leaky-ReLU layers


@dataclass
class SemiConfig:
    """objective: semi (Salimans et al. 2016, §5): a (K+1)-class D trained on `labels` labelled
    training images and every training image as unlabelled data; G by feature matching."""

    labels: int = 100  # labelled training images, labels / K from each class
    label_seed: int = 0  # which images are labelled (independent of the run's seed)
    # D: an MLP with Gaussian noise on its input and after every hidden layer, weight norm and
    # K class logits (the authors' MNIST D: 1000, 500, 250, 250, 250; noise 0.3 and 0.5).
    hidden: list[int] = field(default_factory=lambda: [1000, 500, 250, 250, 250])
    input_noise: float = 0.3
    hidden_noise: float = 0.5
    weight_norm: bool = True
    unlabelled_weight: float = 1.0  # weight of the real/fake term beside the labelled one
    generator_loss: str = "feature-matching"  # or non-saturating (on D's logsumexp logit)


@dataclass
class VAEConfig:
    """objective: vae (train/vae.py). Default: Burda et al. (2016)'s first MNIST architecture."""

    z_dim: int = 50  # latent dimensions; prior N(0, I)
    hidden: list[int] = field(default_factory=lambda: [200, 200])  # encoder tanh layers; the
    # decoder mirrors them
    decoder_bias_from_data: bool = True  # decoder output bias = logit of each pixel's mean


@dataclass
class SRGANConfig:
    """objective srgan (train/srgan.py): x4 super-resolution, Ledig et al. 2017."""

    pixel_weight: float = 1.0  # pixel MSE between the upscaled and the real image
    # MSE between gankit's MNIST classifier's 128 features of the two (standing in for the
    # paper's VGG features); 1 x 28 x 28 images only, so 0 (off) unless set.
    feature_weight: float = 0.0
    adversarial_weight: float = 1e-3  # the paper's; 0 trains SRResNet (no discriminator)
    g_base: int = 64  # generator width (the paper's 64)
    g_blocks: int = 16  # residual blocks (the paper's 16)
    d_base: int = 64  # discriminator width of its first conv (the paper's 64)


@dataclass
class Pix2PixConfig:
    """objective pix2pix (Isola et al. 2017): G's loss is adversarial_weight * the GAN loss +
    l1_weight * |G(a) - b|; the paper's lambda is 100. Either weight 0 is an ablation."""

    l1_weight: float = 100.0
    adversarial_weight: float = 1.0  # 0: no discriminator is trained (L1 alone)
    g_base: int = 64  # U-Net width unit (the paper's 64); channels double per level up to 8x
    depth: int = 0  # U-Net stride-2 levels; 0: down to a 1x1 bottleneck (28x28: 4)
    dropout: float = 0.5  # G's noise: dropout in the innermost decoder blocks (training only)
    d_base: int = 64  # PatchGAN width unit
    d_layers: int = 3  # PatchGAN stride-2 layers: 3 is the paper's 70x70 patch, 1 a 16x16 one


@dataclass
class Text2ImageConfig:
    """objective text2image (GAN-CLS + GAN-INT, Reed et al. 2016; train/text2image.py)."""

    word_dim: int = 64  # word vectors of the bag-of-words sentence encoder
    embed_dim: int = 32  # sentence embedding fed to G and D
    drop: float = 0.3  # chance each attribute word is left out of a training caption
    numeral: float = 0.1  # chance a training caption writes the digit as a numeral (7)
    interpolate: float = 1.0  # weight of GAN-INT's term in G's loss; 0: GAN-CLS alone
    beta: float = 0.5  # GAN-INT mixes beta * t1 + (1 - beta) * t2 (Reed et al.: 0.5)


@dataclass
class Config:
    name: str = "run"
    objective: str = "gan"  # what is trained: see gankit.train.objectives.OBJECTIVES
    seed: int = 0
    loss: str = "non-saturating"
    data: DataConfig = field(default_factory=DataConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    g_optim: dict = field(default_factory=dict)  # per-network overrides of `optim`, e.g. {lr: 2e-4}
    d_optim: dict = field(default_factory=dict)
    losses: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    bigan: BiGANConfig = field(default_factory=BiGANConfig)
    semi: SemiConfig = field(default_factory=SemiConfig)
    info: InfoConfig = field(default_factory=InfoConfig)  # objective infogan
    vae: VAEConfig = field(default_factory=VAEConfig)
    srgan: SRGANConfig = field(default_factory=SRGANConfig)
    pix2pix: Pix2PixConfig = field(default_factory=Pix2PixConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)  # small data: gankit/augment.py
    text2image: Text2ImageConfig = field(default_factory=Text2ImageConfig)
    inpaint: InpaintConfig = field(default_factory=InpaintConfig)  # objective inpaint
