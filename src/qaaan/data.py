"""Training images, as (C, H, W) tensors in [-1, 1], and a resumable batch order.

Datasets:

- ``mnist`` / ``fashion-mnist``: torchvision's MNIST / FashionMNIST in the data directory
  (``--data-dir``, else ``$QAAAN_DATA``, else ``~/.cache/qaaan``), downloaded by torchvision when
  absent (online only); offline and absent, a one-line error names the files and the place.
- ``mnist-10k``: the first 10,000 MNIST training images, shipped inside the package, so that
  the README's command runs on a fresh offline machine.
- ``folder``: every image in a folder and its subfolders, as 64x64 colour.
- ``lsun``: LSUN bedrooms as distributed (an lmdb directory), as 64x64 colour; needs ``lmdb``.

`Batches` draws batches in a seeded order, one permutation per epoch; its position (epoch,
index) is all a checkpoint needs to resume the same order.
"""

from __future__ import annotations

import io
import os
import socket
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image
from torch.utils.data import Dataset
from torchvision import transforms

from qaaan.errors import ConfigError
from qaaan.settings import DATASETS

GREY_DATASETS = ("mnist", "mnist-10k", "fashion-mnist")
DOWNLOAD_TIMEOUT = 30.0  # seconds without an answer before a download gives up
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def data_directory(data_dir: str | Path | None) -> Path:
    """`data_dir`, else $QAAAN_DATA, else ~/.cache/qaaan (XDG_CACHE_HOME respected)."""
    if data_dir:
        return Path(data_dir).expanduser()
    if os.environ.get("QAAAN_DATA"):
        return Path(os.environ["QAAAN_DATA"]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "qaaan"


class ImageTensor(Dataset):
    """Images held in memory as uint8 (N, C, H, W), with their labels; items in [-1, 1]."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        if images.ndim == 3:
            images = images[:, None]
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index):
        return self.images[index].float() / 127.5 - 1.0

    def batch(self, indices: torch.Tensor) -> torch.Tensor:
        return self.images[indices].float() / 127.5 - 1.0


def bundled_mnist_10k() -> ImageTensor:
    """The first 10,000 MNIST training images and labels shipped with qaaan."""
    with resources.as_file(resources.files("qaaan") / "assets" / "mnist10k.npz") as path:
        arrays = np.load(path)
        return ImageTensor(torch.from_numpy(arrays["images"]), torch.from_numpy(arrays["labels"]))


def _torchvision_mnist(dataset_class, name: str, root: Path, train: bool) -> ImageTensor:
    raw = root / name / "raw"
    present = all((raw / f).exists() for f in MNIST_FILES)
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)  # a silent network must not hang the run
    try:
        # with only the .gz files present torchvision's "download" just extracts them, offline
        data = dataset_class(root=str(root), train=train, download=not present)
    except Exception as error:  # torchvision's download failed: offline, or the files are bad
        raise ConfigError(
            f"{name} is not in {raw} and could not be downloaded ({type(error).__name__}); "
            f"put {', '.join(MNIST_FILES)} (or their .gz) there, or use --dataset mnist-10k"
        ) from None
    finally:
        socket.setdefaulttimeout(previous_timeout)
    return ImageTensor(data.data, data.targets)


def load(name: str, data_dir: str | Path | None = None, train: bool = True) -> Dataset:
    """The dataset called `name` (one of `DATASETS`)."""
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r}; allowed: {', '.join(DATASETS)}")
    root = data_directory(data_dir)
    if name == "mnist-10k":
        if not train:
            raise ConfigError("mnist-10k holds training images only")
        return bundled_mnist_10k()
    if name == "mnist":
        return _torchvision_mnist(torchvision.datasets.MNIST, "MNIST", root, train)
    if name == "fashion-mnist":
        return _torchvision_mnist(torchvision.datasets.FashionMNIST, "FashionMNIST", root, train)
    colour = transforms.Compose(
        [
            transforms.Resize(64),
            transforms.CenterCrop(64),
            transforms.ToTensor(),
            transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        ]
    )
    if name == "folder":
        if not root.is_dir():
            raise ConfigError(f"image folder {str(root)!r} does not exist")
        try:
            return _Images(_EveryImage(str(root), transform=colour))
        except FileNotFoundError:
            extensions = ", ".join(torchvision.datasets.folder.IMG_EXTENSIONS)
            raise ConfigError(
                f"no images in {str(root)!r} or its subfolders (looked for {extensions})"
            ) from None
    return LmdbImages(root / "bedroom_train_lmdb", colour)


class _EveryImage(torchvision.datasets.ImageFolder):
    """Every image under the root, at any depth, as one class (labels are not used): a flat
    folder of pictures works as well as ImageFolder's one subfolder per class."""

    def find_classes(self, directory: str) -> tuple[list[str], dict[str, int]]:
        return [""], {"": 0}

    @staticmethod
    def make_dataset(directory: str, *args, **kwargs) -> list[tuple[str, int]]:
        files = image_files(Path(directory))
        if not files:
            raise FileNotFoundError(directory)
        return [(path, 0) for path in files]


def image_files(root: Path) -> list[str]:
    """Image files under `root`, sorted. Hidden names (such as macOS's ``._photo.jpg``) are
    skipped; linked folders are followed, each real folder once (a link loop ends)."""
    extensions = torchvision.datasets.folder.IMG_EXTENSIONS
    seen, files = set(), []
    for folder, subfolders, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            subfolders.clear()
            continue
        seen.add(real)
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        images = [name for name in sorted(names) if name.lower().endswith(extensions)]
        files += [os.path.join(folder, name) for name in images if not name.startswith(".")]
    return files


class LmdbImages(Dataset):
    """Encoded images stored as the values of an lmdb database, as LSUN is distributed.

    (torchvision's LSUN reader would write a pickled key cache into the working directory;
    this one keeps the keys in memory.)
    """

    def __init__(self, path: Path, transform):
        try:
            import lmdb
        except ImportError:
            raise ConfigError("the lsun dataset needs lmdb: pip install 'qaaan[lsun]'") from None
        if not path.is_dir():
            raise ConfigError(f"LSUN bedrooms not found: expected the lmdb directory {str(path)!r}")
        try:
            self.env = lmdb.open(str(path), readonly=True, lock=False, readahead=False)
        except lmdb.Error as error:
            raise ConfigError(f"{str(path)!r} is not an lmdb database: {error}") from None
        with self.env.begin() as transaction:
            self.keys = [key for key, _ in transaction.cursor()]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index):
        with self.env.begin() as transaction:
            encoded = transaction.get(self.keys[index])
        try:
            return self.transform(Image.open(io.BytesIO(encoded)).convert("RGB"))
        except (OSError, Image.DecompressionBombError) as error:
            raise ConfigError(f"lmdb entry {self.keys[index]!r} is not an image: {error}") from None

    def batch(self, indices: torch.Tensor) -> torch.Tensor:
        return torch.stack([self[int(i)] for i in indices])


