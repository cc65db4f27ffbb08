"""Exact quantum dynamics of an N-level system coupled to a quantum spin I.

This is the reference the mixed quantum-classical models are compared with. The
classical spin ``n ∈ S²`` (bracket ``{f, g} = (1/S) n·(∇f × ∇g)``) is quantized as a
spin of size ``I``::

    n_a  →  Ĵ_a / I            (Ĵ the spin-I matrices, [Ĵx, Ĵy] = i Ĵz, dimension 2I+1)
    S    =  ħ I                 (so that {·,·} ↔ (1/iħ)[·,·] on the linear functions n_a)

A hybrid Hamiltonian whose entries are at most linear in ``n``,
``H(n) = A0 + Σ_a n_a A_a``, becomes the Hamiltonian on ``C^N ⊗ C^(2I+1)``::

    Ĥ = A0 ⊗ 1 + Σ_a A_a ⊗ Ĵ_a / I

The initial state is ``ρ_q0 ⊗ |I; c⟩⟨I; c|`` with ``|I; c⟩`` the spin-coherent state along
the unit vector ``c`` (the highest-weight eigenvector of ``Ĵ·c``). Its classical
counterpart is a von Mises–Fisher density centred on ``c`` with ``κ ≈ 2I`` (matching the
transverse variance, see ``docs/exact.md``). ``Ĥ`` is diagonalized once and the state is
propagated exactly, ``U(t) = V exp(−iEt/ħ) V†``.

The output uses the names of the solver's ``diagnostics.nc`` (contract §4) where they
apply: ``rho_q_real``, ``rho_q_imag``, ``purity``, ``min_eig_rho_q``, ``n_mean``,
``energy`` and ``mass``.

Functions
---------
solve(config, spin)
    Exact dynamics for a run configuration (path, dict or ``Config``).
solve_matrices(A0, A, rho_q0, center, spin, times, hbar=1.0)
    Exact dynamics for explicit matrices.
solve_qutip(A0, A, rho_q0, center, spin, times, hbar=1.0)
    The same problem integrated by QuTiP (optional dependency, for cross-checks).
linear_coefficients(hamiltonian)
    ``(A0, A)`` of a Hamiltonian object, with a check that it is linear in ``n``.
spin_matrices(spin), coherent_state(spin, center), total_hamiltonian(A0, A, spin)
    The building blocks.
vmf_mean_resultant(kappa)
    ``coth κ − 1/κ``, the length of ``⟨n⟩`` for a von Mises–Fisher density.
solve_unpolarized(A0, A, rho_q0, spin, times, hbar=1.0, count=1, channels=None)
    Maximally mixed spin(s) (κ = 0), ``count`` equivalent spins through their total-spin
    multiplets, optional Haberkorn recombination channels.
recombination_yields(A0, A, rho_q0, spin, channels, hbar=1.0, count=1)
    Exact Haberkorn yields ``k_c ∫_0^∞ Tr(P_c ρ) dt`` (Sylvester equation).
equivalent_multiplets(spin, count), multiplet_weights(spin, count)
    The total-spin multiplets ``(J, m_J)`` and their weights ``m_J (2J+1)/(2I+1)^count``.
solve_two_spins(A0, A, B, C, rho_q0, centers, spins, times, hbar=1.0)
    Two classical spins (j = 2): N-level ⊗ spin-I1 ⊗ spin-I2, ``H`` at most bilinear in
    ``(n1, n2)``; :func:`solve_two_spins_qutip` is its QuTiP cross-check and
    :func:`two_spin_hamiltonian` the quantized ``Ĥ``.

Modules: :mod:`.spin` (spin algebra), :mod:`.solvers` (eigendecomposition and QuTiP),
:mod:`.frontend` (from a run configuration), :mod:`.unpolarized` (κ = 0, equivalent
spins, recombination), :mod:`.two_spins` (two classical spins).
"""

from .frontend import linear_coefficients, solve
from .solvers import solve_matrices, solve_qutip
from .unpolarized import (equivalent_multiplets, multiplet_weights, recombination_yields,
                          solve_unpolarized)
from .two_spins import solve_two_spins, solve_two_spins_qutip, two_spin_hamiltonian
from .spin import check_spin, coherent_state, spin_matrices, total_hamiltonian, vmf_mean_resultant

__all__ = [
    "solve", "solve_matrices", "solve_qutip", "linear_coefficients", "spin_matrices",
    "coherent_state", "total_hamiltonian", "vmf_mean_resultant", "check_spin",
    "solve_unpolarized", "recombination_yields", "equivalent_multiplets", "multiplet_weights",
    "solve_two_spins", "solve_two_spins_qutip", "two_spin_hamiltonian",
]
