"""The radical pair in the four descriptions the study compares: exact (quantum nucleus),
Schulten–Wolynes (static classical nucleus), and the mixed quantum-classical models of the
solver (Ehrenfest, hybrid, … through :class:`spectral_qc.Simulation`)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import ConfigError
from ..exact import recombination_yields, solve_unpolarized
from .pair import (RadicalPair, classical_length, initial_density, radical_pair_config,
                   singlet_projector)


def _channels(rates):
    k_s, k_t = (float(r) for r in rates)
    ps = singlet_projector()
    return [(k_s, ps), (k_t, np.eye(4) - ps)]


def exact_solve(pair: RadicalPair, times, *, start="singlet", rates=None) -> xr.Dataset:
    """Exact dynamics with a quantum, unpolarized nucleus (all ``count`` of them).

    :func:`spectral_qc.exact.solve_unpolarized` with ``A0`` the electron Hamiltonian and
    ``A_a = I V[a]`` (``n → Ĵ/I``: the hyperfine term becomes ``Ĵ·A·S_r``).

    Parameters
    ----------
    pair : RadicalPair
    times : array_like (T,)
        Output times (units τ), starting at 0, increasing.
    start : {"singlet", "triplet"}
    rates : (k_S, k_T), optional
        Haberkorn recombination rates (1/τ); the trace of ``ρ̂q`` then decays.

    Returns
    -------
    xarray.Dataset
        The variables of :func:`spectral_qc.exact.solve_matrices` (``n_mean`` = ⟨Ĵ⟩/I).
    """
    i_ = pair.nuclear_spin
    chans = None if rates is None else _channels(rates)
    return solve_unpolarized(pair.electron_hamiltonian(), i_ * pair.hyperfine_operators(),
                             initial_density(start), i_, times, count=pair.count,
                             channels=chans)


def exact_yields(pair: RadicalPair, k_s, k_t=None, *, start="singlet"):
    """Exact Haberkorn yields ``(Φ_S, Φ_T)`` for rates ``k_S``, ``k_T`` (default ``k_T = k_S``).

    ``Φ_S = k_S ∫_0^∞ Tr(P_S ρ) dt`` with ``dρ/dt = −i[H, ρ] − ½{k_S P_S + k_T P_T, ρ}``
    (:func:`spectral_qc.exact.recombination_yields`); no time grid, no truncation. With
    ``k_S = k_T = k`` it equals the exponential model of :func:`singlet_yield`.

    Returns
    -------
    numpy.ndarray (2,)
        ``(Φ_S, Φ_T)``, summing to 1.
    """
    k_t = k_s if k_t is None else k_t
    i_ = pair.nuclear_spin
    return recombination_yields(pair.electron_hamiltonian(),
                                i_ * pair.hyperfine_operators(), initial_density(start),
                                i_, _channels((k_s, k_t)), count=pair.count)


def sphere_nodes(nodes):
    """Quadrature of the unit sphere: Gauss–Legendre in cos θ × uniform φ_j = 2πj/nφ.

    Returns ``n`` (3, P) unit vectors and weights (P,) summing to 1 (the uniform density).
    """
    n_theta, n_phi = (int(v) for v in nodes)
    if n_theta < 1 or n_phi < 1:
        raise ConfigError(f"nodes = {nodes!r}: expected two positive integers (nθ, nφ)")
    x, w = np.polynomial.legendre.leggauss(n_theta)           # x = cos θ
    phi = 2 * np.pi * np.arange(n_phi) / n_phi
    st = np.sqrt(1 - x ** 2)
    n = np.stack([np.outer(st, np.cos(phi)), np.outer(st, np.sin(phi)),
                  np.outer(x, np.ones(n_phi))]).reshape(3, -1)
    weights = np.outer(w / 2, np.full(n_phi, 1.0 / n_phi)).ravel()
    return n, weights


def schulten_wolynes(pair: RadicalPair, times, *, start="singlet", spin_rule="sqrt",
                     nodes=(96, 8)) -> xr.DataArray:
    """``P_S(t)`` of the static classical nucleus (Schulten & Wolynes, J. Chem. Phys. 68,
    3292 (1978)).

    The nuclear vector ``Ĩ = s n`` is frozen, ``n`` uniform on the sphere
    (:func:`sphere_nodes`), ``s`` from ``spin_rule`` for each multiplet ``J`` of the
    equivalent nuclei (weights ``w_J``); for every node the electrons evolve exactly under
    the 4×4 ``H(Ĩ)`` (``numpy.linalg.eigh``)::

        P_S(t) = Σ_J w_J Σ_p w_p Tr(P_S e^{−iH_p t} ρ0 e^{iH_p t})

    Written without the solver (its own quadrature and propagation): the reference the
    Ehrenfest model must reproduce when the nucleus does not move.

    Parameters
    ----------
    pair : RadicalPair
    times : array_like (T,)
        Times (units τ).
    start : {"singlet", "triplet"}
    spin_rule : {"sqrt", "I"}
        ``s = √(J(J+1))`` (Schulten–Wolynes' choice, default) or ``s = J``.
    nodes : (int, int)
        ``(nθ, nφ)``. The integrand oscillates in cos θ at a rate ≈ ``s |A| t``; raise nθ
        for long times (nθ ≳ 2 s|A| t_end + 20).

    Returns
    -------
    xarray.DataArray
        ``P_S`` over ``time``; attributes ``spin_rule``, ``nodes``.
    """
    t = np.asarray(times, dtype=float)
    out = np.zeros(t.size)
    for wj, coef, omega in _static_modes(pair, start, spin_rule, nodes):
        for c0 in range(0, t.size, 256):
            tt = t[c0:c0 + 256]
            out[c0:c0 + 256] += wj * (np.exp(-1j * np.outer(tt, omega)) @ coef).real
    return xr.DataArray(out, dims=("time",), coords={"time": t}, name="singlet_probability",
                        attrs={"long_name": "singlet probability, static classical nucleus "
                               "(Schulten-Wolynes)", "units": "1", "spin_rule": spin_rule,
                               "nodes": list(map(int, nodes))})


def _static_modes(pair, start, spin_rule, nodes):
    """Per multiplet: ``(w_J, c, ω)`` with ``P_S(t) = Σ c e^{−iωt}`` over nodes and
    eigenpairs of the static-nucleus Hamiltonians (flattened)."""
    n, w = sphere_nodes(nodes)
    rho0 = initial_density(start)
    ps = singlet_projector()
    A0, V = pair.electron_hamiltonian(), pair.hyperfine_operators()
    for j, wj in pair.multiplets():
        s = classical_length(j, spin_rule)
        h = A0[None] + s * np.einsum("ap,aij->pij", n, V)       # (P, 4, 4)
        e, U = np.linalg.eigh(h)
        r0 = np.einsum("pki,kl,plj->pij", U.conj(), rho0, U)     # U† ρ0 U
        p_e = np.einsum("pki,kl,plj->pij", U.conj(), ps, U)      # U† P_S U
        coef = np.einsum("pji,pij,p->pij", p_e, r0, w)            # Tr(P e^{-iEt} r e^{iEt})
        omega = e[:, :, None] - e[:, None, :]                      # (P, 4, 4)
        yield wj, coef.reshape(-1), omega.reshape(-1)


def schulten_wolynes_yield(pair: RadicalPair, k, *, start="singlet", spin_rule="sqrt",
                           nodes=(96, 8)) -> float:
    """Exponential-model yield of the static classical nucleus, in closed form:
    ``Φ_S = Σ c k²/(k² + ω²)`` over the modes of :func:`schulten_wolynes` (no truncation).

    Parameters as in :func:`schulten_wolynes`; ``k`` > 0 (1/τ).
    """
    k = float(k)
    if not (np.isfinite(k) and k > 0):
        raise ConfigError(f"k = {k!r}: the recombination rate must be finite and > 0")
    return float(sum(wj * np.sum(c * k ** 2 / (k ** 2 + om ** 2)).real
                     for wj, c, om in _static_modes(pair, start, spin_rule, nodes)))


def _output_times(t_end, output_every):
    n = int(np.floor(float(t_end) / float(output_every) + 1e-9))
    return float(output_every) * np.arange(n + 1)


def simulate(pair: RadicalPair, *, kind="ehrenfest", start="singlet", spin_rule="I",
             **config) -> xr.Dataset:
    """Run a mixed quantum-classical model of the pair, one run per nuclear multiplet.

    Each multiplet ``J > 0`` of the equivalent nuclei is one :class:`spectral_qc.Simulation`
    of :func:`radical_pair_config` (classical length ``s(J)``); ``J = 0`` has no hyperfine
    coupling, its electrons evolve under the 4×4 electron Hamiltonian alone (solved
    exactly: every model reduces to that when ``H`` does not depend on ``n``). The
    results are mixed with the weights ``w_J``. A run that stops (``NumericalFailure``,
    e.g. crossing characteristics) ends the combined record at its stop time.

    Parameters
    ----------
    pair : RadicalPair
    kind, start, spin_rule
        As in :func:`radical_pair_config`.
    **config
        ``lmax``, ``t_end``, ``dt``, ``output_every``, ``regularization``, ``alpha``.

    Returns
    -------
    xarray.Dataset
        ``rho_q_real``, ``rho_q_imag`` (time, i, j), ``nucleus_mean`` (time, xyz) = ``Σ w_J
        s_J ⟨n⟩_J`` (ħ units); attributes ``multiplets``, ``weights``, ``status``,
        ``t_last`` (per multiplet), ``t_stop`` (earliest stop, NaN if none) and ``reason``.
    """
    from ..simulation import Simulation                     # lazy: heavy import

    parts, status, t_last, reasons = [], [], [], []
    for j, wj in pair.multiplets():
        cfg = radical_pair_config(pair, kind=kind, start=start, spin_rule=spin_rule,
                                  multiplet=j, **config)
        if j == 0:
            times = _output_times(cfg["time"]["t_end"], cfg["time"]["output_every"])
            ds = solve_unpolarized(pair.electron_hamiltonian(), np.zeros((3, 4, 4)),
                                   initial_density(start), 0.5, times)
            parts.append((wj, 0.0, ds))
            status.append("ok")
            t_last.append(float(times[-1]))
            continue
        res = Simulation(cfg).run(raise_on_failure=False)
        parts.append((wj, classical_length(j, spin_rule), res.diagnostics))
        status.append(res.status)
        t_last.append(float(res.t_last))
        if res.reason:
            reasons.append(f"J = {j:g}: {res.reason}")
    n_t = min(p[2].sizes["time"] for p in parts)
    times = np.asarray(parts[0][2]["time"].values[:n_t], float)
    rho = sum(w * (p["rho_q_real"].values[:n_t] + 1j * p["rho_q_imag"].values[:n_t])
              for w, _, p in parts)
    nuc = sum(w * s * p["n_mean"].values[:n_t] for w, s, p in parts)
    stopped = [t for t, s in zip(t_last, status) if s != "ok"]
    return xr.Dataset(
        {"rho_q_real": (("time", "i", "j"), rho.real), "rho_q_imag": (("time", "i", "j"),
                                                                       rho.imag),
         "nucleus_mean": (("time", "xyz"), nuc, {"long_name": "mean classical nuclear "
                                                 "vector Σ w_J s_J <n>_J", "units": "hbar"})},
        coords={"time": times, "i": np.arange(4), "j": np.arange(4), "xyz": ["x", "y", "z"]},
        attrs={"kind": kind, "spin_rule": spin_rule, "start": start,
               "multiplets": [j for j, _ in pair.multiplets()],
               "weights": [w for _, w in pair.multiplets()], "status": status,
               "t_last": t_last, "t_stop": min(stopped) if stopped else float("nan"),
               "reason": "; ".join(reasons)})
