"""How each registered metric is computed: one function per metric, sharing one EvalInputs.

Every function takes the EvalInputs of one evaluation and its registry params and returns
({metric: value}, {protocol field: value}); each protocol field is read from what was actually
used (the split loaded, the points counted, the k passed), never written as a literal.

EvalInputs prepares on first use, once per evaluation, what several metrics share: the checked
samples and their seeded subset, the classifier, the sample and reference features and the
class logits. The seeded generator draws the samples' subset first and the reference subset
second, whichever metrics ask, so a metric's value does not depend on which others run with it.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import torch

from gankit.data import load_mnist
from gankit.errors import GankitError
from gankit.metrics.classifier import MnistClassifier, load_mnist_classifier
from gankit.metrics.features import extract_features, extractor_name
from gankit.metrics.frechet import feature_stats, frechet_distance
from gankit.metrics.kid import kid_score, kid_subset_size
from gankit.metrics.modes import classifier_score as _classifier_score
from gankit.metrics.modes import mnist_modes as _mnist_modes
from gankit.metrics.parzen import parzen_evaluate
from gankit.metrics.prdc import prdc_for_ks
from gankit.metrics.samples import check_mnist_samples

REFERENCE_SPLIT = "test"  # MNIST's reference images: the t10k split, 10,000 like the default n


def _subset(x: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    if len(x) <= n:
        return x
    return x[torch.randperm(len(x), generator=generator)[:n]]


class EvalInputs:
    """One evaluation's samples and settings, and what its metrics share (computed lazily)."""

    def __init__(self, samples: Any, dataset: str, n: int, seed: int = 0, data_dir: Any = None,
                 classifier: MnistClassifier | None = None, classifier_weights: Any = None,
                 inception_weights: Any = None, data: Any = None, nets: Any = None) -> None:
        self.samples, self.dataset, self.n, self.seed = samples, dataset, n, seed
        self.nets = nets or {}
        self.data_dir, self.data = data_dir, data
        self.given_classifier, self.classifier_weights = classifier, classifier_weights
        self.inception_weights = inception_weights
        self._generator = torch.Generator().manual_seed(seed)
        # The k of every PRDC-type metric of this evaluation (evaluate sets it), computed in
        # one pass over the distance matrices when the first of them is asked for.
        self.prdc_ks: tuple[int, ...] = ()
        self._prdc: dict[int, dict[str, float]] = {}

    def prdc(self, k: int) -> dict[str, float]:
        if k not in self._prdc:
            self._prdc.update(prdc_for_ks(self.real_feats, self.fake_feats, {k, *self.prdc_ks}))
        return self._prdc[k]

    @cached_property
    def fake(self) -> torch.Tensor:
        """The checked MNIST samples, a seeded subset of n when there are more (the first draw)."""
        return _subset(check_mnist_samples(self.samples, self.n), self.n, self._generator)

    @cached_property
    def classifier(self) -> MnistClassifier:
        if self.given_classifier is not None:
            return self.given_classifier
        return load_mnist_classifier(self.classifier_weights, data_dir=self.data_dir)

    @cached_property
    def fake_feats(self) -> torch.Tensor:
        fake = self.fake  # checked before the classifier is loaded (or trained, on first use)
        return extract_features(self.classifier, fake)

    @cached_property
    def real_feats(self) -> torch.Tensor:
        """Features of n reference images, a seeded subset drawn after the samples' one."""
        n = len(self.fake)  # draws the samples' subset first if no metric has yet
        reference, _ = load_mnist(REFERENCE_SPLIT, data_dir=self.data_dir)
        return extract_features(self.classifier, _subset(reference, n, self._generator))

    @cached_property
    def logits(self) -> torch.Tensor:
        feats = self.fake_feats
        device = next(self.classifier.parameters()).device
        with torch.no_grad():
            return self.classifier.logits_from_features(feats.to(device)).cpu()

    def seeded(self) -> dict[str, Any]:
        return {"n": len(self.fake), "seed": self.seed}

    def extractor(self) -> dict[str, Any]:
        return {**self.seeded(), "extractor": extractor_name(self.classifier)}

    def reference(self) -> dict[str, Any]:
        return {**self.extractor(), "reference_split": REFERENCE_SPLIT,
                "n_reference": len(self.real_feats)}


def parzen(inputs: EvalInputs, valid_split: str, valid_points: int,
           test_split: str) -> tuple[dict, dict]:
    """Samples as kernel centres, sigma chosen on valid[:valid_points], the test split scored."""
    fake = inputs.fake
    valid, _ = load_mnist(valid_split, data_dir=inputs.data_dir)
    test, _ = load_mnist(test_split, data_dir=inputs.data_dir)
    result = parzen_evaluate(fake, valid[:valid_points], test)
    return ({"parzen": result["mean"], "parzen_stderr": result["stderr"]},
            {**inputs.seeded(), "parzen_sigma": result["sigma"],
             "parzen_valid": f"{valid_split}[:{result['n_valid']}]", "parzen_test": test_split,
             "parzen_n_test": result["n_test"]})


