# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Train a small QAAAN and look at its samples
#
# The quick preset of `qaaan train`, shortened to 1000 iterations so that it runs in about a minute
# and a half on two CPU cores: the 10,000 MNIST digits shipped with the package, a 100-node Chimera
# Boltzmann machine as the generator's latent distribution, sampled by persistent Gibbs chains.
# The command line does the same with
# `qaaan train --preset quick --iterations 1000 --out runs/tutorial`.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
from torchvision.utils import make_grid

from qaaan.generation import generated_images
from qaaan.loop import Trainer
from qaaan.metrics import inception_score, load_classifier, mode_coverage
from qaaan.plots import read_scalars
from qaaan.settings import PRESETS, TrainSettings

run = Path(tempfile.mkdtemp()) / "tutorial"
settings = TrainSettings(**{**PRESETS["quick"], "iterations": 1000, "out": str(run)})
print(f"prior {settings.prior} on {settings.topology}({settings.latent}),", settings.sampler)
result = Trainer(settings).run()

# %% [markdown]
# The run's folder holds the settings (`config.json`), a checkpoint that `--resume` continues
# from, sample grids and TensorBoard logs.

# %%
print(sorted(path.name for path in run.iterdir()))

# %% [markdown]
# ## Samples
#
# `generated_images` loads the checkpoint, draws latent spins from the trained Boltzmann
# machine, turns them into continuous inputs (paper Eq. 14-16) and runs the generator.

# %%
digits = generated_images(run, count=64, seed=0)
grid = make_grid(digits, nrow=8, normalize=True, value_range=(-1, 1))
plt.figure(figsize=(5, 5))
plt.imshow(grid.permute(1, 2, 0))
plt.axis("off")
plt.show()

# %% [markdown]
# ## Training curves
#
# The discriminator's and generator's losses, and the L1 metric of paper Eq. 13: how far the
# machine's correlations are from those of the discriminator's feature spins on real digits.

# %%
scalars = read_scalars(run)
figure, axes = plt.subplots(1, 2, figsize=(10, 3.3))
for name in ("loss_d", "loss_g"):
    axes[0].plot(*scalars[name], label=name)
axes[0].set(xlabel="iteration", title="losses")
axes[0].legend()
axes[1].plot(*scalars["l1"])
axes[1].set(xlabel="iteration", title="L1 (Eq. 13)")
plt.show()

# %% [markdown]
# ## Scores
#
# The inception score (paper Eq. 17) with the shipped MNIST classifier in place of Inception:
# 1 for images the classifier cannot tell apart, 10 for confident and evenly spread classes.
# After 1000 iterations it is near 7 (6.9 when this was written); the full quick preset (3000
# iterations) reaches about 8, the MNIST table's runs about 9 (see the Evaluation page of the docs).

# %%
classifier = load_classifier("mnist")
images = generated_images(run, count=2000, seed=1)
score, spread = inception_score(images, classifier)
coverage = mode_coverage(images, classifier)
print(f"IS {score:.2f} ± {spread:.2f}, smallest class share {coverage['smallest_share']:.3f}")
plt.bar(range(10), coverage["class_shares"])
plt.xlabel("digit")
plt.ylabel("share of generated images")
plt.show()
assert score > 5.0
