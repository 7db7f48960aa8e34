"""`gankit translate`: run a pix2pix run's generator on your images, one PNG out per image in."""

from __future__ import annotations

import argparse
from pathlib import Path

from gankit.errors import GankitError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "translate",
        help="translate images with a pix2pix run",
        description="Translate images with a pix2pix run's generator (eval mode, no dropout): "
        "each image is resized and centre-cropped to the run's size, and OUT/<name>.png (the "
        "output alone, at the run's size) is written for each input <name>.<ext>; --grid adds "
        "one picture of every input beside its output. (A run's own samples/*.png grids show "
        "training pairs as input | output | truth.)",
    )
    p.add_argument("run", help="run folder of an objective pix2pix run")
    p.add_argument("--images", required=True, help="an image file, or a folder of images")
    p.add_argument("--out", required=True, help="folder for the translated PNGs")
    p.add_argument("--sketch", action="store_true",
                   help="mnist-sketch runs: outline each image first (data/sketch.py), so plain "
                   "digit images can be given")
    p.add_argument("--grid", help="also write this PNG: each input beside its output, one pair "
                   "per row (input | output; your images have no ground truth)")


def run(args: argparse.Namespace) -> int:
    import torch

    from gankit.data.images import input_images
    from gankit.data.paired import load_images
    from gankit.train.run import load_run
    from gankit.viz.grid import save_png, to_uint8_image

    loaded = load_run(args.run)
    cfg = loaded.config
    if cfg.objective != "pix2pix":
        raise GankitError(f"run {args.run} trained objective {cfg.objective}; translate needs a "
                          "pix2pix run (objective: pix2pix)")
    if args.sketch and cfg.data.dataset != "mnist-sketch":
        raise GankitError(f"--sketch outlines digits for mnist-sketch runs; run {args.run} "
                          f"trained on data.dataset {cfg.data.dataset}: drop --sketch")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise GankitError(f"--out {out} is a file; give a folder")
    if args.grid and Path(args.grid).suffix.lower() != ".png":
        raise GankitError(f"--grid {args.grid}: name a .png file")
    G = loaded.generator
    size = loaded.data_shape[-1]
    files = input_images(Path(args.images))
    a = load_images(files, size, G.in_channels)  # every file is read before anything is written
    if args.sketch:
        from gankit.data.sketch import outline

        a = outline(a)
    with torch.no_grad():
        b = torch.cat([G(a[i:i + 256]) for i in range(0, len(a), 256)])
    try:
        out.mkdir(parents=True, exist_ok=True)
        for file, image in zip(files, b, strict=True):
            save_png(to_uint8_image(image), out / f"{file.stem}.png", scale=1)
        if args.grid:
            from gankit.train.pix2pix import side_by_side
            from gankit.viz.grid import save_grid

            save_grid(side_by_side(a, b), args.grid, nrow=2)
    except OSError as exc:
        raise GankitError(f"cannot write to --out {out} ({exc.strerror}); choose another folder"
                          ) from None
    print(f"wrote {len(files)} translated image(s) to {out}")
    return 0
