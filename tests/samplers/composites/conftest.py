import dimod
import pytest
from dwave.system.testing import MockDWaveSampler


@pytest.fixture
def device() -> MockDWaveSampler:
    """A small mock QPU (C(2, 2, 4), 32 qubits, h in [-4, 4], J in [-1, 1]) with uniformly
    random reads, grouped by identical rows as a QPU answers."""
    return MockDWaveSampler(
        topology_type="chimera",
        topology_shape=[2, 2, 4],
        substitute_sampler=dimod.RandomSampler(),
        substitute_kwargs={"seed": 0},
        exact_solver_cutoff=0,
    )
