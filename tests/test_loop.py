"""The training loop of paper Fig. 3: one step, resume, grids, logs, bad input."""

import sys

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from qaaan import checkpoint
from qaaan.cli import app
from qaaan.loop import Trainer
from tests.helpers import tiny

runner = CliRunner()


def test_cli_width_and_no_refine_reach_the_run(tmp_path):
    arguments = ["train", "--dataset", "mnist-10k", "--iterations", "1", "--batch-size", "8",
                 "--bm-samples", "16", "--width", "1", "--no-refine",
                 "--out", str(tmp_path)]  # fmt: skip
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output  # width 1 is refused only with refine
    saved = torch.load(tmp_path / checkpoint.CHECKPOINT, weights_only=True)["config"]
    assert saved["width"] == 1 and saved["refine"] is False


def test_feature_spins_reach_the_machine(tmp_path):
    trainer = Trainer(tiny(tmp_path))
    before = {k: v.clone() for k, v in trainer.prior.bm.state_dict().items()}
    stats = trainer.step()
    after = trainer.prior.bm.state_dict()
    assert not torch.equal(before["h"], after["h"]) and not torch.equal(before["J"], after["J"])
    assert stats["max_change"] > 0 and stats["l1"] > 0


def _weights(trainer):
    nets = [trainer.generator.state_dict(), trainer.discriminator.state_dict()]
    tensors = [t for state in nets for t in state.values()]
    machine = trainer.prior.bm
    return tensors if machine is None else [*tensors, *machine.parameters()]


LEARNED_GAMMA = {"prior": "qbm", "learn_gamma": True, "latent": 8, "sampler": "exact-quantum"}
QEMCMC = {"latent": 6, "sampler": "qemcmc", "sampler_options": {"backend": "exact", "burn_in": 2}}


@pytest.mark.parametrize(
    ("prior", "ema"),
    [
        ("bm", 0.0),
        ("uniform", 0.0),
        ("bm", 0.9),
        ({"prior": "qbm"}, 0.0),
        (LEARNED_GAMMA, 0.0),
        (QEMCMC, 0.0),
        ({"prior": "bm", "precision": "bfloat16", "channels_last": True}, 0.9),
        ({"prior": "qcbm", "qubits": 3}, 0.9),
        (
            {"prior": "qcbm", "qubits": 2, "qcbm_gradient": "parameter-shift", "qcbm_loss": "kl"},
            0.0,
        ),
    ],
)
def test_resume_gives_the_same_weights_as_a_straight_run(tmp_path, prior, ema):
    choice = prior if isinstance(prior, dict) else {"prior": prior}
    _resume_matches_a_straight_run(tmp_path, ema=ema, **choice)


@pytest.mark.cuda
@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_training_and_resume_on_cuda(tmp_path, ema):
    """Two iterations run on the GPU, and a resumed run ends as a straight one, bit for bit
    (the trainer asks cuDNN for its deterministic algorithms)."""
    trainer = Trainer(tiny(tmp_path / "two", device="cuda", iterations=2, ema=ema))
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    trainer.run()
    assert trainer.iteration == 2
    assert all(t.device.type == "cuda" for t in _weights(trainer))
    assert all(torch.isfinite(t).all() for t in _weights(trainer))
    _resume_matches_a_straight_run(tmp_path, device="cuda", ema=ema)


def _resume_matches_a_straight_run(tmp_path, **choice):
    def trainer(folder, iterations, resume=False):
        settings = tiny(tmp_path / folder, **choice, iterations=iterations)
        return Trainer(settings.model_copy(update={"checkpoint_every": 3}), resume=resume)

    straight = trainer("a", 6)
    straight.run()
    trainer("b", 3).run()
    resumed = trainer("b", 6, resume=True)
    assert resumed.iteration == 3
    resumed.run()
    assert all(
        torch.equal(a, b) for a, b in zip(_weights(straight), _weights(resumed), strict=True)
    )
    if straight.average is not None:  # the weight average too, parameters and standing statistics
        averages = [straight.average.state_dict(), resumed.average.state_dict()]
        assert all(torch.equal(averages[0][k], averages[1][k]) for k in averages[0])


