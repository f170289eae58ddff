"""Evaluation: an MNIST classifier, Inception Score (Eq. 17), FID (Eq. 18) and mode coverage.

torchmetrics' InceptionScore and FrechetInceptionDistance are used with our own classifier as
the feature module (their Inception nets would download weights, and are trained on ImageNet,
not digits): IS on its class probabilities, FID on its penultimate features. Images enter as
(N, 1, 28, 28) floats in [-1, 1]; the metrics pass them to the classifier as bytes.
"""

from __future__ import annotations

import math
import warnings
from importlib import resources
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional as F
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.inception import InceptionScore
from tqdm import tqdm

from qaaan import data
from qaaan.errors import ConfigError, first_line

SHIPPED = {
    "mnist": "classifier_mnist.safetensors",
    "fashion-mnist": "classifier_fashion_mnist.safetensors",
}
CLASSIFIER_DATASETS = tuple(SHIPPED)


def classifier_for(dataset: str | None) -> str:
    """The classifier that scores images of `dataset` (mnist-10k is MNIST; None: MNIST)."""
    name = {"mnist-10k": "mnist", None: "mnist"}.get(dataset, dataset)
    if name not in CLASSIFIER_DATASETS:
        raise ConfigError(
            f"classifiers score {' or '.join(CLASSIFIER_DATASETS)} runs, got dataset {name!r}"
        )
    return name


class Classifier(nn.Module):
    """A small CNN for 28x28 digits: two convolution blocks, a 128-unit layer, 10 logits."""

    num_features = 128  # the penultimate layer, the FID features

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.25),
            nn.Linear(64 * 7 * 7, self.num_features), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Sequential(nn.Dropout(0.25), nn.Linear(self.num_features, 10))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(images))


class _FromBytes(nn.Module):
    """What torchmetrics calls: uint8 images -> classifier features or class probabilities."""

    def __init__(self, classifier: Classifier, output: str):
        super().__init__()
        self.classifier, self.output = classifier, output
        self.num_features = classifier.num_features if output == "features" else 10

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float() / 127.5 - 1.0
        if self.output == "features":
            return self.classifier.features(x)
        return self.classifier(x)  # InceptionScore takes logits and applies the softmax


def load_classifier(name: str = "mnist", path: Path | None = None) -> Classifier:
    """The classifier shipped for `name` (or the weights at `path`), in eval mode."""
    classifier = Classifier()
    if path is None:
        if name not in SHIPPED:
            raise ConfigError(
                f"no classifier shipped for {name!r} (shipped: {', '.join(SHIPPED)}); train one "
                f"with `qaaan classifier train --dataset {name} --out F` and pass --classifier F"
            )
        with resources.as_file(resources.files("qaaan") / "assets" / SHIPPED[name]) as file:
            classifier.load_state_dict(load_file(file))
    else:
        try:
            classifier.load_state_dict(load_file(path))
        except (OSError, SafetensorError, RuntimeError) as error:
            raise ConfigError(
                f"classifier weights {str(path)!r} cannot be read ({first_line(error)}); give a "
                "file written by `qaaan classifier train`"
            ) from None
    return classifier.eval()


def _to_bytes(images: torch.Tensor) -> torch.Tensor:
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


@torch.no_grad()
def inception_score(
    images: torch.Tensor, classifier: Classifier, splits: int = 10
) -> tuple[float, float]:
    """Eq. 17 on the classifier's class probabilities: mean and std over `splits` splits.

    torchmetrics shuffles the images into splits with torch's global generator; we fix that
    shuffle, so the same images always give the same score, and leave the global state as it was.
    """
    with warnings.catch_warnings():  # "will save all extracted features": 10 x 10k is small
        warnings.simplefilter("ignore", UserWarning)
        metric = InceptionScore(feature=_FromBytes(classifier, "logits"), splits=splits)
    for batch in images.split(1000):
        metric.update(_to_bytes(batch))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        mean, std = metric.compute()
    return mean.item(), std.item()


