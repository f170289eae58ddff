"""`qaaan info` and `qaaan doctor`: what an installation has, and its problems with advice."""

import torch
from typer.testing import CliRunner

from qaaan import data, doctor
from qaaan.cli import app

runner = CliRunner()


def test_info_lists_every_sampler_with_its_backends_and_the_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("QAAAN_DATA", str(tmp_path))
    facts = doctor.info()
    assert facts["data directory"] == str(tmp_path)
    assert set(facts["samplers"]) >= {"gibbs", "sqa", "qemcmc", "mock-dwave", "dwave"}
    assert facts["samplers"]["gibbs"] == "auto, numba, torch"
    assert "statevector" in facts["samplers"]["qemcmc"]
    assert facts["samplers"]["dwave"].startswith("Leap: credentials ")
    assert facts["devices"][0].startswith("cpu")
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0 and "exact-quantum" in result.output


def test_doctor_finds_missing_and_corrupt_mnist_and_says_what_to_do(tmp_path):
    missing = doctor.check_mnist(str(tmp_path))
    assert missing.ok is False and "mnist-10k needs none" in missing.advice
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in data.MNIST_FILES:
        (raw / name).write_bytes((2051).to_bytes(4, "big") + bytes(12))
    assert doctor.check_mnist(str(tmp_path)).ok is True
    (raw / data.MNIST_FILES[0]).write_text("<html>a login page</html>")
    corrupt = doctor.check_mnist(str(tmp_path))
    assert corrupt.ok is False and "is not an IDX file" in corrupt.found


def test_doctor_passes_the_sampler_against_enumeration_and_fails_a_broken_one(monkeypatch):
    assert doctor.check_sampler("gibbs").ok is True
    assert doctor.check_sampler("sqa").ok is True
    # a sampler whose spins are all +1 is far from the machine's distribution
    monkeypatch.setattr(doctor.samplers, "make", lambda name, seed: AllUp())
    assert doctor.check_sampler("gibbs").ok is False


class AllUp:
    def sample(self, machine, count):
        return torch.ones(count, machine.num_nodes)


def test_doctor_exits_1_on_a_problem_and_keeps_checking_after_a_broken_check(monkeypatch, tmp_path):
    result = runner.invoke(app, ["doctor", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "problem" in result.output and "sampler gibbs" in result.output

    def broken():
        raise RuntimeError("no classifier")

    monkeypatch.setattr(doctor, "check_classifiers", broken)
    found = doctor.run_checks(str(tmp_path))
    assert [check.name for check in found if check.ok is False] == ["MNIST", "broken"]
    assert any(check.name == "sampler gibbs" and check.ok for check in found)
