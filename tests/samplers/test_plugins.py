"""Samplers from other packages: the entry-point group `qaaan.samplers`."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

from qaaan import ConfigError, samplers, topology
from qaaan.bm import random_machine

PLUGIN = '''
    import torch
    from pydantic import Field

    from qaaan.samplers import Sampler
    from qaaan.samplers.options import SamplerOptions


    class AllUp(Sampler):
        """Every spin +1 (or -1): a sampler anyone can check by eye."""

        name = "all-up"

        class Options(SamplerOptions):
            sign: int = Field(1, ge=-1, le=1)

        def sample(self, bm, num_reads):
            return torch.full((num_reads, bm.num_nodes), float(self.options.sign))
'''


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """A small package with a `qaaan.samplers` entry point, pip-installed into a folder."""
    source = tmp_path / "source"
    (source / "qaaan_allup").mkdir(parents=True)
    (source / "qaaan_allup" / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    (source / "pyproject.toml").write_text(
        textwrap.dedent("""
        [build-system]
        requires = ["setuptools"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "qaaan-allup"
        version = "0.1"
        [project.entry-points."qaaan.samplers"]
        all-up = "qaaan_allup:AllUp"
    """)
    )
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--target", str(target), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.syspath_prepend(str(target))
    monkeypatch.setattr(samplers, "_plugins_loaded", False)
    monkeypatch.setattr(samplers, "_REGISTRY", dict(samplers._REGISTRY))
    return target


def test_an_installed_plugin_is_a_sampler_by_name(installed_plugin):
    assert "all-up" in samplers.available()
    bm = random_machine(topology.chimera(8), seed=0, h_scale=0.1, J_scale=0.1)
    assert torch.equal(samplers.make("all-up").sample(bm, 3), torch.ones(3, 8))
    assert torch.equal(samplers.make("all-up", sign=-1).sample(bm, 2), -torch.ones(2, 8))
    with pytest.raises(ConfigError, match=r"sampler_options\.sign = 5: input should be"):
        samplers.check("all-up", {"sign": 5})
