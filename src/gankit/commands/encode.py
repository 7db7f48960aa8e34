"""`gankit encode`: the codes E(x) of a BiGAN (or autoencoder) run, written as a .npy array."""

from __future__ import annotations

import argparse
from pathlib import Path

from gankit.errors import GankitError


def add_parser(sub: argparse._SubParsersAction) -> None:
    from gankit.data.mnist import SPLITS

    p = sub.add_parser(
        "encode",
        help="codes E(x) of images, from a run with an encoder (objective bigan)",
        description="Encode images with a run's encoder E and write the codes (N x z_dim) "
        "as a .npy array.",
    )
    p.add_argument("run", help="run folder (objective bigan or autoencoder)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", help=".npy of N x 1 x 28 x 28 images in [0, 1], or a PNG")
    source.add_argument("--split", choices=SPLITS, help="an MNIST split (runs trained on MNIST)")
    p.add_argument("--out", required=True, help="output .npy file of the codes")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from gankit.data.imagefile import load_image_file
    from gankit.encode import encode, encoder_of, split_images
    from gankit.train.run import load_run

    out = Path(args.out)
    if out.suffix.lower() != ".npy":
        raise GankitError(f"--out {out}: name a .npy file (the codes are an N x z_dim array)")
    loaded = load_run(args.run)
    encoder_of(loaded)  # a run without an encoder fails before any images are read
    if args.images:
        images = load_image_file(args.images, loaded.data_shape)
    else:
        images = split_images(loaded, args.split)[0]
    codes = encode(loaded, images)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        np.save(out, codes.numpy())
    except OSError as exc:
        raise GankitError(f"cannot write --out {out} ({exc.strerror}); choose another path") from None
    print(f"wrote {len(codes)} codes of {codes.shape[1]} numbers to {out}")
    return 0
