"""The topology experiment (paper section 6.2, Figs. 4, 6 and 7).

Fully visible Boltzmann machines of 36 nodes on the complete, symmetric bipartite (18 + 18) and
Chimera topologies learn reduced stochastically binarised MNIST: 28x28 images averaged down to
6x6 by area, each pixel then a Bernoulli draw of its intensity, as spins (Fig. 4). Each machine
is trained by the gray-box rule (Eq. 11-12) with model samples from one sampler, and scored by
the L1 metric (Eq. 13) against the exact data correlations (the Bernoulli pixels of one image
are independent, so the data's <z_i z_j> follows from the 6x6 intensities without sampling).
Classical MCMC uses the paper's lr 0.001 (Fig. 7), the annealer emulations lr 0.03 (Fig. 6);
each configuration runs with several seeds (seeds also pick the embeddings) and the figure
shows the mean and standard deviation over them.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import torch
from matplotlib.figure import Figure
from torch.nn import functional as F
from tqdm import tqdm

from qaaan import data, samplers, topology
from qaaan.bm import BoltzmannMachine, correlation_matrix
from qaaan.settings import TopologySettings

# the paper's learning rates; iterations so that the curves flatten and the default run of all
# three samplers x 3 topologies x 5 seeds stays near 8 minutes on 2 CPU cores
SAMPLER_SETTINGS = {
    "gibbs": {"options": {}, "lr": 0.001, "iterations": 600},
    "sqa": {"options": {}, "lr": 0.03, "iterations": 150},
    # the ideal device, as when the results in the docs were measured
    "mock-dwave": {
        "options": {"substitute": "sqa", "device_model": False},
        "lr": 0.03,
        "iterations": 150,
    },
}


def intensities_6x6(dataset: str, data_dir: str | None) -> torch.Tensor:
    """Pixel intensities in [0, 1] of every training image, averaged to 6x6: (N, 36)."""
    images = data.load(dataset, data_dir)
    grey = (images.batch(torch.arange(len(images))) + 1) / 2
    return F.interpolate(grey, size=(6, 6), mode="area").reshape(len(images), 36)


def exact_data_correlations(intensities: torch.Tensor) -> torch.Tensor:
    """<z_i z_j> of the binarised data: pixels of one image are independent Bernoulli draws."""
    means = 2 * intensities.double() - 1
    correlations = means.T @ means / len(means)
    correlations.fill_diagonal_(1.0)
    return correlations


def l1_metric(exact: torch.Tensor, model_spins: torch.Tensor) -> float:
    """Eq. 13 over all pairs i < j."""
    gap = (exact - correlation_matrix(model_spins.double())).abs()
    return gap.triu(diagonal=1).sum().item()


def run(config: TopologySettings) -> dict:
    """Trains every (sampler, topology, seed); writes the curves (CSV, JSON) and the figure."""
    graphs = {name: topology.make(name, 36) for name in config.topologies}
    intensities = intensities_6x6(config.dataset, config.data_dir)
    exact = exact_data_correlations(intensities)
    Path(config.out).mkdir(parents=True, exist_ok=True)  # an unusable --out fails before the work
    iterations = {
        name: config.iterations or SAMPLER_SETTINGS[name]["iterations"] for name in config.samplers
    }
    total = len(graphs) * config.runs * sum(iterations.values())
    progress = tqdm(total=total, desc="topology experiment", unit="it")
    curves: dict[str, dict[str, list[list[float]]]] = {}
    for sampler_name in config.samplers:
        settings = SAMPLER_SETTINGS[sampler_name]
        curves[sampler_name] = {}
        for graph_name, graph in graphs.items():
            curves[sampler_name][graph_name] = []
            for run_index in range(config.runs):
                seed = config.seed + run_index
                rng = torch.Generator().manual_seed(seed)
                machine = BoltzmannMachine(graph, seed=seed)
                sampler = samplers.make(sampler_name, seed=seed, **settings["options"])
                curve = []
                for _ in range(iterations[sampler_name]):
                    rows = torch.randint(len(intensities), (config.batch_size,), generator=rng)
                    pixels = intensities[rows]
                    data_spins = torch.where(
                        torch.rand(pixels.shape, generator=rng) < pixels, 1.0, -1.0
                    )
                    model_spins = sampler.sample(machine, config.model_samples)
                    curve.append(l1_metric(exact, model_spins))
                    machine.update(data_spins, model_spins, settings["lr"])
                    progress.update(1)
                curves[sampler_name][graph_name].append(curve)
    progress.close()
    return write_outputs(config, curves)


def write_outputs(config: TopologySettings, curves: dict) -> dict:
    out = Path(config.out)
    summary = {}
    with open(out / "topology.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sampler", "topology", "run", "iteration", "l1"])
        for sampler_name, by_graph in curves.items():
            for graph_name, runs in by_graph.items():
                for run_index, curve in enumerate(runs):
                    writer.writerows(
                        [sampler_name, graph_name, run_index, i, value]
                        for i, value in enumerate(curve)
                    )
                final = torch.tensor([curve[-1] for curve in runs])
                summary.setdefault(sampler_name, {})[graph_name] = {
                    "final_l1_mean": final.mean().item(),
                    "final_l1_std": final.std().item() if len(final) > 1 else 0.0,
                    "first_l1_mean": float(sum(curve[0] for curve in runs) / len(runs)),
                }
    (out / "topology.json").write_text(
        json.dumps({"config": config.model_dump(), "summary": summary, "curves": curves}, indent=1)
    )
    plot(curves, out / "topology.png")
    return summary


def plot(curves: dict, path: Path) -> None:
    """One panel per sampler: mean L1 against iterations per topology, error bars = std."""
    figure = Figure(figsize=(5 * len(curves), 4))
    axes = figure.subplots(1, len(curves), squeeze=False)
    for axis, (sampler_name, by_graph) in zip(axes[0], curves.items(), strict=True):
        for graph_name, runs in by_graph.items():
            values = torch.tensor(runs)
            mean, std = values.mean(dim=0), values.std(dim=0) if len(runs) > 1 else values[0] * 0
            steps = torch.arange(values.shape[1])
            every = max(1, values.shape[1] // 15)
            axis.plot(steps, mean, label=graph_name)
            axis.errorbar(steps[::every], mean[::every], yerr=std[::every], fmt="none", capsize=2)
        lr = SAMPLER_SETTINGS[sampler_name]["lr"]
        axis.set(title=f"{sampler_name} (lr {lr})", xlabel="iteration", ylabel="L1 (Eq. 13)")
        axis.set_yscale("log")
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
