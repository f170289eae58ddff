"""The QPU path behind the Sampler interface, offline: the stack per graph, what reaches the
device, the statistics against exact enumeration, exact resume, the options, and `dwave`'s
credentials, solver and resilience wiring (on a mock 2000Q: no network)."""

import io
import logging

import dwave.system
import numpy as np
import pytest
import torch
from dwave.cloud.exceptions import SolverOfflineError
from dwave.system.temperatures import maximum_pseudolikelihood_temperature

from qaaan import BoltzmannMachine, ConfigError, samplers, topology
from qaaan.bm import correlation_matrix, random_machine, spin_means
from qaaan.loop import Trainer
from qaaan.samplers import placement
from qaaan.samplers.composites import DEVICES
from qaaan.samplers.hardware import DWave, MockDWave, mock_device
from qaaan.settings import TrainSettings
from tests.helpers import max_deviation, quantum_machine


def _record_device_calls(device, failures=0):
    """Wraps the device's sample: the test sees every BQM and parameters it gets; the first
    `failures` calls raise SolverOfflineError, as a cloud solver does when it is offline.

    Only num_reads reaches the mock (it hands every parameter to its substitute sampler, which
    takes no QPU parameters such as annealing_time)."""
    seen, original = [], device.sample

    def sample(bqm, **parameters):
        seen.append((bqm, parameters))
        if len(seen) <= failures:
            raise SolverOfflineError("solver is offline")
        return original(bqm, num_reads=parameters["num_reads"])

    device.sample = sample
    return seen


@pytest.fixture
def leap(monkeypatch):
    """DWaveSampler replaced by a mock 2000Q; the keyword arguments of each opening are kept."""
    openings = []
    device = mock_device("2000q", 0.0, 0, samplers.make("gibbs", seed=0, sweeps=20, burn_in=0))

    def open_solver(**config):
        openings.append(config)
        return device

    monkeypatch.setenv("DWAVE_API_TOKEN", "not-a-real-token")
    monkeypatch.setattr(dwave.system, "DWaveSampler", open_solver)
    return device, openings


@pytest.mark.parametrize("dead_fraction", [0.0, 0.01])
def test_chimera_latent_space_is_placed_one_to_one(dead_fraction):
    sampler = samplers.make(
        "mock-dwave", dead_fraction=dead_fraction, seed=0, substitute_options={"sweeps": 5}
    )
    bm = BoltzmannMachine(topology.chimera(100), seed=0)
    spins = sampler.sample(bm, 50)
    assert spins.shape == (50, 100)
    assert sampler.info["max_chain_length"] == 1 and sampler.info["qubits"] == 100
    assert sampler.info["chain_break_fraction"] == 0.0


def test_each_graph_gets_its_own_embedding_on_one_device():
    sampler = samplers.make("mock-dwave", seed=0, substitute_options={"sweeps": 5})
    sampler.sample(BoltzmannMachine(topology.complete(36)), 10)
    device = sampler.device
    assert sampler.info["max_chain_length"] == 10  # busclique's K36 on a perfect C16: 36/4 + 1
    sampler.sample(BoltzmannMachine(topology.bipartite(36)), 10)
    assert sampler.info["max_chain_length"] == 5  # 18 per side: ceil(18 / 4) cells
    assert len(sampler.embeddings) == 2 and sampler.device is device


def test_the_chain_strength_option_reaches_the_chains():
    bm = BoltzmannMachine(topology.complete(8), seed=0)
    breaks = {}
    for strength in (None, 0.1):
        sampler = samplers.make("mock-dwave", seed=0, chain_strength=strength, device_model=False)
        sampler.sample(bm, 500)
        breaks[strength] = sampler.info["chain_break_fraction"]
    assert breaks[0.1] > breaks[None] + 0.1
    too_strong = samplers.make("mock-dwave", seed=0, chain_strength=2.0)
    with pytest.raises(ConfigError, match="chain_strength = 2: this device holds chains at"):
        too_strong.sample(bm, 10)


