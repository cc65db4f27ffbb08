"""The comparison case, its configs, the metrics against the exact solution, and the runs.

See :mod:`validation.exact_comparison` for the case and the numerical choices.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np

import spectral_qc as sq
from spectral_qc.errors import ConfigError
from spectral_qc.exact import vmf_mean_resultant
from spectral_qc.sphere import SphereGrid
from spectral_qc.states import von_mises_fisher

#: Coefficients of H(n) = (a/2) n·σ + (b/2) σz + c nz.
CASE = {"a": 1.0, "b": 0.5, "c": 0.3, "center": [1.0, 0.0, 1.0], "bloch": [1.0, 0.0, 0.0]}
#: Spectral truncation per spin size (vMF κ = 2I; see the module docstring).
LMAX = {2: 23, 5: 23, 10: 31, 20: 47, 50: 63}
#: Weight of the uniform background mixed into ϱ0 (keeps ϱ > 0 on the grid).
BACKGROUND = 1e-5
#: The hybrid model's regularization (docs/stability.md).
REGULARIZATION = {"regularization": "heat_kernel", "alpha": 0.01}
MODELS = ("ehrenfest", "hybrid")


# ----------------------------------------------------------------------------- configs

def hamiltonian_terms(a=CASE["a"], b=CASE["b"], c=CASE["c"]):
    """``[hamiltonian].terms`` of H(n) = (a/2) n·σ + (b/2) σz + c nz."""
    return [{"op": "X", "coef": f"{a / 2!r}*nx"},
            {"op": "Y", "coef": f"{a / 2!r}*ny"},
            {"op": "Z", "coef": f"{a / 2!r}*nz + {b / 2!r}"},
            {"op": "I", "coef": f"{c!r}*nz"}]


def case_config(kind, spin, *, lmax=None, t_end=5.0, dt=0.1, output_every=0.2,
                regularization=None, alpha=None, background=BACKGROUND, case=None):
    """Config dict of the comparison case for ``kind`` ∈ {ehrenfest, hybrid} and spin I.

    S = ħI with ħ = 1, vMF κ = 2I centred on ``case["center"]`` (mixed with a uniform
    background of weight ``background``; 0 gives the pure vMF that ``exact.solve``
    accepts), uniform P0 from ``case["bloch"]``.
    """
    case = {**CASE, **(case or {})}
    lmax = lmax or LMAX.get(spin) or int(10 * math.sqrt(2 * spin) + 8)
    model = {"kind": kind, "hbar": 1.0, "spin_magnitude": float(spin)}
    if kind == "hybrid":
        model["regularization"] = (REGULARIZATION["regularization"]
                                   if regularization is None else regularization)
        model["alpha"] = (REGULARIZATION["alpha"] if alpha is None else alpha)
        if model["regularization"] == "none":
            model["alpha"] = 0.0
    vmf = {"center": list(map(float, case["center"])), "kappa": 2.0 * spin}
    if background > 0:
        classical = {"kind": "mixture", "components": [
            {**vmf, "weight": 1.0 - background},
            {"center": [0.0, 0.0, 1.0], "kappa": 0.0, "weight": background}]}
    else:
        classical = {"kind": "von_mises_fisher", **vmf}
    return {"grid": {"lmax": int(lmax)}, "model": model,
            "hamiltonian": {"terms": hamiltonian_terms(case["a"], case["b"], case["c"])},
            "initial": {"classical": classical,
                        "quantum": {"bloch": list(map(float, case["bloch"]))}},
            "time": {"t_end": float(t_end), "dt": float(dt),
                     "output_every": float(output_every)},
            "output": {"dir": "out/exact_comparison", "figures": False}}


def exact_config(spin, **kw):
    """The config ``exact.solve`` takes: the same case with the pure vMF (κ = 2I)."""
    cfg = case_config("ehrenfest", spin, background=0.0, **kw)
    return cfg


# ----------------------------------------------------------------------------- metrics

def rho_q(ds):
    """ρ̂q(t) ``(time, N, N)`` complex from a diagnostics Dataset."""
    return np.asarray(ds["rho_q_real"].values) + 1j * np.asarray(ds["rho_q_imag"].values)


def trace_distance(r1, r2):
    """½‖r1 − r2‖₁ for stacks of Hermitian matrices ``(..., N, N)``."""
    d = np.asarray(r1) - np.asarray(r2)
    d = 0.5 * (d + np.swapaxes(d.conj(), -1, -2))
    return 0.5 * np.abs(np.linalg.eigvalsh(d)).sum(axis=-1)


def _align(ds, exact):
    """Indices of the model times in the exact Dataset (equal output grids)."""
    te = np.asarray(exact["time"].values)
    tm = np.asarray(ds["time"].values)
    idx = np.array([int(np.argmin(np.abs(te - t))) for t in tm], int)
    ok = np.abs(te[idx] - tm) < 1e-9 * max(1.0, float(te.max()))
    return idx[ok], np.flatnonzero(ok)


def compare(ds, exact):
    """Error time series of a model run against the exact solution.

    Returns a dict of lists over the model's output times: ``time``, ``trace_distance``,
    ``purity`` (model), ``purity_exact``, ``purity_error`` (model − exact),
    ``n_mean_error`` (|⟨n⟩ − A(κ)⟨Ĵ/I⟩|, the O(1/I) mean-length offset of docs/exact.md
    §1.2 removed), ``energy_drift``, ``spectral_tail``, ``min_rho``.
    """
    ie, im = _align(ds, exact)
    kappa = 2.0 * float(exact.attrs.get("spin", 1.0))
    td = trace_distance(rho_q(ds)[im], rho_q(exact)[ie])
    pm = np.asarray(ds["purity"].values)[im]
    pe = np.asarray(exact["purity"].values)[ie]
    nm = np.asarray(ds["n_mean"].values)[im]
    ne = np.asarray(exact["n_mean"].values)[ie] * vmf_mean_resultant(kappa)
    e = np.asarray(ds["energy"].values)[im]
    return {"time": np.asarray(ds["time"].values)[im].tolist(),
            "trace_distance": td.tolist(),
            "purity": pm.tolist(), "purity_exact": pe.tolist(),
            "purity_error": (pm - pe).tolist(),
            "n_mean_error": np.linalg.norm(nm - ne, axis=-1).tolist(),
            "energy_drift": (np.abs(e - e[0]) / max(abs(e[0]), 1e-300)).tolist(),
            "spectral_tail": np.asarray(ds["spectral_tail"].values)[im].tolist(),
            "min_rho": np.asarray(ds["min_rho"].values)[im].tolist()}


def vmf_truncation_error(spin, lmax, center=CASE["center"]):
    """max |ϱ0 − P_lmax ϱ0| / max ϱ0 for the vMF with κ = 2I: the resolution it needs."""
    g = SphereGrid(lmax, nthreads=1)
    r = von_mises_fisher(g, center, 2.0 * spin)
    rt = g.synthesis(g.analysis(r))
    return float(np.abs(rt - r).max() / r.max())


def vmf_degree_needed(spin, rel_amplitude=1e-9):
    """Smallest degree l with vMF Legendre amplitude ratio a_l/a_0 < ``rel_amplitude``.

    a_l = I_{l+½}(κ)/I_{½}(κ) (exact Legendre coefficients of exp(κ n·c)), κ = 2I.
    """
    from scipy.special import ive

    kappa = 2.0 * spin
    l = np.arange(0, 400)
    a = (2 * l + 1) * ive(l + 0.5, kappa) / ive(0.5, kappa)
    return int(np.argmax(a / a.max() < rel_amplitude))


# ------------------------------------------------------------------------------- runs

def run_model(config):
    """Run one config; returns (Dataset, info dict). A NumericalFailure is recorded, not
    raised: the Dataset then holds the outputs up to the failure."""
    t0 = time.perf_counter()
    sim = sq.Simulation(config)
    info = {"stopped": False, "message": ""}
    try:
        ds = sim.run()
    except sq.NumericalFailure as exc:
        ds = exc.diagnostics
        info.update(stopped=True, message=str(exc), stop_time=float(exc.time))
    info.update(wall_s=time.perf_counter() - t0, steps=int(sim.iteration),
                s_per_step=(time.perf_counter() - t0) / max(sim.iteration, 1),
                lmax=int(sim.grid.lmax))
    return ds, info


def solve_exact(spin, **kw):
    """``spectral_qc.exact.solve`` of the case (pure vMF config, S = ħI)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sq.exact.solve(exact_config(spin, **kw), spin=spin)


