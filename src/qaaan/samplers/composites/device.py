"""What makes an emulated annealer behave like a real one (paper section 4: gray-box training).

A real QPU does not sample the distribution it was asked for: it samples at an unknown effective
temperature, with the programmed h and J perturbed on every call (integrated control errors),
from the quantum state where the dynamics freeze during the anneal, and reads some qubits
wrong. `DeviceModelComposite` adds these four effects around any dimod sampler; the emulated
QPU (`mock-dwave`) puts it between the mock device and the sampler that plays the device.

Per call, in this order:

1. control errors: every h_i and J_ij gains a Gaussian error of standard deviation
   ``control_error = (sigma_h, sigma_J)`` (in the device's units), drawn afresh each call;
2. temperature: the perturbed model is multiplied by ``device_beta``, so a child that samples
   exp(-E) at unit inverse temperature samples exp(-device_beta E);
3. freeze-out: with ``freeze_out = s*`` the child is asked for the quantum Boltzmann
   distribution of ``H = E - Gamma sum_i sigma^x_i`` with ``Gamma = A(s*) / B(s*)`` from the
   device's anneal schedule (D-Wave's H(s) = -A(s)/2 sum sigma^x + B(s)/2 H_problem, so at s*
   the state is exp(-beta B/2 (H_problem - (A/B) sum sigma^x)): its ``transverse_field`` is
   device_beta * Gamma; `sqa` and `exact-quantum` take one; `sqa` needs enough Trotter slices
   at high beta, `slices_for`);
4. readout: each returned spin is flipped with probability ``readout_error``.

With every effect off (device_beta 1, no errors, no freeze-out) the composite passes the problem
and the child's samples through untouched and draws no random numbers.

Units: the composite sees the problem as the device gets it. Inside the emulated QPU that is
after the model was shrunk into the device's h and J ranges (`RangeScaleComposite`), so
device_beta and Gamma are in the device's units, as on a real QPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import dimod
import numpy as np

from qaaan.errors import ConfigError
from qaaan.samplers.composites.layer import Layer
from qaaan.samplers.dimod_backed import sampleset_to_spins


@dataclass(frozen=True)
class Schedule:
    """A device's anneal schedule: A(s) and B(s) in GHz at points s (between them B linear,
    A linear in log)."""

    s: tuple[float, ...]
    A: tuple[float, ...]
    B: tuple[float, ...]

    def transverse_field(self, s: float) -> float:
        """Gamma(s) = A(s) / B(s): the transverse field in units of the problem's energy. A(s)
        falls about exponentially, so it is interpolated in log (A(1) = 0 read as 1e-12 GHz)."""
        log_A = np.log(np.maximum(self.A, 1e-12))
        return float(np.exp(np.interp(s, self.s, log_A)) / np.interp(s, self.s, self.B))


MAX_SLICE_BETA = 0.15  # beta / P above which sqa's Trotter error of a frozen state shows


def slices_for(beta: float) -> int:
    """The even number of Trotter slices P with beta / P <= MAX_SLICE_BETA: on complete(6) at
    beta 5 and Gamma 2.5, P = 4 misses the exact moments by 0.46, P = 32 by 0.03."""
    return 2 * math.ceil(beta / (2 * MAX_SLICE_BETA))


@dataclass(frozen=True)
class DeviceModel:
    """The four effects of one device; the defaults are an ideal device."""

    device_beta: float = 1.0
    control_error: tuple[float, float] = (0.0, 0.0)
    freeze_out: float | None = None
    readout_error: float = 0.0
    schedule: Schedule | None = None

    @property
    def ideal(self) -> bool:
        return (
            self.device_beta == 1.0
            and self.control_error == (0.0, 0.0)
            and self.freeze_out is None
            and self.readout_error == 0.0
        )

    def frozen_field(self) -> float | None:
        """Gamma = A(s*) / B(s*) in the problem's units; None without freeze-out."""
        if self.freeze_out is None:
            return None
        if self.schedule is None:
            raise ConfigError("freeze_out needs the device's anneal schedule")
        return self.schedule.transverse_field(self.freeze_out)


@dataclass(frozen=True)
class DevicePreset:
    """A D-Wave QPU as the emulation sees it: its working graph, ranges, the default magnitudes
    of the four effects and its anneal schedule. `sources` says where each figure comes from."""

    topology: tuple[str, int]  # dwave.graphs family and size
    h_range: tuple[float, float]
    j_range: tuple[float, float]
    device_beta: float
    control_error: tuple[float, float]
    readout_error: float
    schedule: Schedule
    sources: str


DOCS = "https://docs.dwavequantum.com/en/latest/quantum_research"
ICE_2X = (0.02, 0.015)  # the only published sigma(delta h), sigma(delta J): D-Wave 2X data