def fid(inputs: EvalInputs) -> tuple[dict, dict]:
    distance = frechet_distance(*feature_stats(inputs.real_feats),
                                *feature_stats(inputs.fake_feats))
    return {"fid": distance}, inputs.reference()


def kid(inputs: EvalInputs, subsets: int, subset_size: int) -> tuple[dict, dict]:
    real, fake = inputs.real_feats, inputs.fake_feats
    mean, std = kid_score(real, fake, n_subsets=subsets, subset_size=subset_size,
                          seed=inputs.seed)
    used = kid_subset_size(subset_size, len(real), len(fake))  # the size kid_score drew
    return {"kid": mean, "kid_std": std}, {**inputs.reference(), "kid_subset_size": used}


def precision_recall(inputs: EvalInputs, k: int) -> tuple[dict, dict]:
    result = inputs.prdc(k)
    return ({"precision": result["precision"], "recall": result["recall"]},
            {**inputs.reference(), "pr_k": k})


def density_coverage(inputs: EvalInputs, k: int) -> tuple[dict, dict]:
    result = inputs.prdc(k)
    return ({"density": result["density"], "coverage": result["coverage"]},
            {**inputs.reference(), "dc_k": k})


def classifier_score(inputs: EvalInputs) -> tuple[dict, dict]:
    mean, std = _classifier_score(torch.softmax(inputs.logits.double(), dim=1))
    return {"is": mean, "is_std": std}, inputs.extractor()


def mnist_modes(inputs: EvalInputs) -> tuple[dict, dict]:
    modes = _mnist_modes(inputs.logits.argmax(dim=1))
    return ({"classes_covered": modes["classes_covered"],
             "kl_to_uniform": modes["kl_to_uniform"], "class_histogram": modes["histogram"]},
            inputs.extractor())


def fid_inception(inputs: EvalInputs) -> tuple[dict, dict]:
    """Standard FID: InceptionV3 pool features of the first n samples and test images."""
    from gankit.metrics.inception import load_inception

    if not inputs.inception_weights:
        raise GankitError("fid-inception needs the FID Inception weights: pass --inception-weights "
                          "PATH (pt_inception-2015-12-05 as TorchScript); without it use "
                          "--metrics fid (Fréchet distance on gankit's MNIST classifier)")
    samples = check_mnist_samples(inputs.samples, inputs.n)
    net = load_inception(inputs.inception_weights)
    real, _ = load_mnist(REFERENCE_SPLIT, inputs.data_dir)
    n = min(len(samples), len(real), inputs.n)
    f_fake = extract_features(net, samples[:n], batch_size=100)
    f_real = extract_features(net, real[:n], batch_size=100)
    distance = frechet_distance(*feature_stats(f_real), *feature_stats(f_fake))
    return ({"fid_inception": distance},
            {"fid_inception_extractor": "InceptionV3 (pool3, 2048-D), user weights"})


def modes2d(inputs: EvalInputs) -> tuple[dict, dict]:
    """PacGAN's 2-D protocol against the training mixture's true means and std."""
    from gankit.metrics.modes2d import evaluate_modes2d

    samples = inputs.samples
    if len(samples) < inputs.n:
        raise GankitError(f"got {len(samples)} samples but the evaluation uses n={inputs.n}")
    result = evaluate_modes2d(samples[:inputs.n], inputs.data.means, inputs.data.std,
                              inputs.dataset, inputs.seed)
    return result["metrics"], result["protocol"]


def stacked_modes(inputs: EvalInputs) -> tuple[dict, dict]:
    from gankit.metrics.stacked import evaluate_stacked

    result = evaluate_stacked(inputs.samples, data_dir=inputs.data_dir, seed=inputs.seed,
                              classifier_weights=inputs.classifier_weights, n=inputs.n,
                              classifier=inputs.given_classifier)
    return result["metrics"], result["protocol"]



def accuracy(inputs: EvalInputs, split: str) -> tuple[dict, dict]:
    """A semi-supervised D's K classes on the first n images of the MNIST split."""
    from gankit.metrics.accuracy import class_errors

    x, y = load_mnist(split, data_dir=inputs.data_dir)
    n = min(inputs.n, len(x))
    errors = class_errors(inputs.nets["discriminator"], x[:n], y[:n])
    return ({"accuracy": 100.0 * (n - errors) / n, "test_error": 100.0 * errors / n,
             "errors": errors},
            {"accuracy_split": split, "accuracy_n": n,
             "accuracy_net": "discriminator (argmax of its K class logits)",
             "accuracy_unit": "percent", "test_error_unit": "percent"})
