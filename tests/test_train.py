"""Networks, reparameterisation, the training loop, checkpoints and the train/sample commands."""

import dataclasses
import os

import numpy as np
import pytest
import scipy.stats
import torch
from typer.testing import CliRunner

from qaaan import ConfigError, averaging, data, train
from qaaan.cli import app
from qaaan.nets import FEATURES, Discriminator, Generator
from qaaan.reparam import exponential_cdf, reparameterize

runner = CliRunner()


def tiny(tmp_path, **changes) -> train.TrainConfig:
    """A run small enough for a test: 8-channel nets, 16 images a batch, 64 model samples."""
    settings = {
        "dataset": "mnist-10k", "iterations": 4, "batch_size": 16, "width": 8,
        "bm_samples": 64, "out": str(tmp_path / "run"), "checkpoint_every": 2,
        "beta_eff_every": 2, "device": "cpu",
    }  # fmt: skip
    return train.TrainConfig(**{**settings, **changes})


@pytest.mark.parametrize("refine", [True, False])
@pytest.mark.parametrize(("variant", "shape"), [("grey28", (1, 28, 28)), ("colour64", (3, 64, 64))])
def test_nets_shapes_and_gradient_flow(variant, shape, refine):
    torch.manual_seed(0)
    generator, discriminator = Generator(variant, 100, 8, refine), Discriminator(variant, 8)
    images = generator(torch.rand(4, 100) * 2 - 1)
    assert images.shape == (4, *shape) and images.abs().max() <= 1
    logit, features = discriminator(images)
    assert logit.shape == (4,) and features.shape == (4, FEATURES)
    assert features.abs().max() <= 1  # the tanh feature layer rho_f
    (logit.sum() + features.sum()).backward()
    for net in (generator, discriminator):
        for name, parameter in net.named_parameters():
            assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize(("variant", "upsamplings"), [("grey28", 2), ("colour64", 4)])
def test_the_papers_generator_and_the_refined_one(variant, upsamplings):
    """refine=False: only the paper's transpose convolutions (stride 2, kernel 4) after the dense
    layer; refine=True adds one 3x3 stride-1 convolution per upsampling, and a 3x3 output one."""
    paper = [m for m in Generator(variant, 100, 8, refine=False).upsample if hasattr(m, "stride")]
    assert [(m.kernel_size, m.stride) for m in paper] == [((4, 4), (2, 2))] * upsamplings
    refined = [m for m in Generator(variant, 100, 8).upsample if hasattr(m, "stride")]
    assert [m.stride for m in refined] == [(2, 2), (1, 1)] * upsamplings + [(1, 1)]


def test_a_checkpoint_from_before_refine_loads_as_the_papers_generator(tmp_path):
    train.Trainer(tiny(tmp_path, iterations=1, refine=False)).run()
    path = tmp_path / "run" / train.CHECKPOINT
    state = torch.load(path, weights_only=True)
    del state["config"]["refine"]  # as written before the setting existed
    torch.save(state, path)
    assert train.generated_images(tmp_path / "run", 4, seed=0, device="cpu").shape == (4, 1, 28, 28)
    train.Trainer(tiny(tmp_path, iterations=2, refine=False), resume=True).run()
    with pytest.raises(ConfigError, match="--resume: refine is True but the run used False"):
        train.Trainer(tiny(tmp_path, iterations=3), resume=True)


def test_cli_width_and_no_refine_reach_the_run(tmp_path):
    arguments = ["train", "--dataset", "mnist-10k", "--iterations", "1", "--batch-size", "8",
                 "--bm-samples", "16", "--width", "1", "--no-refine",
                 "--out", str(tmp_path)]  # fmt: skip
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output  # width 1 is refused only with refine
    saved = torch.load(tmp_path / train.CHECKPOINT, weights_only=True)["config"]
    assert saved["width"] == 1 and saved["refine"] is False


def test_reparameterisation_follows_eq_14_to_16():
    generator = torch.Generator().manual_seed(0)
    up = reparameterize(torch.ones(20_000), alpha=4.0, generator=generator)
    statistic, p_value = scipy.stats.kstest(
        up.numpy(), lambda x: exponential_cdf(torch.as_tensor(x)).numpy()
    )
    assert p_value > 0.01, statistic
    assert up.min() > -1 and up.max() <= 1
    assert up.mean().item() == pytest.approx(
        1 - 1 / 4 + 2 * np.exp(-8) / (1 - np.exp(-8)), abs=0.01
    )
    down = reparameterize(-torch.ones(100), generator=generator)
    assert (down == -1).all()
    assert reparameterize(torch.ones(1000), alpha=50.0, generator=generator).min() > 0.8
    assert exponential_cdf(torch.tensor([-2.0, -1.0, 1.0, 3.0])).tolist() == [0.0, 0.0, 1.0, 1.0]


