"""`gankit viz arithmetic`: latent vector arithmetic, thick - thin + slanted (Radford et al.)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "arithmetic",
        help="latent vector arithmetic: thick - thin + slanted",
        description="Generate a pool of samples, pick the thickest, thinnest and most slanted "
        "(mean ink and second-moment slant, standardised within each class) and decode "
        "mean(z_thick) - mean(z_thin) + mean(z_slanted), as in Radford et al. 2016, Fig. 7. "
        "Conditional runs show the result for every class; --classes also writes the same z "
        "decoded with every label.",
    )
    p.add_argument("run", help="run folder")
    p.add_argument("--out", help="output PNG (default: RUN/arithmetic.png)")
    p.add_argument("--k", type=int, default=8, help="samples averaged per group (default 8)")
    p.add_argument("--pool", type=int, default=2000, help="samples to choose from (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument(
        "--classes",
        action="store_true",
        help="conditional runs: also write a grid of fixed z (rows) x classes (columns)",
    )


def _cached_classes(samples_fn, pool: int, seed: int):  # noqa: ANN001, ANN202
    """Classifier predictions for the pool from gankit's MNIST classifier (its shipped weights
    or the cache); None when neither loads (never trains it here: a picture should not cost
    minutes)."""
    from gankit.errors import GankitError
    from gankit.metrics.classifier import load_mnist_classifier

    try:
        classifier = load_mnist_classifier(retrain_if_missing=False, verbose=False)
    except GankitError:
        return None
    import torch

    with torch.no_grad():
        return classifier(samples_fn(pool, seed)).argmax(dim=1)


def run(args: argparse.Namespace) -> int:
    import torch

    from gankit.errors import GankitError
    from gankit.train.run import load_run
    from gankit.viz.arithmetic import save_arithmetic
    from gankit.viz.latent import check_image_run, save_class_grid

    if args.k < 1 or args.pool < 3 * args.k:
        raise GankitError(f"--k must be >= 1 and --pool at least 3 * k (got {args.k}, {args.pool})")
    loaded = load_run(args.run)
    check_image_run(loaded)
    conditional = bool(loaded.config.data.conditional and loaded.n_classes)
    if args.classes and not conditional:
        raise GankitError("--classes needs a run trained with data.conditional=true")
    classes = None
    if not conditional and tuple(loaded.data_shape) == (1, 28, 28):

        def pool_samples(n: int, seed: int) -> torch.Tensor:
            # The same z as latent_arithmetic draws: one generator seeded with `seed`.
            g = torch.Generator().manual_seed(seed)
            with torch.no_grad():
                return loaded.generator(loaded.generator.sample_z(n, generator=g))

        classes = _cached_classes(pool_samples, args.pool, args.seed)
    out = Path(args.out) if args.out else Path(args.run) / "arithmetic.png"
    result = save_arithmetic(loaded, out, k=args.k, pool=args.pool, seed=args.seed, classes=classes)
    a, b, c = result.names
    m = result.measured
    print(f"wrote {a} - {b} + {c} to {out}")
    for name in (*result.names, "result"):
        print(f"  {name:>8}: ink {m[name]['ink']:.4f}, slant {m[name]['slant']:+.3f}")
    if classes is None and not conditional:
        print("  (groups standardised over all samples: gankit's MNIST classifier could not be loaded)")
    if args.classes:
        grid = out.with_name(out.stem + "-classes.png")
        save_class_grid(loaded, grid, n=8, seed=args.seed)
        print(f"wrote the fixed-z class grid to {grid}")
    return 0