def study_spin(spin, *, t_end, dt, output_every, lmax=None, models=MODELS, log=print,
               case=None, **model_kw):
    """Exact solution and the model runs for one spin size; a JSON-ready dict.

    ``case``: overrides of :data:`CASE` (a, b, c, center, bloch)."""
    kw = dict(t_end=t_end, dt=dt, output_every=output_every, case=case)
    t0 = time.perf_counter()
    exact = solve_exact(spin, **kw)
    out = {"spin": spin, "lmax": int(lmax or LMAX.get(spin) or 0), "dt": dt,
           "exact_wall_s": time.perf_counter() - t0,
           "exact": {"time": exact["time"].values.tolist(),
                     "purity": exact["purity"].values.tolist(),
                     "n_mean": exact["n_mean"].values.tolist()},
           "models": {}}
    for kind in models:
        cfg = case_config(kind, spin, lmax=lmax, **kw, **model_kw)
        out["lmax"] = cfg["grid"]["lmax"]
        try:
            ds, info = run_model(cfg)
        except ConfigError as exc:  # e.g. the hybrid refuses a ϱ0 that is not positive
            out.setdefault("refused", {})[kind] = str(exc)
            log(f"  I = {spin:g} {kind:9s} lmax {cfg['grid']['lmax']:3d}: refused ({exc})")
            continue
        res = compare(ds, exact)
        res.update(info)
        if kind == "hybrid":
            res["regularization"] = cfg["model"]["regularization"]
            res["alpha"] = cfg["model"]["alpha"]
        out["models"][kind] = res
        log(f"  I = {spin:g} {kind:9s} lmax {cfg['grid']['lmax']:3d}: "
            f"{info['steps']} steps, {info['wall_s']:.1f} s ({info['s_per_step']:.3f} s/step)"
            f"; TD(t_end) = {res['trace_distance'][-1]:.3e}"
            + (f"  STOPPED at t = {info['stop_time']:.3g}" if info["stopped"] else ""))
    return out


def _at(res, key, t):
    times = np.asarray(res["time"])
    if times.size == 0 or t > times[-1] + 1e-9:
        return float("nan")
    return float(np.asarray(res[key])[int(np.argmin(np.abs(times - t)))])
