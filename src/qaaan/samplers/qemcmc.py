"""Quantum-enhanced Markov chain Monte Carlo (Layden et al., Nature 619, 282, 2023).

Persistent chains, as `gibbs`'s, of the classical machine's distribution P(z) ∝ exp(-beta E(z))
(Eq. 3). One step of every chain:

1. draw g uniformly from `mixing` and t from `time` (afresh each step, shared by the chains of
   the step: each chain still sees a proposal drawn independently of its state);
2. propose s' by evolving |s> under H' = (1 - g) a E + g sum_i X_i for time t and measuring in
   the z basis (`qaaan.quantum.evolution`: Qiskit's symmetric product formula, so Q(s'|s) =
   Q(s|s'));
3. accept s' with the Metropolis probability min(1, exp(-beta (E(s') - E(s)))).

The circuits run through a Qiskit Sampler primitive (`BaseSamplerV2`), chosen by `backend`:
``statevector`` (Qiskit's `StatevectorSampler`, the default), ``aer`` (qiskit-aer's SamplerV2),
``ibm`` (IBM Quantum through qiskit-ibm-runtime, with saved credentials or ``token``), or
``exact``: the same product formula applied to every chain at once in torch, far faster in
simulation and tested to give the primitive's distribution. The state vector has 2^N entries,
so simulated backends need N <= `MAX_QUBITS`.
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any, Literal

import numpy as np
import torch
from pydantic import Field, SecretStr, field_validator

from qaaan.bm import BoltzmannMachine
from qaaan.errors import ConfigError, first_line
from qaaan.quantum import evolution
from qaaan.samplers.base import TorchDimodSampler
from qaaan.samplers.options import Beta, SamplerOptions
from qaaan.settings import MAX_QUBITS, Seed

Backend = Literal["statevector", "aer", "ibm", "exact"]
OPTIONAL = {  # backend: (module, backend, how to install it)
    "aer": ("qiskit_aer", "aer", "pip install 'qaaan[aer]'"),
    "ibm": ("qiskit_ibm_runtime", "ibm", "pip install 'qaaan[ibm]'"),
}
Interval = Annotated[list[float], Field(min_length=2, max_length=2)]  # [low, high]


class QuantumEnhancedMCMC(TorchDimodSampler):
    """Metropolis chains whose proposals are measurements of a quantum evolution."""

    name = "qemcmc"

    class Options(SamplerOptions):
        beta: Beta = Field(1.0, description="inverse temperature of Eq. 3")
        steps: int = Field(1, ge=1, description="Metropolis steps of every chain per call")
        burn_in: int = Field(100, ge=0, description="steps of fresh chains before their first use")
        mixing: Interval = Field(
            [0.25, 0.6], description="range of g, the transverse weight of H' (paper: 0.25-0.6)"
        )
        time: Interval = Field(
            [2.0, 20.0], description="range of the evolution time t (paper: 2-20)"
        )
        time_step: float = Field(
            0.8, gt=0, allow_inf_nan=False, description="largest product-formula step"
        )
        backend: Backend = Field("statevector", description="statevector, aer, ibm or exact")
        ibm_backend: str | None = Field(None, description="ibm: device name (None: least busy)")
        token: SecretStr | None = Field(None, description="ibm: API token (None: saved account)")
        seed: Seed | None = Field(None, description="seed of the chains (None: random)")

        @field_validator("mixing", "time")
        @classmethod
        def _interval(cls, bounds: list[float], info: Any) -> list[float]:
            low, high = bounds
            top = 1.0 if info.field_name == "mixing" else float("inf")
            if not 0 <= low <= high <= top:
                raise ValueError(f"must be (low, high) with 0 <= low <= high <= {top:g}")
            return bounds

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.numpy_rng = np.random.default_rng(self.options.seed)
        self.spins: torch.Tensor | None = None  # (chains, N), the chains' current states
        self._primitive = None  # built on first use (an IBM backend connects then)
        if self.options.backend in OPTIONAL:
            _optional(*OPTIONAL[self.options.backend])  # a missing package, before any work

    def draw(self, bm: BoltzmannMachine, num_reads: int) -> torch.Tensor:
        if self.options.backend != "ibm" and bm.num_nodes > MAX_QUBITS:
            raise ConfigError(
                f"qemcmc simulates 2^N amplitudes, N <= {MAX_QUBITS}; got N = {bm.num_nodes} "
                "(backend ibm runs larger machines on a QPU)"
            )
        if self.spins is None or self.spins.shape != (num_reads, bm.num_nodes):
            signs = self.numpy_rng.integers(0, 2, (num_reads, bm.num_nodes)) * 2 - 1
            self.spins = torch.as_tensor(signs, dtype=torch.float32, device=bm.device)
            self._run(bm, self.options.burn_in)
        self.spins = self.spins.to(bm.device)
        acceptance = self._run(bm, self.options.steps)
        self.info = {"steps": self.options.steps, "acceptance": acceptance}
        return self.spins.clone()

    def _run(self, bm: BoltzmannMachine, steps: int) -> float:
        """`steps` Metropolis steps of every chain; the share of proposals accepted."""
        accepted = 0.0
        for _ in range(steps):
            mixing = self.numpy_rng.uniform(*self.options.mixing)
            time = self.numpy_rng.uniform(*self.options.time)
            proposed = self._propose(bm, mixing, time)
            gap = bm.energy(proposed).double() - bm.energy(self.spins).double()
            uniforms = torch.as_tensor(self.numpy_rng.random(len(gap)), device=gap.device)
            accept = uniforms < torch.exp(-self.options.beta * gap).clamp(max=1.0)
            self.spins = torch.where(accept[:, None], proposed, self.spins)
            accepted += accept.double().mean().item()
        return accepted / steps if steps else 0.0

    def _propose(self, bm: BoltzmannMachine, mixing: float, time: float) -> torch.Tensor:
        """One proposal s' per chain: the z-basis measurement of U|s>."""
        states, chain_state = torch.unique(self.spins, dim=0, return_inverse=True)
        if self.options.backend == "exact":
            return self._propose_exactly(bm, mixing, time, states, chain_state)
        circuit = evolution.evolution_circuit(bm, mixing, time, self.options.time_step)
        shots = torch.bincount(chain_state, minlength=len(states)).tolist()
        pubs = [
            (evolution.proposal_circuit(circuit, state), None, count)
            for state, count in zip(states.cpu(), shots, strict=True)
        ]
        results = self._run_primitive(pubs)
        proposed = torch.empty_like(self.spins)
        for index, result in enumerate(results):
            bits = result.data.meas.to_bool_array(order="little")  # column i: qubit i
            spins = 1.0 - 2.0 * torch.as_tensor(bits, dtype=torch.float32, device=bm.device)
            proposed[chain_state == index] = spins
        return proposed

    def _propose_exactly(self, bm, mixing, time, states, chain_state) -> torch.Tensor:
        """The proposal of every chain from the product formula's columns, in torch."""
        energies = evolution.basis_energies(bm)
        scale = (1.0 - mixing) * evolution.normalisation(bm)
        columns = evolution.evolve(
            energies, evolution.basis_index(states), mixing, scale, time, self.options.time_step
        )
        probabilities = columns.abs().square().T[chain_state]  # (chains, 2^N)
        cumulative = probabilities.cumsum(dim=1)
        uniforms = torch.as_tensor(
            self.numpy_rng.random(len(chain_state)), device=bm.device, dtype=torch.float64
        )
        targets = (uniforms * cumulative[:, -1])[:, None]
        index = torch.searchsorted(cumulative, targets).clamp(max=len(energies) - 1).flatten()
        return evolution.basis_spins(bm.num_nodes, bm.device)[index].float()

    def _run_primitive(self, pubs: list) -> Any:
        """The circuits run by the chosen Sampler primitive (seeded from the chains' rng where
        the primitive takes a seed)."""
        if self.options.backend == "statevector":
            from qiskit.primitives import StatevectorSampler

            return StatevectorSampler(seed=self.numpy_rng).run(pubs).result()
        sampler, transpile = self._primitive or self._connect()
        if self.options.backend == "aer":
            sampler.options.run_options = {"seed_simulator": int(self.numpy_rng.integers(2**31))}
        return sampler.run([(transpile(c), p, s) for c, p, s in pubs]).result()

    def _connect(self) -> tuple[Any, Any]:
        """The aer or IBM Sampler primitive and the pass manager that maps circuits onto it."""
        from qiskit.transpiler import generate_preset_pass_manager

        if self.options.backend == "aer":
            aer = _optional(*OPTIONAL["aer"])
            primitives = importlib.import_module("qiskit_aer.primitives")
            backend, sampler = aer.AerSimulator(), primitives.SamplerV2()
        else:
            runtime = _optional(*OPTIONAL["ibm"])
            backend = self._ibm_backend(runtime)
            sampler = runtime.SamplerV2(mode=backend)
        passes = generate_preset_pass_manager(optimization_level=1, backend=backend)
        self._primitive = (sampler, passes.run)
        return self._primitive

    def _ibm_backend(self, runtime: Any) -> Any:
        token = self.options.token
        account = {"token": token.get_secret_value()} if token is not None else {}
        try:
            service = runtime.QiskitRuntimeService(**account)
            name = self.options.ibm_backend
            return service.backend(name) if name else service.least_busy(operational=True)
        except Exception as error:  # the service's own errors name what is missing
            raise ConfigError(
                f"backend 'ibm': no IBM Quantum access ({first_line(error)}); save an account "
                "with QiskitRuntimeService.save_account(...) or give the token option"
            ) from None

    def fork(self, seed: int) -> QuantumEnhancedMCMC:
        fork = super().fork(seed)
        fork._primitive = self._primitive  # shares the connection
        return fork

    def state_dict(self) -> dict[str, Any]:
        spins = None if self.spins is None else self.spins.cpu()
        return {
            **super().state_dict(),
            "numpy_rng": self.numpy_rng.bit_generator.state,
            "spins": spins,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.numpy_rng.bit_generator.state = state["numpy_rng"]
        self.spins = state["spins"]


def _optional(module: str, backend: str, install: str) -> Any:
    """An optional package's module, or one line naming what to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"backend {backend!r} needs the {module.split('.')[0]} package: {install}"
        ) from None
