"""What this installation has and whether it works: `qaaan info` and `qaaan doctor`.

`info` lists facts (versions, the samplers and their backends, the torch devices, the data
folder); `doctor` checks what a run needs (the data, the shipped classifiers, a sampler against
exact enumeration, optional packages, QPU credentials) and says what to do about each problem.
Nothing here connects to a QPU or downloads anything.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import get_args

import torch

import qaaan
from qaaan import data, metrics, samplers, topology
from qaaan.bm import random_machine
from qaaan.samplers.exact import moment_deviation
from qaaan.samplers.qemcmc import OPTIONAL as QEMCMC_OPTIONAL

# distribution: (what it gives, how to install it)
OPTIONAL_PACKAGES = {
    "qiskit-aer": ("the aer backend of qemcmc", "pip install 'qaaan[aer]'"),
    "qiskit-ibm-runtime": ("the ibm backend of qemcmc (IBM Quantum)", "pip install 'qaaan[ibm]'"),
    "ray": ("qaaan sweep --engine ray", "pip install 'qaaan[ray]'"),
    "lmdb": ("LSUN bedrooms (paper Fig. 9)", "pip install 'qaaan[lsun]'"),
    "mkdocs-material": ("building the documentation site", "pip install 'qaaan[docs]'"),
}
SMOKE_TOLERANCE = 0.1  # moments of 4000 persistent-chain samples: errors of about 0.03


@dataclass(frozen=True)
class Check:
    """One finding: `ok` True (fine), False (a problem a run will hit) or None (an optional
    part that is absent), what was found, and what to do about it."""

    name: str
    ok: bool | None
    found: str
    advice: str = ""


def version_of(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def torch_devices() -> list[str]:
    """The devices torch sees: cpu, then each CUDA device by name."""
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    cuda = [f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(count)]
    return ["cpu", *cuda] if cuda else ["cpu (no CUDA device)"]


def sampler_backends(name: str) -> str:
    """The backends a sampler offers (its `backend` option), each marked if its package is
    missing; for the QPU, whether credentials are configured."""
    if name == "dwave":
        from qaaan.samplers.hardware import credentials_configured

        return "Leap: credentials " + ("configured" if credentials_configured() else "missing")
    model = samplers.options_model(name)
    field = model.model_fields.get("backend") if model is not None else None
    if field is None:
        return ""
    names = []
    for backend in get_args(field.annotation):
        missing = name == "qemcmc" and backend in QEMCMC_OPTIONAL
        missing = missing and importlib.util.find_spec(QEMCMC_OPTIONAL[backend][0]) is None
        names.append(f"{backend} (not installed)" if missing else backend)
    return ", ".join(names)


def info() -> dict[str, object]:
    """`qaaan info`: versions, samplers with their backends, torch devices, the data folder."""
    return {
        "qaaan": qaaan.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "devices": torch_devices(),
        "data directory": str(data.data_directory(None)),
        "samplers": {name: sampler_backends(name) for name in samplers.available()},
        "optional packages": {name: version_of(name) for name in OPTIONAL_PACKAGES},
    }


# ---- the checks of `qaaan doctor` ------------------------------------------------------------


def check_mnist(data_dir: str | None) -> Check:
    """The full MNIST files, present and readable (IDX files start with magic 2049 or 2051)."""
    raw = data.data_directory(data_dir) / "MNIST" / "raw"
    advice = (
        f"put {', '.join(data.MNIST_FILES)} in {raw}, or set QAAAN_DATA to a folder whose "
        "MNIST/raw holds them; --dataset mnist-10k needs none (10,000 digits ship inside qaaan)"
    )
    for name in data.MNIST_FILES:
        path = raw / name
        if not path.exists() and (raw / f"{name}.gz").exists():
            continue  # torchvision unpacks it on first use
        try:
            magic = int.from_bytes(path.read_bytes()[:4], "big")
        except OSError as error:
            return Check("MNIST", False, f"{path}: {error.strerror or error}", advice)
        if magic not in (2049, 2051):
            return Check("MNIST", False, f"{path} is not an IDX file", advice)
    return Check("MNIST", True, str(raw))


def check_bundled_data() -> Check:
    images = data.bundled_mnist_10k()
    return Check("bundled mnist-10k", len(images) == 10_000, f"{len(images)} images")


def check_classifiers() -> Check:
    for name in metrics.SHIPPED:
        metrics.load_classifier(name)
    return Check("evaluation classifiers", True, ", ".join(metrics.SHIPPED))


def check_sampler(name: str = "gibbs") -> Check:
    """A 2-second smoke test: the sampler's moments on a random 8-spin Chimera machine against
    exact enumeration."""
    machine = random_machine(topology.make("chimera", 8), seed=0, h_scale=0.5, J_scale=0.3)
    started = time.perf_counter()
    spins = samplers.make(name, seed=0).sample(machine, 4000)
    seconds = time.perf_counter() - started
    gap = moment_deviation(spins, machine)
    found = f"largest moment error {gap:.3f} (allowed {SMOKE_TOLERANCE}), {seconds:.1f} s"
    advice = "the sampler's kernels disagree with enumeration: reinstall qaaan and numba"
    return Check(f"sampler {name}", gap <= SMOKE_TOLERANCE, found, advice)


def check_optional(distribution: str) -> Check:
    gives, install = OPTIONAL_PACKAGES[distribution]
    found = version_of(distribution)
    if found is None:
        return Check(distribution, None, "not installed", f"for {gives}: {install}")
    return Check(distribution, True, found)


def check_dwave_credentials() -> Check:
    from qaaan.samplers.hardware import credentials_configured

    if credentials_configured():
        return Check("D-Wave credentials", True, "configured (not contacted)")
    where = "DWAVE_API_TOKEN" if "DWAVE_API_TOKEN" in os.environ else "none"
    advice = "only --sampler dwave needs them: set DWAVE_API_TOKEN or run `dwave config create`"
    return Check("D-Wave credentials", None, where, advice)


def checks(data_dir: str | None = None) -> list[Callable[[], Check]]:
    """The checks of `qaaan doctor`, each run on its own so that one failing does not hide
    the others."""
    return [
        lambda: check_mnist(data_dir),
        check_bundled_data,
        check_classifiers,
        check_sampler,
        *(lambda name=name: check_optional(name) for name in OPTIONAL_PACKAGES),
        check_dwave_credentials,
    ]


def run_checks(data_dir: str | None = None) -> list[Check]:
    found = []
    for check in checks(data_dir):
        try:
            found.append(check())
        except Exception as error:  # a check that breaks is itself the finding
            name = getattr(check, "__name__", "check").removeprefix("check_")
            found.append(Check(name, False, f"{type(error).__name__}: {error}", "reinstall qaaan"))
    return found


def has_problems(found: list[Check]) -> bool:
    return any(check.ok is False for check in found)