@torch.no_grad()
def frechet_distance(real: torch.Tensor, fake: torch.Tensor, classifier: Classifier) -> float:
    """Eq. 18 between the classifier's penultimate features of `real` and `fake`."""
    metric = FrechetInceptionDistance(feature=_FromBytes(classifier, "features"))
    for batch in real.split(1000):
        metric.update(_to_bytes(batch), real=True)
    for batch in fake.split(1000):
        metric.update(_to_bytes(batch), real=False)
    return metric.compute().item()


@torch.no_grad()
def mode_coverage(images: torch.Tensor, classifier: Classifier) -> dict[str, object]:
    """Class histogram of `images`, its KL divergence to uniform, and the smallest class share."""
    predictions = torch.cat([classifier(batch).argmax(dim=1) for batch in images.split(1000)])
    shares = torch.bincount(predictions, minlength=10).double() / len(predictions)
    present = shares[shares > 0]
    kl = (present * (present * 10).log()).sum().item()
    return {
        "class_shares": shares.tolist(),
        "kl_to_uniform": kl,
        "smallest_share": shares.min().item(),
    }


@torch.no_grad()
def accuracy(classifier: Classifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    predictions = torch.cat([classifier(batch).argmax(dim=1) for batch in images.split(1000)])
    return (predictions == labels).double().mean().item()


def train_classifier(
    dataset: str, data_dir: str | None, epochs: int, seed: int, out: Path
) -> dict[str, float]:
    """Trains the classifier on the training set, reports test accuracy, saves safetensors."""
    if dataset not in CLASSIFIER_DATASETS:
        raise ConfigError(f"classifier datasets: {', '.join(CLASSIFIER_DATASETS)}; got {dataset!r}")
    torch.manual_seed(seed)
    train_set = data.load(dataset, data_dir, train=True)
    test_set = data.load(dataset, data_dir, train=False)
    classifier = Classifier()
    optimiser = torch.optim.Adam(classifier.parameters(), lr=1e-3)
    steps = epochs * math.ceil(len(train_set) / 128)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=3e-3, total_steps=steps)
    generator = torch.Generator().manual_seed(seed)
    progress = tqdm(total=steps, desc="classifier", unit="batch")
    for _ in range(epochs):
        classifier.train()
        for indices in torch.randperm(len(train_set), generator=generator).split(128):
            loss = F.cross_entropy(
                classifier(train_set.batch(indices)), train_set.labels[indices].long()
            )
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            progress.update(1)
    progress.close()
    classifier.eval()
    test_accuracy = accuracy(
        classifier, test_set.batch(torch.arange(len(test_set))), test_set.labels.long()
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in classifier.state_dict().items()}, str(out))
    return {"test_accuracy": test_accuracy, "epochs": epochs}


def evaluate(images: torch.Tensor, reference: torch.Tensor, classifier: Classifier) -> dict:
    """IS, FID against `reference` (real images) and mode coverage of `images`."""
    score, spread = inception_score(images, classifier)
    return {
        "inception_score": score,
        "inception_score_std": spread,
        "fid": frechet_distance(reference, images, classifier),
        **mode_coverage(images, classifier),
    }


def real_reference(dataset: str, data_dir: str | None, classifier: Classifier) -> dict:
    """The real-data figures: IS of the test set, FID of 10k training images vs the test set."""
    test = data.load(dataset, data_dir, train=False)
    train = data.load(dataset, data_dir, train=True)
    test_images = test.batch(torch.arange(len(test)))
    train_images = train.batch(torch.arange(10_000))
    score, spread = inception_score(test_images, classifier)
    return {
        "inception_score": score,
        "inception_score_std": spread,
        "fid": frechet_distance(test_images, train_images, classifier),
        **mode_coverage(test_images, classifier),
        "test_accuracy": accuracy(classifier, test_images, test.labels.long()),
    }