class _Images(Dataset):
    """A torchvision dataset of (image, label) pairs seen as images only."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index):
        try:
            return self.dataset[index][0]
        except (OSError, Image.DecompressionBombError) as error:  # unidentified, truncated, huge
            path = self.dataset.samples[index][0]
            raise ConfigError(f"image {path!r} cannot be read: {error}") from None

    def batch(self, indices: torch.Tensor) -> torch.Tensor:
        return torch.stack([self[int(i)] for i in indices])


@dataclass
class Batches:
    """Batches of `batch_size` images in a seeded order, one permutation per epoch.

    The last incomplete batch of an epoch is dropped (batch norm and the moments of the feature
    spins want full batches). ``epoch`` and ``index`` are the position to save and restore.
    """

    dataset: Dataset
    batch_size: int
    seed: int
    epoch: int = 0
    index: int = 0

    def __post_init__(self):
        if len(self.dataset) < self.batch_size:
            raise ConfigError(
                f"the dataset has {len(self.dataset)} images, fewer than one batch of "
                f"{self.batch_size}"
            )

    @property
    def per_epoch(self) -> int:
        return len(self.dataset) // self.batch_size

    def _order(self) -> torch.Tensor:
        """This epoch's permutation (kept until the epoch changes)."""
        cached = getattr(self, "_cached", None)
        if cached is None or cached[0] != self.epoch:
            generator = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch) % 2**64)
            self._cached = (self.epoch, torch.randperm(len(self.dataset), generator=generator))
        return self._cached[1]

    def next(self, share: slice = slice(None)) -> torch.Tensor:
        """The next batch, or only its rows `share` (a rank's part of a global batch)."""
        if self.index >= self.per_epoch:
            self.epoch, self.index = self.epoch + 1, 0
        start = self.index * self.batch_size
        indices = self._order()[start : start + self.batch_size][share]
        self.index += 1
        return self.dataset.batch(indices)
