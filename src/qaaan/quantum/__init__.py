"""Gate-model pieces of the quantum latents, built with Qiskit: the evolution that proposes moves
of quantum-enhanced MCMC (`qaaan.quantum.evolution`) and the circuit Born machine
(`qaaan.quantum.born`)."""
