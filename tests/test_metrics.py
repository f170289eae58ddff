"""The evaluation classifier and the metrics on real data (exact or known answers)."""

import os

import pytest
import torch
from typer.testing import CliRunner

from qaaan import data, metrics
from qaaan.cli import app

pytestmark = pytest.mark.skipif(
    "QAAAN_DATA" not in os.environ, reason="needs the MNIST test set: set QAAAN_DATA"
)


@pytest.fixture(scope="module")
def test_set():
    mnist = data.load("mnist", train=False)
    return mnist.batch(torch.arange(len(mnist))), mnist.labels.long()


@pytest.fixture(scope="module")
def classifier():
    return metrics.load_classifier("mnist")


def test_shipped_classifier_reaches_99_percent(test_set, classifier):
    images, labels = test_set
    assert metrics.accuracy(classifier, images, labels) >= 0.99


def test_inception_score_of_the_real_test_set_is_above_9_5(test_set, classifier):
    score, _ = metrics.inception_score(test_set[0], classifier)
    assert 9.5 < score <= 10.0


def test_inception_score_is_repeatable_and_leaves_the_global_generator_alone(test_set, classifier):
    images = test_set[0][:2000]
    torch.manual_seed(1)
    first = metrics.inception_score(images, classifier)
    after_first = torch.rand(1)
    torch.manual_seed(2)
    assert metrics.inception_score(images, classifier) == first  # torchmetrics alone differs
    torch.manual_seed(1)
    assert torch.equal(torch.rand(1), after_first)


def test_inception_score_of_one_class_is_near_1(test_set, classifier):
    images, labels = test_set
    score, _ = metrics.inception_score(images[labels == 1], classifier)
    assert 1.0 <= score < 1.1


def test_frechet_distance_real_vs_real_and_vs_noise(test_set, classifier):
    images = test_set[0]
    assert metrics.frechet_distance(images, images, classifier) == pytest.approx(0.0, abs=1e-2)
    halves = metrics.frechet_distance(images[:5000], images[5000:], classifier)
    noise = torch.rand(5000, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    # two halves of the test set differ only by sampling (about 70 on these 128 features);
    # uniform noise is far away (about 3000)
    assert 0 < halves < metrics.frechet_distance(images[:5000], noise, classifier) / 20


def test_mode_coverage(test_set, classifier):
    images, labels = test_set
    real = metrics.mode_coverage(images, classifier)
    assert real["kl_to_uniform"] < 0.01 and real["smallest_share"] > 0.08
    ones = metrics.mode_coverage(images[labels == 1], classifier)
    assert ones["smallest_share"] == 0.0 and ones["kl_to_uniform"] > 2.0  # log 10 = 2.3


def test_evaluate_command_real_reference(tmp_path):
    out = tmp_path / "real.json"
    result = CliRunner().invoke(app, ["evaluate", "--real", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "real" in out.read_text() and "inception_score" in out.read_text()


def test_evaluate_needs_something_to_evaluate():
    result = CliRunner().invoke(app, ["evaluate"])
    assert result.exit_code == 2 and "give --checkpoint DIR, --real, or both" in result.output


@pytest.mark.skipif(
    not (data.data_directory(None) / "FashionMNIST" / "raw").is_dir(),
    reason="needs Fashion-MNIST in $QAAAN_DATA/FashionMNIST/raw",
)
def test_shipped_fashion_classifier_on_the_fashion_test_set():
    """92.7% when shipped (small CNNs reach 91-93% on Fashion-MNIST), and the real test set's
    IS 8.50: its classes are harder to tell apart than digits."""
    fashion = data.load("fashion-mnist", train=False)
    images, labels = fashion.batch(torch.arange(len(fashion))), fashion.labels.long()
    classifier = metrics.load_classifier("fashion-mnist")
    assert metrics.accuracy(classifier, images, labels) >= 0.92
    assert metrics.inception_score(images, classifier)[0] > 8.0