def test_feature_spins_reach_the_machine(tmp_path):
    trainer = train.Trainer(tiny(tmp_path))
    before = trainer.prior.bm.state_dict()
    stats = trainer.step()
    after = trainer.prior.bm.state_dict()
    assert not torch.equal(before["h"], after["h"]) and not torch.equal(before["J"], after["J"])
    assert stats["bm_max_change"] > 0 and stats["l1"] > 0


def _weights(trainer):
    nets = [trainer.generator.state_dict(), trainer.discriminator.state_dict()]
    tensors = [t for state in nets for t in state.values()]
    machine = trainer.prior.bm
    return tensors if machine is None else [*tensors, machine.h, machine.J]


@pytest.mark.parametrize(("prior", "ema"), [("bm", 0.0), ("uniform", 0.0), ("bm", 0.9)])
def test_resume_gives_the_same_weights_as_a_straight_run(tmp_path, prior, ema):
    def trainer(folder, iterations, resume=False):
        settings = tiny(tmp_path / folder, prior=prior, ema=ema, iterations=iterations)
        return train.Trainer(dataclasses.replace(settings, checkpoint_every=3), resume=resume)

    straight = trainer("a", 6)
    straight.run()
    trainer("b", 3).run()
    resumed = trainer("b", 6, resume=True)
    assert resumed.iteration == 3
    resumed.run()
    assert all(
        torch.equal(a, b) for a, b in zip(_weights(straight), _weights(resumed), strict=True)
    )
    if ema:  # the weight average too, parameters and standing statistics
        averages = [straight.average.state_dict(), resumed.average.state_dict()]
        assert all(torch.equal(averages[0][k], averages[1][k]) for k in averages[0])


def test_the_weight_average_follows_its_recursion_and_is_what_a_run_generates(tmp_path):
    """average <- d * average + (1 - d) * generator after each generator step; generated images
    come from the average with batch-norm statistics recomputed for its weights."""
    trainer = train.Trainer(tiny(tmp_path, ema=0.75, iterations=1))
    start = [p.clone() for p in trainer.average.parameters()]
    trainer.step()
    for averaged, before, now in zip(
        trainer.average.parameters(), start, trainer.generator.parameters(), strict=True
    ):
        torch.testing.assert_close(averaged, 0.75 * before + 0.25 * now)
    assert any(
        not torch.equal(a, b) for a, b in zip(trainer.average.parameters(), start, strict=True)
    )
    trainer.iteration = 1
    trainer.checkpoint()
    state = train.load_checkpoint(tmp_path / "run" / train.CHECKPOINT)
    generator, _ = train.build_nets(trainer.config, torch.device("cpu"))
    generator.load_state_dict(state["generator_average"])
    latent = trainer.prior.preview_latent(6, seed=5)
    with torch.no_grad():
        expected = generator.eval()(latent)
    images = train.generated_images(tmp_path / "run", 6, seed=5, device="cpu")
    torch.testing.assert_close(images, expected)
    generator.load_state_dict(state["generator"])
    with torch.no_grad():
        assert not torch.allclose(images, generator(latent), atol=1e-3)


def test_standing_statistics_are_the_batch_norms_statistics_over_all_the_latents():
    torch.manual_seed(0)
    generator = Generator("grey28", 100, 8)
    latent = torch.rand(averaging.STANDING_CHUNK * 4, 100) * 2 - 1
    first_norm = generator.project[1]
    with torch.no_grad():
        before_norm = generator.project[0](latent)
    averaging.standing_statistics(generator, latent)
    assert not generator.training and first_norm.momentum == 0.1
    torch.testing.assert_close(first_norm.running_mean, before_norm.mean(dim=0))
    chunks = before_norm.split(averaging.STANDING_CHUNK)
    variance = torch.stack([chunk.var(dim=0) for chunk in chunks]).mean(dim=0)
    torch.testing.assert_close(first_norm.running_var, variance)


def test_a_checkpoint_from_before_the_weight_average_generates_from_the_generator(tmp_path):
    train.Trainer(tiny(tmp_path, iterations=1)).run()
    path = tmp_path / "run" / train.CHECKPOINT
    state = torch.load(path, weights_only=True)
    del state["config"]["ema"], state["generator_average"]  # as written before the setting
    torch.save(state, path)
    assert train.load_checkpoint(path)["config"]["ema"] == 0.0
    assert train.generated_images(tmp_path / "run", 4, seed=0, device="cpu").shape == (4, 1, 28, 28)
    with pytest.raises(ConfigError, match=r"--resume: ema is 0\.999 but the run used 0\.0"):
        train.Trainer(tiny(tmp_path, iterations=2, ema=0.999), resume=True)