DEVICES = {
    "2000q": DevicePreset(
        topology=("chimera", 16),
        h_range=(-2.0, 2.0),
        j_range=(-1.0, 1.0),
        device_beta=5.0,
        control_error=ICE_2X,
        readout_error=5e-6,
        schedule=Schedule(  # DW_2000Q_6 (D-Wave doc 09-1216A-A), from a third-party copy
            s=(0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0),
            A=(9.966, 4.982, 3.696, 2.468, 1.248, 0.350, 0.043, 0.0),
            B=(0.063, 0.798, 1.476, 2.360, 3.444, 4.733, 6.234, 11.977),
        ),
        sources=(
            f"graph: {DOCS}/topologies.html (C16); ranges: the values commonly quoted for the "
            "2000Q (no D-Wave page found); device_beta: no 2000Q figure is published, so "
            f"Advantage_system4's measured 1 / 0.198 ({DOCS}/solver_properties_specific.html); "
            f"control_error: {DOCS}/errors.html (D-Wave 2X data, sigma(delta h) 0.025-0.01, "
            "sigma(delta J) 0.0095-0.0155); readout_error: 'readout fidelity greater than 99%' "
            "per read (errors.html) over 2048 qubits; schedule: DW_2000Q_6, unofficial copy "
            "(github.com/USCqserver/SVMC-TF, DW_2000Q_6_annealing_schedule.txt)"
        ),
    ),
    "advantage": DevicePreset(
        topology=("pegasus", 16),
        h_range=(-4.0, 4.0),
        j_range=(-1.0, 1.0),
        device_beta=1 / 0.198,
        control_error=ICE_2X,
        readout_error=0.001 / 5627,
        schedule=Schedule(  # Advantage_system4, D-Wave doc 09-1263A-C
            s=(0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0),
            A=(9.839, 2.330, 1.187, 0.507, 0.148, 0.0225, 0.0015, 0.0),
            B=(0.259, 0.980, 1.514, 2.164, 2.921, 3.801, 4.797, 8.477),
        ),
        sources=(
            f"Advantage_system4 in {DOCS}/solver_properties_specific.html: P16, single-qubit "
            "temperature 0.198 in units of h (device_beta = 1 / 0.198), single-qubit "
            "freeze-out 0.612, readout error rate <= 0.001 reading the full system of 5627 "
            "qubits, and its schedule sheet 09-1263A-C; ranges: "
            f"{DOCS}/solver_properties_all.html; "
            f"control_error: {DOCS}/errors.html (D-Wave 2X data; no per-device figure)"
        ),
    ),
    "advantage2": DevicePreset(
        topology=("zephyr", 12),
        h_range=(-4.0, 4.0),
        j_range=(-1.0, 1.0),
        device_beta=1 / 0.112,
        control_error=ICE_2X,
        readout_error=0.001 / 4577,
        schedule=Schedule(  # Advantage2_system1, D-Wave doc 09-1312A-N
            s=(0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0),
            A=(11.315, 3.284, 1.888, 0.964, 0.372, 0.089, 0.0117, 0.0),
            B=(0.558, 1.769, 2.622, 3.702, 5.041, 6.606, 8.359, 14.734),
        ),
        sources=(
            f"Advantage2_system1 in {DOCS}/solver_properties_specific.html: Z12, single-qubit "
            "temperature 0.112 in units of h (device_beta = 1 / 0.112), single-qubit "
            "freeze-out 0.684, readout error rate <= 0.001 reading the full system of 4577 "
            "qubits, and its schedule sheet 09-1312A-N; ranges: no Advantage2 figure is "
            "published, the Advantage's are assumed; control_error: as the Advantage"
        ),
    ),
}


class DeviceModelComposite(Layer):
    """Control errors, temperature, freeze-out and readout errors around `child_sampler`.

    `rng` draws the errors; info gains ``device_beta`` and, with freeze-out, ``gamma`` (the
    transverse field in problem units). Energies are those of the problem that was passed in.
    """

    def __init__(self, child_sampler: dimod.Sampler, model: DeviceModel, rng: np.random.Generator):
        super().__init__(child_sampler)
        self.model = model
        self.rng = rng
        if model.freeze_out is not None and "transverse_field" not in child_sampler.parameters:
            raise ConfigError(
                f"freeze_out = {model.freeze_out:g} samples a transverse-field machine; "
                f"{type(child_sampler).__name__} takes no transverse_field (use sqa or "
                "exact-quantum as the device)"
            )

    @property
    def parameters(self) -> dict[str, list]:
        parameters = super().parameters
        parameters.pop("transverse_field", None)  # set by freeze_out, not by the caller
        return parameters

    def sample(self, bqm: dimod.BinaryQuadraticModel, **parameters: Any) -> dimod.SampleSet:
        if self.model.ideal:
            return self.child.sample(bqm, **parameters)
        spin_bqm = bqm.spin if bqm.vartype is dimod.BINARY else bqm
        programmed = self.perturbed(spin_bqm)
        programmed.scale(self.model.device_beta)
        gamma = self.model.frozen_field()
        if gamma is not None:  # the programmed problem carries device_beta, so does the field
            parameters = {**parameters, "transverse_field": self.model.device_beta * gamma}
        sampleset = self.child.sample(programmed, **parameters)
        variables = list(spin_bqm.variables)
        samples = sampleset_to_spins(sampleset, variables)
        info = {**sampleset.info, "device_beta": self.model.device_beta}
        if gamma is not None:
            info["gamma"] = gamma
        answer = dimod.SampleSet.from_samples_bqm(
            (self.read_out(samples), variables), spin_bqm, info=info
        )
        return answer.change_vartype(bqm.vartype, inplace=False)

    def perturbed(self, bqm: dimod.BinaryQuadraticModel) -> dimod.BinaryQuadraticModel:
        """A copy of `bqm` with this call's control errors on every h and J."""
        sigma_h, sigma_J = self.model.control_error
        linear, (rows, cols, quadratic), offset, labels = bqm.to_numpy_vectors(return_labels=True)
        if sigma_h > 0:
            linear = linear + self.rng.normal(0.0, sigma_h, size=len(linear))
        if sigma_J > 0:
            quadratic = quadratic + self.rng.normal(0.0, sigma_J, size=len(quadratic))
        return dimod.BinaryQuadraticModel.from_numpy_vectors(
            linear, (rows, cols, quadratic), offset, dimod.SPIN, variable_order=labels
        )

    def read_out(self, samples: np.ndarray) -> np.ndarray:
        """`samples` with each spin flipped with probability readout_error."""
        if self.model.readout_error == 0:
            return samples
        flips = self.rng.random(samples.shape) < self.model.readout_error
        return np.where(flips, -samples, samples).astype(samples.dtype)
