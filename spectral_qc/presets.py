"""Preset Hamiltonians of the model problem used by the demo, the studies and the notebooks.

The model problem (``spectral_qc/data/demo.toml``; theory note §5): a classical spin with
the nonlinear Hamiltonian H0 = ½ nz² + 0.3 nx (a twist plus a rotation) coupled to a
qubit,

    H(n) = H0(n)·1 + ½ n·σ + 0.35 σz .

Terms are config dicts (contract §2, ``[hamiltonian] terms``); every call returns fresh
copies, so a caller may edit them.
"""

from __future__ import annotations

#: H0(n) = ½ nz² + 0.3 nx, the classical part (an ``op = "I"`` coefficient).
CLASSICAL_H0 = "0.5*nz**2 + 0.3*nx"
#: ½ n·σ + 0.35 σz, the coupling of the qubit to the classical spin.
QUBIT_COUPLING = ({"op": "X", "coef": "0.5*nx"}, {"op": "Y", "coef": "0.5*ny"},
                  {"op": "Z", "coef": "0.5*nz + 0.35"})


def classical_terms() -> list:
    """``[hamiltonian] terms`` of H0 alone (N = 1: the Liouville model)."""
    return [{"op": "I", "coef": CLASSICAL_H0}]


def coupled_qubit_terms() -> list:
    """``[hamiltonian] terms`` of H(n) = H0·1 + ½ n·σ + 0.35 σz (the demo's Hamiltonian)."""
    return classical_terms() + [dict(t) for t in QUBIT_COUPLING]