def test_a_killed_checkpoint_write_leaves_the_last_one_intact(tmp_path, monkeypatch):
    trainer = train.Trainer(tiny(tmp_path, iterations=2))
    trainer.run()
    path = tmp_path / "run" / train.CHECKPOINT
    good = path.read_bytes()

    def killed(state, target):
        with open(target, "wb") as handle:
            handle.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        trainer.checkpoint()
    assert path.read_bytes() == good
    assert train.load_checkpoint(path)["iteration"] == 2


def test_train_writes_grids_logs_and_checkpoint(tmp_path):
    result = train.Trainer(tiny(tmp_path, iterations=4, grid_every=2)).run()
    run = tmp_path / "run"
    assert result["iterations"] == 4 and "beta_eff" in result
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "iteration_000002.png", "iteration_000004.png",
    ]  # fmt: skip
    assert any((run / "tensorboard").iterdir())
    assert train.load_checkpoint(run / train.CHECKPOINT)["iteration"] == 4


def test_cli_train_then_sample(tmp_path):
    out = tmp_path / "cli"
    result = runner.invoke(
        app,
        ["train", "--dataset", "mnist-10k", "--iterations", "2", "--batch-size", "16",
         "--bm-samples", "64", "--out", str(out), "--device", "cpu"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["sample", "--checkpoint", str(out), "-n", "5", "--out", str(out / "x.npz")]
    )
    assert result.exit_code == 0, result.output
    images = np.load(out / "x.npz")["images"]
    assert images.shape == (5, 1, 28, 28) and np.abs(images).max() <= 1
    result = runner.invoke(
        app, ["sample", "--checkpoint", str(out), "-n", "8", "--out", str(out / "g.png")]
    )
    assert result.exit_code == 0 and (out / "g.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--dataset", "cifar"], "unknown dataset 'cifar'; allowed: mnist, mnist-10k"),
        (["--sampler", "gibs"], "unknown sampler 'gibs'"),
        (["--topology", "ring"], "unknown topology 'ring'"),
        (["--prior", "laplace"], "unknown prior 'laplace'; allowed: bm, uniform, normal"),
        (["--preset", "slow"], "unknown preset 'slow'; allowed: quick"),
        (["--bm-lr", "-1"], "bm_lr must be a finite number > 0, got -1.0"),
        (["--latent", "100", "--topology", "complete", "--sampler", "mock-dwave"],
         "complete graph with 100 nodes does not fit"),
        (["--batch-size", "20000", "--prior", "uniform"], "fewer than one batch of 20000"),
        (["--bm-reads", "sideways"], "unknown bm_reads 'sideways'; allowed: auto, broadcast"),
        (["--width", "0"], "width must be a positive integer, got 0"),
        (["--width", "1"], "width must be at least 2 with refine (it halves), got 1"),
        (["--ema", "1"], "ema must be a number in [0, 1), e.g. 0.999 (0: off), got 1.0"),
        (["--ema", "-0.5"], "ema must be a number in [0, 1), e.g. 0.999 (0: off), got -0.5"),
    ],
)  # fmt: skip
def test_bad_training_input_exits_2(tmp_path, arguments, message):
    base = ["train", "--dataset", "mnist-10k", "--iterations", "1", "--out", str(tmp_path / "r")]
    result = runner.invoke(app, [*base, *arguments])
    assert result.exit_code == 2, result.output
    assert message in result.output


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


def test_corrupt_and_foreign_checkpoints_are_refused(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / train.CHECKPOINT).write_bytes(b"not a checkpoint")
    result = runner.invoke(app, ["train", "--dataset", "mnist-10k", "--out", str(run), "--resume"])
    assert result.exit_code == 2 and "is corrupt or not a qaaan checkpoint" in result.output
    torch.save({"weights": torch.ones(2)}, run / train.CHECKPOINT)
    result = runner.invoke(app, ["sample", "--checkpoint", str(run)])
    assert result.exit_code == 2 and "is not a qaaan training checkpoint" in result.output


def test_resume_refuses_a_different_run(tmp_path):
    train.Trainer(tiny(tmp_path, iterations=1)).run()
    other = dataclasses.replace(tiny(tmp_path, iterations=2), prior="uniform")
    with pytest.raises(ConfigError, match="--resume: prior is 'uniform' but the run used 'bm'"):
        train.Trainer(other, resume=True)