def test_embeddings_are_computed_once_per_graph(monkeypatch):
    sampler = samplers.make("mock-dwave", seed=0, substitute_options={"sweeps": 2})
    calls = []
    original = placement.find_embedding
    monkeypatch.setattr(placement, "find_embedding", lambda *a: calls.append(1) or original(*a))
    bm = BoltzmannMachine(topology.complete(12), seed=0)
    for _ in range(3):
        sampler.sample(bm, 5)
        bm.set_parameters(bm.h.detach() + 0.1, bm.J.detach())  # parameters change, not the graph
    assert len(calls) == 1


def test_the_device_gets_chains_at_the_strongest_ferromagnet_and_fields_in_its_ranges():
    sampler = samplers.make("mock-dwave", seed=0, substitute_options={"sweeps": 2})
    seen = _record_device_calls(sampler.device)
    bm = random_machine(topology.complete(8), seed=0, h_scale=1.0, J_scale=0.3)
    bm.set_parameters(torch.cat([torch.tensor([5.0]), bm.h.detach()[1:]]), bm.J.detach())
    # h_0 = 5 is outside the 2000Q's h_range [-2, 2]: everything is divided by 2.5
    sampler.sample(bm, 5)
    assert sampler.info["scale"] == pytest.approx(2.5)
    embedded = seen[-1][0]
    embedding = sampler.embedding_for(bm)
    chain_edges = {
        frozenset((u, v)) for chain in embedding.values() for u in chain for v in chain if u != v
    }
    chain_couplings = [
        b for (u, v), b in embedded.quadratic.items() if frozenset((u, v)) in chain_edges
    ]
    problem_couplings = [
        b for (u, v), b in embedded.quadratic.items() if frozenset((u, v)) not in chain_edges
    ]
    assert chain_couplings and all(b == -1.0 for b in chain_couplings)
    assert max(abs(b) for b in problem_couplings) <= 0.3 / 2.5 + 1e-9
    assert max(abs(b) for b in embedded.linear.values()) <= 2.0 + 1e-9
    # h_0 = 5 in our sign is -5 in dimod's, spread over its chain, then scaled by 1 / 2.5
    assert sum(embedded.linear[q] for q in embedding[0]) == pytest.approx(-2.0)


def _deviation(spins, bm, beta):
    means, correlations = samplers.exact_moments(bm, beta)
    return max(
        (spin_means(spins).double() - means).abs().max().item(),
        (correlation_matrix(spins).double() - correlations).abs().max().item(),
    )


def test_mock_dwave_is_boltzmann_on_a_weakly_coupled_chimera_model():
    """Chain length 1 and a Gibbs substitute at beta = 1: the logical samples are Boltzmann at
    beta = 1, so the only error is sampling noise: 20,000 reads give a standard deviation of at
    most 0.007 per moment, and 0.03 is over 4 sigma for every one of the 55 moments."""
    bm = random_machine(topology.chimera(10), seed=1, h_scale=0.5, J_scale=0.1)
    sampler = samplers.make(
        "mock-dwave", dead_fraction=0.01, seed=0, substitute_options={"beta": 1.0},
        device_model=False,
    )  # fmt: skip
    assert _deviation(sampler.sample(bm, 20_000), bm, beta=1.0) < 0.03


def test_the_emulated_device_samples_at_its_own_temperature_whatever_was_asked():
    """The device model inside the mock: the substitute asked for beta = 1, the device samples
    at device_beta (no control or readout errors here, so the only error is sampling noise);
    by default at the 2000Q preset's beta, which D-Wave's pseudo-likelihood estimator finds."""
    bm = random_machine(topology.chimera(10), seed=1, h_scale=0.5, J_scale=0.1)
    ideal_but_hot = samplers.make(
        "mock-dwave", seed=0, device_beta=2.5, control_error=[0, 0], readout_error=0
    )
    assert _deviation(ideal_but_hot.sample(bm, 20_000), bm, beta=2.5) < 0.03
    assert ideal_but_hot.info["device_beta"] == 2.5
    # fields well above the 2000Q's control errors (sigma 0.02 and 0.015), which otherwise
    # make the device look hotter than it is (at h ~ 0.1, J ~ 0.05: beta 3.5 for 5)
    strong = random_machine(topology.chimera(10), seed=1, h_scale=0.5, J_scale=0.3)
    spins = samplers.make("mock-dwave", seed=0).sample(strong, 20_000)
    samples = (spins.numpy().astype(np.int8), list(range(strong.num_nodes)))
    temperature, _ = maximum_pseudolikelihood_temperature(bqm=strong.to_bqm(), sampleset=samples)
    assert 1 / temperature == pytest.approx(DEVICES["2000q"].device_beta, rel=0.10)