def test_compiled_nets_compute_the_eager_losses_and_gradients(tmp_path):
    runs = [Trainer(tiny(tmp_path / str(compiled), compile=compiled)) for compiled in (False, True)]
    eager, compiled = (trainer.step() for trainer in runs)
    assert runs[1].generator._compiled_call_impl is not None
    assert runs[0].generator._compiled_call_impl is None
    # the same arithmetic, fused differently: equal up to float32 rounding
    for loss in ("loss_d", "loss_g"):
        assert abs(eager[loss] - compiled[loss]) < 1e-5
    exact, fused = (_gradient(trainer.discriminator) for trainer in runs)
    assert (exact - fused).abs().max() <= 1e-3 * exact.abs().max()
    # G's first gradient is small and its batch norms' backward cancels most of it, so rounding
    # moves it by about 10% (eager on 1 and on 2 threads differ as much); its direction holds
    exact, fused = (_gradient(trainer.generator) for trainer in runs)
    assert torch.nn.functional.cosine_similarity(exact, fused, dim=0) > 0.98


def _gradient(net):
    return torch.cat([parameter.grad.flatten() for parameter in net.parameters()])


def test_a_quantum_machine_at_gamma_zero_trains_as_the_classical_one_bit_for_bit(tmp_path):
    runs = [
        Trainer(tiny(tmp_path / prior, prior=prior, gamma=0.0, sampler="gibbs"))
        for prior in ("bm", "qbm")
    ]
    for trainer in runs:
        trainer.run()
    classical, quantum = (_weights(trainer) for trainer in runs)
    assert len(quantum) == len(classical) + 1  # Gamma, which stayed 0
    assert all(torch.equal(a, b) for a, b in zip(classical, quantum[:-1], strict=True))
    assert runs[1].prior.bm.transverse_field == 0.0


def test_gamma_follows_its_schedule_and_learned_gamma_moves(tmp_path):
    scheduled = Trainer(tiny(tmp_path / "s", prior="qbm", gamma_schedule=[1.0, 0.0, 0.6]))
    seen = []
    for _ in range(4):  # progress 0, 1/3, 2/3, 1
        scheduled.step()
        seen.append(scheduled.prior.bm.transverse_field)
        scheduled.iteration += 1
    assert seen == pytest.approx([1.0, 1 / 3, 0.2, 0.6], abs=1e-6)
    learned = Trainer(tiny(tmp_path / "l", **LEARNED_GAMMA, bm_lr=0.05, gamma=0.5))
    stats = learned.step()
    assert learned.prior.bm.transverse_field != 0.5 and stats["gamma"] != 0.5
    assert np.isfinite(stats["log_likelihood"])


