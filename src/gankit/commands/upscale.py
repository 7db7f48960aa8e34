"""`gankit upscale`: x4 super-resolution of image files with a trained srgan run."""

from __future__ import annotations

import argparse
from pathlib import Path

from gankit.errors import GankitError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "upscale",
        help="upscale images x4 with a super-resolution run",
        description="Upscale images x4 with a run trained with objective srgan: one PNG per "
                    "input, named as the input, 4x its width and height. Each image is read "
                    "as it is (no resizing), in the run's colours (grey or RGB).",
    )
    p.add_argument("run", help="run folder (objective srgan)")
    p.add_argument("--images", required=True, help="an image file, or a folder of them")
    p.add_argument("--out", required=True, help="folder for the upscaled PNGs")


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch
    from PIL import Image, UnidentifiedImageError

    from gankit.data.images import input_images
    from gankit.train.run import load_run

    files = input_images(Path(args.images).expanduser())
    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():
        raise GankitError(f"--out {out} is a file; give a folder for the upscaled PNGs")
    loaded = load_run(args.run)
    if loaded.config.objective != "srgan":
        raise GankitError(f"run {args.run} trained objective {loaded.config.objective}, which "
                          "does not upscale; give a run trained with objective: srgan "
                          "(e.g. gankit train mnist-sr4)")
    mode = "L" if loaded.data_shape[0] == 1 else "RGB"
    names = [f.stem + ".png" for f in files]
    inputs = []
    for f in files:  # all read before anything is written
        try:
            with Image.open(f) as img:
                inputs.append(np.array(img.convert(mode), dtype=np.uint8))
        except (UnidentifiedImageError, OSError) as exc:
            raise GankitError(f"cannot read image {f} ({exc}); remove it or convert it to PNG") \
                from None
    g = loaded.generator
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, array in zip(names, inputs, strict=True):
            x = torch.from_numpy(array.reshape(*array.shape[:2], -1)).permute(2, 0, 1)
            with torch.no_grad():
                sr = g(x[None].float() / 255)[0]
            picture = (sr.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            Image.fromarray(picture[..., 0] if mode == "L" else picture).save(out / name)
    except OSError as exc:
        raise GankitError(f"cannot write --out {out} ({exc.strerror}); choose another folder") \
            from None
    print(f"wrote {len(files)} upscaled image(s) to {out}")
    return 0