def test_cli_resume_keeps_the_saved_settings(tmp_path):
    out = str(tmp_path / "run")
    base = ["train", "--dataset", "mnist-10k", "--batch-size", "16", "--bm-samples", "64",
            "--out", out, "--device", "cpu"]  # fmt: skip
    assert runner.invoke(app, [*base, "--iterations", "2"]).exit_code == 0
    # a new run into the same directory would overwrite it: refused
    result = runner.invoke(app, [*base, "--iterations", "4"])
    assert (
        result.exit_code == 2 and "already holds a run: continue it with --resume" in result.output
    )
    # resuming with only --out and --iterations uses the run's batch size and sample count
    result = runner.invoke(app, ["train", "--out", out, "--iterations", "3", "--resume"])
    assert result.exit_code == 0, result.output
    state = train.load_checkpoint(tmp_path / "run" / train.CHECKPOINT)
    assert state["iteration"] == 3 and state["config"]["bm_samples"] == 64
    result = runner.invoke(
        app, ["train", "--out", out, "--iterations", "4", "--resume", "--seed", "5"]
    )
    assert result.exit_code == 2 and "--resume: seed is 5 but the run used 0" in result.output


def test_bad_values_that_reach_the_networks_or_the_disk(tmp_path):
    base = ["train", "--dataset", "mnist-10k", "--iterations", "1", "--prior", "uniform"]
    result = runner.invoke(app, [*base, "--batch-size", "1", "--out", str(tmp_path / "a")])
    assert result.exit_code == 2 and "batch_size must be at least 2" in result.output
    blocked = tmp_path / "file"
    blocked.write_text("")
    result = runner.invoke(app, [*base, "--batch-size", "16", "--out", str(blocked / "run")])
    assert result.exit_code == 2 and result.output.startswith(f"error: cannot use '{blocked}")


def test_other_latent_sizes_train_and_sample(tmp_path):
    trainer = train.Trainer(tiny(tmp_path, latent=36, topology="bipartite", iterations=2))
    trainer.run()
    assert trainer.prior.bm.num_nodes == 36
    result = runner.invoke(
        app,
        [
            "sample",
            "--checkpoint",
            str(tmp_path / "run"),
            "-n",
            "100",
            "--out",
            str(tmp_path / "s.npz"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "s.npz")["images"].shape == (100, 1, 28, 28)  # more than bm_samples


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
    trainer = train.Trainer(config)
    assert trainer.total == 2 * (24 // 8)
    trainer.run()
    state = train.load_checkpoint(tmp_path / "run" / train.CHECKPOINT)
    assert state["iteration"] == 6 and state["data_position"] == [1, 3]
    images = np.asarray(Image.open(tmp_path / "run" / "samples" / "iteration_000006.png"))
    assert images.shape[2] == 3 and images.shape[0] > 64  # an 8-image grid of 64x64 colour


def test_batches_take_the_largest_seed_a_config_allows():
    images = data.bundled_mnist_10k()
    largest = [data.Batches(images, 16, seed=2**63 - 1).next() for _ in range(2)]
    assert largest[0].shape == (16, 1, 28, 28) and torch.equal(largest[0], largest[1])
    assert not torch.equal(largest[0], data.Batches(images, 16, seed=0).next())


def test_each_rank_samples_with_its_own_seed_even_at_the_largest_seed(tmp_path):
    settings = tiny(tmp_path, seed=2**63 - 1)
    draws = []
    for rank in (0, 1):
        prior = train.Prior(settings, torch.device("cpu"), torch.Generator(), rank=rank)
        draws.append(prior.sampler.sample(prior.bm, 64))
    assert draws[0].shape == (64, settings.latent) and not torch.equal(draws[0], draws[1])


@pytest.mark.parametrize(
    ("settings", "world_size", "split"),
    [
        ({"sampler": "gibbs"}, 2, True),  # auto: samplers that run here share the reads
        ({"sampler": "sqa"}, 4, True),
        ({"sampler": "mock-dwave"}, 2, False),  # auto: the QPU path is called once, by rank 0
        ({"sampler": "dwave"}, 2, False),
        ({"sampler": "gibbs", "bm_reads": "broadcast"}, 2, False),
        ({"sampler": "mock-dwave", "bm_reads": "split"}, 2, True),
        ({"sampler": "gibbs"}, 1, False),  # one process: nothing to share
        ({"prior": "uniform"}, 2, False),  # no machine
    ],
)
def test_reads_are_split_for_local_samplers_and_broadcast_for_the_qpu_path(
    settings, world_size, split
):
    assert train.reads_split(train.TrainConfig(**settings), world_size) is split


def test_split_reads_refuse_samples_the_processes_cannot_share():
    config = train.TrainConfig(bm_samples=1000, bm_reads="split")
    with pytest.raises(ConfigError, match=r"bm_samples \(1000\) divisible by the 3 processes"):
        train.reads_split(config, 3)
