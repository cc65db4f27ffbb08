"""A radical pair from chemistry inputs: :class:`RadicalPair`, its spin Hamiltonian and the
run configs of the mixed quantum-classical models (``docs/radical_pairs.md``).

Units. Every coupling is given in **mT** (field, hyperfine, exchange, dipolar), the
convention of spin chemistry. The energy unit is ``ħ γe · 1 mT`` with
``γe = g_e μB / ħ = 1.7609e11 rad s⁻¹ T⁻¹`` (free electron, ``g_e = 2.00231930436``), so
with ``ħ = 1`` the package's time unit is ``τ = 1 / (γe · 1 mT) =`` :data:`TIME_UNIT_NS`
``≈ 5.679 ns``. A coupling of ``a`` mT makes ``1/a`` time units the natural clock
(``a = 1 mT``: times are in units of ``1/a``, rates ``k`` in units of ``a``).

Spin Hamiltonian (ħ = 1, electron spins ``S1, S2`` = σ/2, nuclear spin ``Ĩ``)::

    H = Σ_i (g_i/g_e) B·S_i + Ĩ·A·S_r − J (2 S1·S2 + ½) + S1·D·S2

``r`` the radical carrying the nucleus. ``−J(2S1·S2 + ½)`` puts the singlet at ``+J`` and
the triplets at ``−J`` (``E_S − E_T = 2J``). ``D`` a 3×3 tensor, or a number ``d``
for the axial ``d·diag(1, 1, −2)``.

Classical nucleus. ``Ĩ = s n`` with ``n`` on the unit sphere and
``s = I`` (``spin_rule = "I"``) or ``s = √(I(I+1))`` (``"sqrt"``); the Poisson bracket
``{Ĩ_a, Ĩ_b} = ε_abc Ĩ_c`` fixes ``[model].spin_magnitude = ħ s``. ``"I"`` is the
quantization of :mod:`spectral_qc.exact` (``n → Ĵ/I``); ``"sqrt"`` gives the classical vector
the quantum length ``|Ĩ|² = I(I+1)`` (Schulten–Wolynes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field as dc_field

import numpy as np
from scipy import constants

from ..errors import ConfigError
from ..exact import multiplet_weights

#: Free-electron g-factor (CODATA).
G_ELECTRON = -constants.physical_constants["electron g factor"][0]
#: γe = g_e μB / ħ in rad s⁻¹ T⁻¹.
GAMMA_E = G_ELECTRON * constants.physical_constants["Bohr magneton"][0] / constants.hbar
#: The package's time unit 1/(γe · 1 mT) in ns (≈ 5.679).
TIME_UNIT_NS = 1e9 / (GAMMA_E * 1e-3)

SPIN_RULES = ("I", "sqrt")
STARTS = ("singlet", "triplet")

_PAULI = {"I": np.eye(2, dtype=complex),
          "X": np.array([[0, 1], [1, 0]], dtype=complex),
          "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
          "Z": np.array([[1, 0], [0, -1]], dtype=complex)}


def electron_spins():
    """``(S1, S2)``, each ``(3, 4, 4)``: the electron spin operators (σ/2) on C² ⊗ C²."""
    s = 0.5 * np.array([_PAULI["X"], _PAULI["Y"], _PAULI["Z"]])
    return (np.array([np.kron(m, _PAULI["I"]) for m in s]),
            np.array([np.kron(_PAULI["I"], m) for m in s]))


def singlet_projector() -> np.ndarray:
    """``P_S = |S⟩⟨S|``, ``|S⟩ = (|↑↓⟩ − |↓↑⟩)/√2`` (4, 4); ``P_T = 1 − P_S``."""
    s = np.array([0, 1, -1, 0], dtype=complex) / math.sqrt(2)
    return np.outer(s, s.conj())


def _tensor(value, key):
    a = np.asarray(value, dtype=float)
    if a.ndim == 0:
        return float(a) * np.eye(3)
    if a.shape != (3, 3) or not np.all(np.isfinite(a)):
        raise ConfigError(f"{key} = {value!r}: expected a number (isotropic, mT) or a 3×3 "
                          "tensor of finite numbers (mT)")
    return a


@dataclass(frozen=True)
class RadicalPair:
    """Two electron spins and one (group of equivalent) nucleus, couplings in mT.

    Parameters
    ----------
    hyperfine : float or array_like (3, 3)
        Hyperfine tensor ``A`` (mT) of the nucleus, ``Ĩ·A·S_r``; a number is isotropic.
    nuclear_spin : float
        ``I`` of each nucleus (½ for ¹H, 1 for ¹⁴N, …).
    count : int
        Number of magnetically equivalent nuclei (same ``A``): treated exactly through the
        multiplets of their total spin (:func:`spectral_qc.exact.equivalent_multiplets`).
    radical : {1, 2}
        The radical whose electron carries the nucleus.
    field : array_like (3,)
        Magnetic field **B** (mT).
    g : (float, float)
        g-factors of the two radicals (default ``g_e``: equal Larmor frequencies).
    exchange : float
        ``J`` (mT) in ``−J(2 S1·S2 + ½)``.
    dipolar : float or array_like (3, 3)
        ``D`` (mT) in ``S1·D·S2``; a number ``d`` means ``d·diag(1, 1, −2)``.
    """

    hyperfine: object = 1.0
    nuclear_spin: float = 0.5
    count: int = 1
    radical: int = 1
    field: tuple = (0.0, 0.0, 0.0)
    g: tuple = (G_ELECTRON, G_ELECTRON)
    exchange: float = 0.0
    dipolar: object = 0.0
    _checked: dict = dc_field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        A = _tensor(self.hyperfine, "hyperfine")
        d = np.asarray(self.dipolar, float)
        D = float(d) * np.diag([1.0, 1.0, -2.0]) if d.ndim == 0 else _tensor(d, "dipolar")
        B = np.asarray(self.field, dtype=float)
        if B.shape != (3,) or not np.all(np.isfinite(B)):
            raise ConfigError(f"field = {self.field!r}: expected 3 finite numbers (mT)")
        g = np.asarray(self.g, dtype=float)
        if g.shape != (2,) or not np.all(g > 0):
            raise ConfigError(f"g = {self.g!r}: expected two positive g-factors")
        if self.radical not in (1, 2):
            raise ConfigError(f"radical = {self.radical!r}: the nucleus sits on radical 1 "
                              "or 2")
        if not math.isfinite(float(self.exchange)):
            raise ConfigError(f"exchange = {self.exchange!r}: expected a finite number (mT)")
        multiplet_weights(self.nuclear_spin, self.count)          # validates I and count
        object.__setattr__(self, "_checked", {"A": A, "D": D, "B": B, "g": g})

    # ------------------------------------------------------------ matrices (energy: mT)
    def electron_hamiltonian(self) -> np.ndarray:
        """The nucleus-free part: Zeeman, exchange and dipolar terms, (4, 4), mT."""
        S1, S2 = electron_spins()
        c = self._checked
        h = sum((c["g"][i] / G_ELECTRON) * np.einsum("a,aij->ij", c["B"], S)
                for i, S in enumerate((S1, S2)))
        s1s2 = np.einsum("aij,ajk->ik", S1, S2)
        h = h - float(self.exchange) * (2 * s1s2 + 0.5 * np.eye(4))
        h = h + np.einsum("ab,aij,bjk->ik", c["D"], S1, S2)
        return 0.5 * (h + h.conj().T)

    def hyperfine_operators(self) -> np.ndarray:
        """``V[a] = Σ_b A_ab S_r,b`` (3, 4, 4), mT: the hyperfine term is ``Σ_a Ĩ_a V[a]``."""
        S = electron_spins()[self.radical - 1]
        return np.einsum("ab,bij->aij", self._checked["A"], S)

    def hamiltonian(self, nucleus) -> np.ndarray:
        """``H`` (4, 4) for a classical nuclear vector ``Ĩ`` (3,) (length included)."""
        return self.electron_hamiltonian() + np.einsum("a,aij->ij", np.asarray(nucleus),
                                                       self.hyperfine_operators())

    def multiplets(self):
        """``[(J, w_J), …]``: total nuclear spins and their weights (:func:`multiplet_weights`)."""
        return multiplet_weights(self.nuclear_spin, self.count)


def classical_length(spin, rule) -> float:
    """Length ``s`` of the classical nuclear vector of spin ``J``: ``J`` or ``√(J(J+1))``."""
    if rule not in SPIN_RULES:
        raise ConfigError(f"spin_rule = {rule!r}: expected 'I' (s = I) or 'sqrt' "
                          "(s = √(I(I+1)))")
    j = float(spin)
    return j if rule == "I" else math.sqrt(j * (j + 1))


def initial_density(start) -> np.ndarray:
    """ρ_q0 (4, 4): ``"singlet"`` = P_S, ``"triplet"`` = (1 − P_S)/3 (unpolarized triplet)."""
    if start not in STARTS:
        raise ConfigError(f"start = {start!r}: expected 'singlet' or 'triplet'")
    ps = singlet_projector()
    return ps if start == "singlet" else (np.eye(4) - ps) / 3


def _pauli_terms(A0, V):
    """``H(n) = A0 + Σ_a n_a V[a]`` as Pauli-string terms with numeric coefficients."""
    terms = []
    for p in "IXYZ":
        for q in "IXYZ":
            P = np.kron(_PAULI[p], _PAULI[q])
            c0 = float(np.trace(P @ A0).real) / 4
            ca = [float(np.trace(P @ V[a]).real) / 4 for a in range(3)]
            parts = [f"{c!r}*n{x}" for c, x in zip(ca, "xyz") if c != 0.0]
            if c0 != 0.0 or not parts:
                parts.append(repr(c0))
            if parts == ["0.0"]:
                continue
            terms.append({"op": p + q, "coef": " + ".join(parts)})
    return terms or [{"op": "II", "coef": 0.0}]


def _complex_table(m):
    m = np.asarray(m, dtype=complex)
    if m.ndim == 1:
        return [[float(z.real), float(z.imag)] for z in m]
    return [[[float(z.real), float(z.imag)] for z in row] for row in m]


def radical_pair_config(pair: RadicalPair, *, kind="ehrenfest", start="singlet",
                        spin_rule="I", multiplet=None, lmax=15, t_end=10.0, dt=0.01,
                        output_every=0.1, regularization="none", alpha=0.0) -> dict:
    """The run config (the TOML structure as a dict) of one classical nucleus.

    ``H(n) = A0 + s Σ_a n_a V[a]`` with ``s`` from ``spin_rule`` (:func:`classical_length`),
    ``[model].spin_magnitude = s`` (ħ = 1), the uniform nuclear density (``kappa = 0``, the
    classical counterpart of the unpolarized nucleus) and the electron start ``start``.

    Parameters
    ----------
    pair : RadicalPair
    kind : str
        ``[model].kind``: "ehrenfest", "hybrid", … (any model the package registers).
    start : {"singlet", "triplet"}
    spin_rule : {"I", "sqrt"}
    multiplet : float, optional
        The total nuclear spin ``J`` to use (for ``count > 1``; default: the spin ``I``
        itself, only valid when ``count == 1``). ``J = 0`` gives a config without hyperfine
        coupling (``spin_magnitude = 1``, unused).
    lmax, t_end, dt, output_every, regularization, alpha
        ``[grid]``, ``[time]`` and ``[model]`` entries (time in units of τ,
        :data:`TIME_UNIT_NS`).

    Returns
    -------
    dict
        For :class:`spectral_qc.Simulation`, ``spectral_qc.config.load_config`` or a TOML file.
    """
    j = pair.nuclear_spin if multiplet is None else float(multiplet)
    allowed = [jj for jj, _ in pair.multiplets()]
    if multiplet is None and pair.count != 1:
        raise ConfigError(f"count = {pair.count}: pass multiplet = one of {allowed} "
                          "(or use radical_pair.simulate, which runs them all)")
    if j not in allowed:
        raise ConfigError(f"multiplet = {multiplet!r}: not a total spin of {pair.count} "
                          f"nuclei of spin {pair.nuclear_spin} (allowed: {allowed})")
    s = classical_length(j, spin_rule)
    V = pair.hyperfine_operators() * s
    rho0 = initial_density(start)
    quantum = ({"ket": _complex_table([0, 1 / math.sqrt(2), -1 / math.sqrt(2), 0])}
               if start == "singlet" else {"density": _complex_table(rho0)})
    return {
        "grid": {"lmax": int(lmax)},
        "model": {"kind": kind, "hbar": 1.0, "spin_magnitude": s if s > 0 else 1.0,
                  "regularization": regularization, "alpha": float(alpha)},
        "hamiltonian": {"terms": _pauli_terms(pair.electron_hamiltonian(), V)},
        "initial": {"classical": {"kind": "von_mises_fisher", "center": [0.0, 0.0, 1.0],
                                  "kappa": 0.0},
                    "quantum": quantum},
        "time": {"t_end": float(t_end), "dt": float(dt), "output_every": float(output_every)},
        "output": {"figures": False},
    }