def test_train_writes_grids_logs_and_checkpoint(tmp_path):
    result = Trainer(tiny(tmp_path, iterations=4, grid_every=2)).run()
    run = tmp_path / "run"
    assert result["iterations"] == 4 and "beta_eff" in result
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "iteration_000002.png", "iteration_000004.png",
    ]  # fmt: skip
    assert any((run / "tensorboard").iterdir())
    assert checkpoint.load(run / checkpoint.CHECKPOINT)["iteration"] == 4


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--dataset", "cifar"], "dataset = 'cifar': input should be 'mnist', 'mnist-10k'"),
        (["--sampler", "gibs"], "unknown sampler 'gibs'"),
        (["--topology", "ring"], "topology = 'ring': input should be 'complete'"),
        (["--prior", "laplace"], "prior = 'laplace': input should be 'bm', 'qbm'"),
        (["--preset", "slow"], "preset = 'slow': input should be one of quick, mnist, colour"),
        (["--bm-lr", "-1"], "bm_lr = -1.0: input should be greater than 0"),
        (["--bm-lr", "nan"], "bm_lr = nan: input should be a finite number"),
        (["--bm-optimizer", "lbfgs"], "bm_optimizer = 'lbfgs': input should be 'sgd' or 'adam'"),
        (["--sampler-option", "sweeps=0"], "sampler_options.sweeps = 0: input should be greater"),
        (["--latent", "100", "--topology", "complete", "--sampler", "mock-dwave"],
         "complete graph with 100 nodes does not fit"),
        (["--batch-size", "20000", "--prior", "uniform"], "fewer than one batch of 20000"),
        (["--bm-reads", "sideways"], "bm_reads = 'sideways': input should be 'auto', 'broadcast'"),
        (["--width", "0"], "width = 0: input should be greater than or equal to 1"),
        (["--width", "1"], "width must be at least 2 with refine (it halves), got 1"),
        (["--ema", "1"], "ema = 1.0: input should be less than 1"),
        (["--ema", "-0.5"], "ema = -0.5: input should be greater than or equal to 0"),
        (["--prior", "qbm", "--gamma", "-1"], "gamma = -1.0: input should be greater than or"),
        (["--prior", "qbm", "--sampler", "gibbs"],
         "sampler = 'gibbs': the quantum machine at Gamma > 0 needs one of exact-quantum, sqa"),
        (["--prior", "qbm", "--learn-gamma"], "learn_gamma needs latent <= 12 (the exact"),
        (["--prior", "qbm", "--learn-gamma", "--latent", "8", "--gamma-schedule", "1,0"],
         "learn_gamma and gamma_schedule exclude each other"),
        (["--prior", "qbm", "--gamma-schedule", "1"], "gamma_schedule = [1.0]: list should have"),
        (["--prior", "qbm", "--gamma-schedule", "1,-2"],
         "gamma_schedule.1 = -2.0: input should be greater than or equal to 0"),
        (["--prior", "qcbm", "--latent", "24", "--qubits", "8"],
         "prior qcbm reads every qubit in two bases, so latent = 2 x qubits with at most 16 "
         "qubits; got latent 24 and qubits 8"),
        (["--prior", "qcbm", "--latent", "25"], "got latent 25 and qubits None"),
        (["--prior", "qcbm", "--qubits", "17"], "qubits = 17: input should be less than or equal"),
        (["--prior", "qcbm", "--qcbm-loss", "js"], "qcbm_loss = 'js': input should be 'mmd' or"),
        (["--prior", "qbm", "--latent", "16", "--sampler", "exact-quantum"],
         "exact-quantum diagonalises the 2^N x 2^N Hamiltonian, N <= 12; got N = 16"),
    ],
)  # fmt: skip
def test_bad_training_input_exits_2(tmp_path, arguments, message):
    base = ["train", "--dataset", "mnist-10k", "--iterations", "1", "--out", str(tmp_path / "r")]
    result = runner.invoke(app, [*base, *arguments])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_bad_values_that_reach_the_networks_or_the_disk(tmp_path):
    base = ["train", "--dataset", "mnist-10k", "--iterations", "1", "--prior", "uniform"]
    result = runner.invoke(app, [*base, "--batch-size", "1", "--out", str(tmp_path / "a")])
    assert (
        result.exit_code == 2
        and "batch_size = 1: input should be greater than or equal to 2" in result.output
    )
    blocked = tmp_path / "file"
    blocked.write_text("")
    result = runner.invoke(app, [*base, "--batch-size", "16", "--out", str(blocked / "run")])
    assert result.exit_code == 2 and result.output.startswith(f"error: cannot use '{blocked}")


def test_epochs_and_a_colour_image_folder(tmp_path):
    """--epochs sets the total from the data size; a folder of images trains the 64x64 nets."""
    from PIL import Image

    generator = np.random.default_rng(0)
    for label in ("a", "b"):
        (tmp_path / "images" / label).mkdir(parents=True)
        for index in range(12):
            pixels = generator.integers(0, 255, size=(80, 96, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "images" / label / f"{index}.png")
    config = tiny(
        tmp_path, dataset="folder", data_dir=str(tmp_path / "images"), iterations=1,
        epochs=2, batch_size=8, grid_every=1,
    )  # fmt: skip
    trainer = Trainer(config)
    assert trainer.total == 2 * (24 // 8)
    trainer.run()
    state = checkpoint.load(tmp_path / "run" / checkpoint.CHECKPOINT)
    assert state["iteration"] == 6 and state["data_position"] == [1, 3]
    images = np.asarray(Image.open(tmp_path / "run" / "samples" / "iteration_000006.png"))
    assert images.shape[2] == 3 and images.shape[0] > 64  # an 8-image grid of 64x64 colour


def test_a_quantum_backend_that_is_missing_stops_the_run_before_it_writes(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "qiskit_ibm_runtime", None)  # as if not installed
    out = tmp_path / "r"
    sampler = ["--sampler", "qemcmc", "--sampler-option", "backend=ibm"]
    base = ["train", "--dataset", "mnist-10k", "--iterations", "1", "--latent", "4"]
    result = runner.invoke(app, [*base, *sampler, "--out", str(out)])
    assert result.exit_code == 2
    expected = "error: backend 'ibm' needs the qiskit_ibm_runtime package: pip install 'qaaan[ibm]'"
    assert result.output.strip() == expected
    assert not out.exists()