def test_a_frozen_out_device_samples_the_quantum_state_at_the_frozen_field():
    """s* = 0.45 on the 2000Q's schedule: Gamma = A/B = sqrt(2.468 * 1.248) / 2.902 (A halfway
    in log, B linearly between s = 0.4 and 0.5); against exact diagonalisation at that Gamma and
    device_beta 2, every <z_i> and <z_i z_j> within 0.03."""
    gamma = DEVICES["2000q"].schedule.transverse_field(0.45)
    assert gamma == pytest.approx((2.468 * 1.248) ** 0.5 / 2.902)
    frozen = quantum_machine(topology.chimera(8), gamma=gamma)
    classical = random_machine(topology.chimera(8), seed=3, h_scale=0.5, J_scale=0.6)
    sampler = samplers.make(
        "mock-dwave", seed=0, substitute="sqa", freeze_out=0.45, device_beta=2.0,
        control_error=[0, 0], readout_error=0, substitute_options={"trotter": 16, "sweeps": 200},
    )  # fmt: skip
    spins = sampler.sample(classical, 50_000)
    assert sampler.info["gamma"] == pytest.approx(gamma)
    assert sampler.substitute.options.trotter == 16  # the options given win over the default
    assert max_deviation(spins, frozen, beta=2.0) < 0.03
    assert max_deviation(spins, classical, beta=2.0) > 0.06


def test_a_frozen_out_device_gets_trotter_slices_enough_for_its_beta():
    """beta / P <= 0.15: 34 slices at the 2000Q's beta 5, 14 at beta 2 (sqa's default is 4)."""
    for device_beta, slices in [(None, 34), (2.0, 14)]:
        sampler = samplers.make(
            "mock-dwave", substitute="sqa", freeze_out=0.3, device_beta=device_beta
        )
        assert sampler.substitute.options.trotter == slices


@pytest.mark.parametrize(
    ("device", "qubits", "h_range"),
    [("2000q", 2048, [-2.0, 2.0]), ("advantage", 5640, [-4.0, 4.0]),
     ("advantage2", 4800, [-4.0, 4.0])],
)  # fmt: skip
def test_each_device_has_its_working_graph_and_ranges(device, qubits, h_range):
    sampler = samplers.make("mock-dwave", device=device, seed=0)
    assert sampler.target.number_of_nodes() == qubits
    assert sampler.device.properties["h_range"] == h_range
    spins = sampler.sample(BoltzmannMachine(topology.chimera(32), seed=0), 10)
    assert spins.shape == (10, 32)


def test_mock_dwave_with_chains_is_close_on_a_weakly_coupled_complete_model():
    """K8 needs chains of 3 qubits, coupled at -1, which break at beta = 1 (about 20% of them).

    A broken chain's majority vote dilutes the logical field: for a chain of 2 the magnetisation
    shrinks by cosh(h) / (cosh(h) + exp(-2 beta J_chain)), about 10% at h = 0.5. Hence the looser
    tolerance 0.1 here (and at beta = 2, where chains rarely break, 0.06).
    """
    bm = random_machine(topology.complete(8), seed=1, h_scale=0.5, J_scale=0.1)
    for beta, tolerance in [(1.0, 0.1), (2.0, 0.06)]:
        sampler = samplers.make(
            "mock-dwave", seed=0, substitute_options={"beta": beta}, device_model=False
        )
        spins = sampler.sample(bm, 20_000)
        assert sampler.info["chain_break_fraction"] > 0
        assert _deviation(spins, bm, beta) < tolerance


def test_mock_is_reproducible_with_a_seed():
    bm = random_machine(topology.complete(6), seed=0, h_scale=0.5, J_scale=0.2)
    runs = [
        samplers.make("mock-dwave", seed=3, substitute_options={"sweeps": 5}).sample(bm, 100)
        for _ in range(2)
    ]
    assert torch.equal(*runs)


