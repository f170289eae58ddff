"""Gray-box training on a device at an unknown temperature (paper section 4, Eq. 11-12).

The paper's argument: a real annealer samples at an effective inverse temperature nobody tells
us, with control errors, so the update must take the model moments from the device's own
samples (gray-box); moments computed for the model as written (white-box, beta = 1) are the
wrong ones for the device. The data and score are those of `qaaan.fit`: 6x6 stochastically
binarised MNIST as spins, the L1 metric of Eq. 13 against the exact data correlations.

Per seed, one machine on `topology` (36 nodes) is trained in each of two ways, with the same
data, learning rate and iterations:

- white-box: model moments from persistent Gibbs chains of the machine at beta = 1 (the
  distribution Eq. 3 defines; 10 sweeps per update). Its L1 on those samples is the
  *reference*: what training with exact samples reaches. Its L1 on the device's samples of the
  same machine is the *white-box* score: what a user gets who trains exactly and then samples
  on the device.
- gray-box: model moments from the device's samples (`mock-dwave` at `device_beta`, with the
  device's control and readout errors); scored on the same samples.

The device's temperature is never given to either update.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from matplotlib.figure import Figure
from tqdm import tqdm

from qaaan import samplers, topology
from qaaan.bm import BoltzmannMachine
from qaaan.fit import binarised_batch, exact_data_correlations, intensities_6x6, l1_metric
from qaaan.settings import GrayboxSettings

CURVES = ("reference", "gray-box", "white-box")
REFERENCE_SWEEPS = 10  # per call of the persistent Gibbs chains: well mixed at lr 0.03


def run_seed(config: GrayboxSettings, seed: int, data: tuple, progress: tqdm) -> dict:
    """The three L1 curves of one seed."""
    intensities, exact = data
    graph = topology.make(config.topology, 36)
    device_options = {
        "device": config.device,
        "device_beta": config.device_beta,
        "control_error": config.control_error,
    }
    curves: dict[str, list[float]] = {name: [] for name in CURVES}
    for training in ("white-box", "gray-box"):
        rng = torch.Generator().manual_seed(seed)  # both see the same data
        machine = BoltzmannMachine(graph, seed=seed)
        device = samplers.make("mock-dwave", seed=seed, **device_options)
        exact_sampler = (
            samplers.make("gibbs", seed=seed, sweeps=REFERENCE_SWEEPS)
            if training == "white-box"
            else None
        )
        for _ in range(config.iterations):
            data_spins = binarised_batch(intensities, config.batch_size, rng)
            device_spins = device.sample(machine, config.model_samples)
            curves[training].append(l1_metric(exact, device_spins))
            model_spins = device_spins
            if exact_sampler is not None:
                model_spins = exact_sampler.sample(machine, config.model_samples)
                curves["reference"].append(l1_metric(exact, model_spins))
            machine.update(data_spins, model_spins, config.lr)
            progress.update(1)
    return curves


def run(config: GrayboxSettings) -> dict:
    """Every seed's curves; writes graybox.json and graybox.png to `config.out`."""
    intensities = intensities_6x6(config.dataset, config.data_dir)
    data = (intensities, exact_data_correlations(intensities))
    Path(config.out).mkdir(parents=True, exist_ok=True)
    seeds = range(config.seed, config.seed + config.runs)
    progress = tqdm(total=2 * config.runs * config.iterations, desc="gray-box", unit="it")
    runs = [run_seed(config, seed, data, progress) for seed in seeds]
    progress.close()
    curves = {name: [run[name] for run in runs] for name in CURVES}
    summary = {name: final_l1(values, config.final_window) for name, values in curves.items()}
    out = Path(config.out)
    (out / "graybox.json").write_text(
        json.dumps({"config": config.model_dump(), "summary": summary, "curves": curves}, indent=1)
    )
    plot(curves, config, out / "graybox.png")
    return summary


def final_l1(runs: list[list[float]], window: int) -> dict[str, float]:
    """Mean and std over the seeds of each run's L1 averaged over its last `window` iterations."""
    finals = torch.tensor([sum(curve[-window:]) / len(curve[-window:]) for curve in runs])
    std = finals.std().item() if len(finals) > 1 else 0.0
    return {"mean": finals.mean().item(), "std": std}


def plot(curves: dict[str, list[list[float]]], config: GrayboxSettings, path: Path) -> None:
    """L1 against iterations, mean over the seeds with a band of one std."""
    figure = Figure(figsize=(6, 4))
    axis = figure.subplots()
    for name, runs in curves.items():
        values = torch.tensor(runs)
        mean = values.mean(dim=0)
        std = values.std(dim=0) if len(runs) > 1 else torch.zeros_like(mean)
        steps = torch.arange(len(mean))
        axis.plot(steps, mean, label=name)
        axis.fill_between(steps, mean - std, mean + std, alpha=0.25)
    axis.set(
        title=f"{config.device} at device_beta {config.device_beta:g}, {config.topology}(36)",
        xlabel="iteration",
        ylabel="L1 (Eq. 13)",
        yscale="log",
    )
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
