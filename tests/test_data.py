"""Datasets and the resumable batch order."""

import os

import pytest
import torch
from typer.testing import CliRunner

from qaaan import ConfigError, data

runner = CliRunner()


def test_missing_mnist_offline_names_the_files(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(data.torchvision.datasets, "MNIST", offline)
    with pytest.raises(
        ConfigError, match=r"MNIST is not in .*/MNIST/raw and could not be downloaded"
    ):
        data.load("mnist", tmp_path)


def test_mnist_is_read_from_the_data_directory():
    if "QAAAN_DATA" not in os.environ:
        pytest.skip("QAAAN_DATA is not set (CI and .ci/run set it to the MNIST files)")
    mnist = data.load("mnist")
    assert len(mnist) == 60_000
    assert torch.equal(mnist.images[:10000], data.bundled_mnist_10k().images)


def test_batches_take_the_largest_seed_a_config_allows():
    images = data.bundled_mnist_10k()
    largest = [data.Batches(images, 16, seed=2**63 - 1).next() for _ in range(2)]
    assert largest[0].shape == (16, 1, 28, 28) and torch.equal(largest[0], largest[1])
    assert not torch.equal(largest[0], data.Batches(images, 16, seed=0).next())