def _through_a_checkpoint(state: dict) -> dict:
    """`state` saved and loaded as the trainer's checkpoints are."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize("graph", [topology.complete(8), topology.chimera(32)])
def test_a_resumed_sampler_draws_what_an_uninterrupted_one_draws(graph):
    """Embeddings, the generator of shuffles and coins, and the device's seeds are restored."""
    bm = random_machine(graph, seed=0, h_scale=0.5, J_scale=0.3)
    options = {"seed": 5, "dead_fraction": 0.01, "substitute_options": {"sweeps": 5}}
    straight = samplers.make("mock-dwave", **options)
    straight.sample(bm, 40)
    state = _through_a_checkpoint(straight.state_dict())
    expected = [straight.sample(bm, 40) for _ in range(2)]
    resumed = samplers.make("mock-dwave", **options)
    resumed.load_state_dict(state)
    assert all(torch.equal(resumed.sample(bm, 40), draws) for draws in expected)
    assert resumed.embeddings == straight.embeddings


def test_grouped_qpu_reads_come_back_in_iid_order():
    """The mock, like a QPU, groups identical reads; expanded in place they would sit in runs."""
    bm = random_machine(topology.chimera(10), seed=0, h_scale=0.1, J_scale=0.1)
    spins = samplers.make("mock-dwave", seed=0).sample(bm, 2000)
    equal_neighbours = (spins[1:] == spins[:-1]).all(dim=1).sum().item()
    assert equal_neighbours < 50  # about 2000 * sum(p^2), a few, for this near-uniform model


@pytest.mark.parametrize("sampler_class", [MockDWave, DWave])
def test_every_option_has_a_type_a_default_and_a_description(sampler_class):
    fields = sampler_class.Options.model_fields
    assert samplers.option_names(sampler_class.name) == list(fields)
    assert all(field.description for field in fields.values())
    assert {"seed", "auto_scale", "timeout", "retries", "backoff", "fallback"} <= set(fields)


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("mock-dwave", {"dead_fraction": 0.7}, "dead_fraction = 0.7: input should be less than"),
        ("mock-dwave", {"auto_scale": "no"}, "auto_scale = 'no': input should be a valid boolean"),
        ("mock-dwave", {"substitute": "steepest"}, "substitute = 'steepest': input should be"),
        ("mock-dwave", {"device": "4000q"}, "device = '4000q': input should be '2000q', "),
        ("mock-dwave", {"device_beta": 0}, "device_beta = 0: input should be greater than 0"),
        ("mock-dwave", {"control_error": [0.1]}, "control_error = [0.1]: list should have at"),
        ("mock-dwave", {"control_error": [0.1, -1]}, "control_error.1 = -1: input should be"),
        ("mock-dwave", {"readout_error": 0.5}, "readout_error = 0.5: input should be less than"),
        ("mock-dwave", {"freeze_out": 1.0}, "freeze_out = 1.0: input should be less than 1"),
        (
            "mock-dwave",
            {"device_model": False, "device_beta": 2.0, "readout_error": 0.1},
            "device_beta, readout_error given with device_model = false (an ideal device has",
        ),
        (
            "mock-dwave",
            {"freeze_out": 0.4},
            "freeze_out = 0.4 samples a transverse-field state; it needs substitute = 'sqa'",
        ),
        ("dwave", {"timeout": -1}, "sampler_options.timeout = -1: input should be greater than 0"),
        ("dwave", {"retries": 1.5}, "retries = 1.5: input should be a valid integer"),
        ("dwave", {"fallback_options": {"beta": 2.0}}, "fallback_options given without a fallback"),
        ("dwave", {"fallback": "gibs"}, "unknown sampler 'gibs'"),
        (
            "mock-dwave",
            {"substitute_options": {"sweeps": 0}},
            "sampler_options.substitute_options.sweeps = 0: input should be greater",
        ),
    ],
)
def test_bad_options_are_refused_in_one_line_when_the_sampler_is_made(name, options, message):
    with pytest.raises(ConfigError) as raised:
        samplers.make(name, **options)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_dwave_opens_no_solver_until_the_first_call_and_one_for_every_graph(leap):
    _, openings = leap
    sampler = samplers.make("dwave", seed=0, solver="Advantage_system4.1", annealing_time=20)
    assert openings == []
    seen = _record_device_calls(sampler.device)
    sampler.sample(BoltzmannMachine(topology.chimera(16), seed=0), 10)
    sampler.sample(BoltzmannMachine(topology.complete(8), seed=0), 10)
    assert openings == [{"solver": "Advantage_system4.1"}]
    assert [parameters for _, parameters in seen] == [{"num_reads": 10, "annealing_time": 20}] * 2


