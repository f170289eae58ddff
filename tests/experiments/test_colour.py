"""The colour experiment (paper Fig. 9) on generated image folders and a tiny LMDB."""

import json

import torch
from typer.testing import CliRunner

from qaaan.cli import app


def _tiny_images(count: int, seed: int):
    import numpy as np
    from PIL import Image

    generator = np.random.default_rng(seed)
    return [
        Image.fromarray(generator.integers(0, 255, size=(72, 90, 3), dtype=np.uint8))
        for _ in range(count)
    ]


def test_colour_experiment_on_a_tiny_lmdb(tmp_path):
    import io

    import lmdb

    database = lmdb.open(str(tmp_path / "bedroom_train_lmdb"), map_size=2**26)
    with database.begin(write=True) as transaction:
        for index, image in enumerate(_tiny_images(16, 0)):
            encoded = io.BytesIO()
            image.save(encoded, format="WEBP")  # LSUN ships webp
            transaction.put(f"{index:040x}".encode(), encoded.getvalue())
    database.close()
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        ["experiment", "colour", "--data-dir", str(tmp_path), "--iterations", "2",
         "--batch-size", "8", "--out", str(out), "--device", "cpu"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    from PIL import Image

    grid = Image.open(out / "samples" / "iteration_000002.png")
    assert grid.mode == "RGB" and grid.size[0] > 64 * 8  # 8 columns of 64x64 colour images
    state = json.loads((out / "config.json").read_text())
    assert state["topology"] == "complete" and state["sampler"] == "gibbs"


def test_image_folder_takes_every_image_at_any_depth(tmp_path):
    from qaaan import data

    (tmp_path / "images" / "a" / "b").mkdir(parents=True)
    places = ["", "", "a", "a/b"]  # flat pictures, and ImageFolder's class subfolders
    for index, (image, place) in enumerate(zip(_tiny_images(4, 2), places, strict=True)):
        image.save(tmp_path / "images" / place / f"{index}.png")
    (tmp_path / "images" / "notes.txt").write_text("not an image")
    (tmp_path / "images" / "._0.png").write_bytes(b"macOS metadata, not an image")
    (tmp_path / "images" / ".cache").mkdir()
    _tiny_images(1, 3)[0].save(tmp_path / "images" / ".cache" / "thumbnail.png")
    (tmp_path / "images" / "a" / "b" / "loop").symlink_to(tmp_path / "images")
    images = data.load("folder", str(tmp_path / "images"))
    assert len(images) == 4
    assert images.batch(torch.arange(4)).shape == (4, 3, 64, 64)


def test_colour_experiment_on_a_tiny_image_folder(tmp_path):
    (tmp_path / "images").mkdir()
    for index, image in enumerate(_tiny_images(8, 1)):
        image.save(tmp_path / "images" / f"{index}.jpg")  # a flat folder of pictures
    result = CliRunner().invoke(
        app,
        ["experiment", "colour", "--dataset", "folder", "--data-dir", str(tmp_path / "images"),
         "--iterations", "1", "--batch-size", "4", "--out", str(tmp_path / "run"),
         "--device", "cpu"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "checkpoint.pt").exists()


def test_colour_experiment_without_the_lmdb(tmp_path):
    result = CliRunner().invoke(app, ["experiment", "colour", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "LSUN bedrooms not found" in result.output
