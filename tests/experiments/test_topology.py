"""The topology experiment (paper Figs. 6-7)."""

import json

import torch
from typer.testing import CliRunner

from qaaan.cli import app
from qaaan.experiments import topology as experiment


def test_exact_data_correlations_match_sampled_binarisation():
    intensities = torch.rand(200, 36, generator=torch.Generator().manual_seed(0))
    exact = experiment.exact_data_correlations(intensities)
    draws = intensities.repeat(200, 1)
    spins = torch.where(
        torch.rand(draws.shape, generator=torch.Generator().manual_seed(1)) < draws, 1.0, -1.0
    )
    sampled = spins.T.double() @ spins.double() / len(spins)
    assert (exact - sampled).abs().max() < 0.02  # 40,000 draws: std about 0.005


def test_topology_experiment_learns_and_writes_its_figure(tmp_path):
    out = tmp_path / "topology"
    result = CliRunner().invoke(
        app,
        ["experiment", "topology", "--dataset", "mnist-10k", "--samplers", "gibbs,sqa",
         "--topologies", "complete,chimera", "--runs", "2", "--iterations", "15",
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "topology.png").stat().st_size > 10_000
    summary = json.loads((out / "topology.json").read_text())["summary"]
    # at lr 0.03 the annealer-trained machines learn within 15 iterations; the sparse Chimera
    # graph has couplings on its edges only, so it cannot fit all pairs as well as the complete
    complete, chimera = summary["sqa"]["complete"], summary["sqa"]["chimera"]
    assert complete["final_l1_mean"] < 0.25 * complete["first_l1_mean"]
    assert chimera["final_l1_mean"] < 0.75 * chimera["first_l1_mean"]
    assert complete["final_l1_mean"] < chimera["final_l1_mean"]
    lines = (out / "topology.csv").read_text().splitlines()
    assert len(lines) == 1 + 2 * 2 * 2 * 15


def test_topology_experiment_refuses_unknown_samplers(tmp_path):
    result = CliRunner().invoke(
        app, ["experiment", "topology", "--samplers", "exact", "--out", str(tmp_path)]
    )
    assert (
        result.exit_code == 2
        and "samplers.0 = 'exact': input should be 'gibbs', 'sqa' or 'mock-dwave'" in result.output
    )