def test_a_dwave_token_goes_to_the_solver_and_never_into_the_state(leap, monkeypatch):
    _, openings = leap
    monkeypatch.delenv("DWAVE_API_TOKEN")
    sampler = samplers.make("dwave", token="secret-token", seed=0)
    sampler.sample(BoltzmannMachine(topology.chimera(16), seed=0), 5)
    assert openings == [{"token": "secret-token"}]
    assert "secret-token" not in repr(sampler.options) + repr(sampler.state_dict())


def test_dwave_without_credentials_says_how_to_configure(monkeypatch, tmp_path):
    monkeypatch.delenv("DWAVE_API_TOKEN", raising=False)
    empty_config = tmp_path / "dwave.conf"
    empty_config.write_text("")
    monkeypatch.setenv("DWAVE_CONFIG_FILE", str(empty_config))
    sampler = samplers.make("dwave")  # credentials are needed by the first call, not before
    with pytest.raises(ConfigError, match="no D-Wave credentials: set DWAVE_API_TOKEN or create"):
        sampler.sample(BoltzmannMachine(topology.chimera(16)), 1)


def test_dwave_connection_failures_are_config_errors(monkeypatch):
    def refuse(**config):
        raise OSError("connection refused\nlong traceback text")

    monkeypatch.setenv("DWAVE_API_TOKEN", "not-a-real-token")
    monkeypatch.setattr(dwave.system, "DWaveSampler", refuse)
    sampler = samplers.make("dwave")
    with pytest.raises(ConfigError, match=r"could not open D-Wave solver \(default\): connection"):
        sampler.sample(BoltzmannMachine(topology.chimera(16)), 1)


def test_dwave_retries_then_falls_back_on_the_logical_machine(leap, delays, caplog):
    device, _ = leap
    _record_device_calls(device, failures=99)
    sampler = samplers.make("dwave", retries=1, backoff=0.5, fallback="gibbs", seed=0)
    with caplog.at_level(logging.WARNING, logger="qaaan"):
        spins = sampler.sample(BoltzmannMachine(topology.chimera(16), seed=0), 10)
    assert spins.shape == (10, 16) and delays == [0.5]
    assert sampler.info["fallback"] == "gibbs" and sampler.info["qpu_failures"] == 2
    assert "the fallback sampler gibbs draws instead" in caplog.text


def test_qpu_time_and_failures_are_totalled_over_a_run_and_survive_resume(delays):
    sampler = samplers.make("mock-dwave", seed=0, retries=1)
    _record_device_calls(sampler.device, failures=1)
    bm = BoltzmannMachine(topology.chimera(16), seed=0)
    sampler.sample(bm, 10)
    once = sampler.info["qpu_access_seconds"]
    sampler.sample(bm, 10)
    assert sampler.info["qpu_access_seconds"] == pytest.approx(2 * once)
    resumed = samplers.make("mock-dwave", seed=0, retries=1)
    resumed.load_state_dict(_through_a_checkpoint(sampler.state_dict()))
    resumed.sample(bm, 10)
    assert resumed.info["qpu_access_seconds"] == pytest.approx(3 * once)
    assert resumed.info["qpu_failures"] == 1


def test_training_logs_the_qpu_access_time(tmp_path):
    config = TrainSettings(
        dataset="mnist-10k", latent=16, sampler="mock-dwave", bm_samples=32, width=4,
        batch_size=8, iterations=2, out=str(tmp_path / "run"),
    )  # fmt: skip
    result = Trainer(config).run()
    assert result["qpu_access_seconds"] > 0 and result["qpu_failures"] == 0
    # the checkpoint's total also counts the last grid's draw, made after the last step
    totals = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["prior"]["sampler"]
    assert totals["totals"]["qpu_access_seconds"] > result["qpu_access_seconds"]
