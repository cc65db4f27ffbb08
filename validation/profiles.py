"""Sizes of every study, for the fast (``--fast``, part of ``make test``) and full suites.

Everything that costs time is a parameter here; the studies read nothing else.
"""

LOW = 31  # the coarser resolution of the full invariants study

FULL = {
    "convergence_lmax": {
        "liouville": {"lmaxes": [5, 7, 9, 11, 13, 15, 19, 23, 31, 47, 63, 95, 127],
                      "dt": 0.0025, "scheme": "yoshida4", "t_end": 1.0, "points": 2000,
                      "tolerance": 1e-10},
        "ehrenfest": {"lmaxes": [3, 5, 7, 9, 11, 15, 23, 31, 47, 63], "check_lmax": 63, "dt": 0.01,
                      "scheme": "yoshida4", "t_end": 1.0, "trajectories": 1_000_000,
                      "traj_dt": 0.02, "outputs": 10, "z_max": 3.0, "seed": 20261126},
    },
    "convergence_dt": {"lmax": 31, "t_end": 0.5, "dt0": 0.025, "factors": [1, 2, 4],
                       "ref_factor": 16, "models": ["liouville", "ehrenfest", "hybrid"],
                       "schemes": ["strang", "yoshida4"], "order_slack": 0.3},
    "invariants": {"t_end": 1.0, "dt": 0.005, "every": 0.05,
                   "lmaxes": {"liouville": [31, 63, 127], "ehrenfest": [31, 63, 127],
                              "hybrid": [31, 63, 127]},
                   "schemes": {"liouville": "strang", "ehrenfest": "yoshida4", "hybrid": "strang"},
                   "tolerance": {"liouville": 1e-8, "ehrenfest": 1e-8,
                                 "hybrid": {"default": 1e-8, "energy": 1e-5, "berry_casimir": 1e-5}},
                   "mass_tolerance": 1e-12,
                   # the regularized hybrid with a correlated pure P blows up near t = 0.85
                   # (short-wave instability; see positivity's instability probe)
                   "t_end_overrides": {"hybrid/pure_correlated": 0.5},
                   "instability_probe": {"model": "hybrid", "case": "pure_correlated",
                                         "lmaxes": [LOW, 63]},
                   # informative: the Ehrenfest pure-state run with Strang (why yoshida4), and
                   # the hybrid energy drift at dt/2 (the drift is a time-step error)
                   "strang_check": {"model": "ehrenfest", "case": "pure_uniform", "lmax": LOW},
                   "halving_check": {"model": "hybrid", "case": "pure_correlated", "lmax": LOW}},
    "positivity": {"rho_tol": 1e-8, "eig_P_tol": 1e-6, "eig_rho_q_tol": 1e-10},
    "structure": {"lmax": 63, "uncoupled_lmax": 31, "uncoupled_t": 0.5, "uncoupled_dt": 0.01,
                  "uncoupled_tol": 1e-8, "eq53_tol": 1e-10, "dephasing_tol": 1e-10,
                  "identity_tol": 1e-12},
    "decoherence": {"lmax": 31, "t_end": 1.0, "dt": 0.005, "min_decay": 1e-2, "control_lmax": 15},
    "stability": {
        "exponent": {"cases": [[31, [4, 6, 8, 11, 16, 22, 28],
                                ["correlated", "correlated_tilted", "product", "product_evolved"]],
                               [63, [16, 32, 48, 60], ["product_evolved", "correlated_tilted"]]],
                     "width": None, "fit_from": 8},
        "hbar": {"lmax": 31, "l": 24, "hbars": [0.25, 0.5, 1.0, 2.0],
                 "bases": ["correlated", "product_evolved"], "width": None},
        "map": {"lmax": 23, "bands": [4, 8, 12, 17, 21], "width": 2, "alphas": [0.003, 0.01, 0.03],
                "hbars": [0.5, 1.0], "base": "product_evolved"},
        "convergence": {"t_end": 0.5, "lmaxes": {"heat_kernel": [23, 31, 47, 95],
                                                 "hyper_heat_kernel": [23, 31, 47, 63]}},
        "horizon": {"alphas": [0.01, 0.003], "plan": [[0.5, [7, 11, 15, 23]],
                                                      [1.0, [15, 23, 31, 47]]]},
        "alpha_limit": {"t_end": 0.3, "lmax": 31, "alphas": [0.03, 0.01, 0.003, 0.001]},
        "detector": {"cases": [
            dict(lmax=31, t_max=1.5), dict(lmax=31, t_max=1.5, correlated=True),
            dict(lmax=63, t_max=0.8, dt=0.005),
            dict(lmax=31, t_max=2.5, kind="ehrenfest"),
            dict(lmax=31, t_max=1.5, regularization="heat_kernel", alpha=0.01),
            dict(lmax=31, t_max=1.5, regularization="hyper_heat_kernel", alpha=0.01),
            dict(lmax=63, t_max=1.6, kind="ehrenfest"),
            dict(lmax=63, t_max=1.5, regularization="heat_kernel", alpha=0.01),
            dict(lmax=47, t_max=1.5, regularization="heat_kernel", alpha=0.01),
            dict(lmax=47, t_max=1.5, regularization="hyper_heat_kernel", alpha=0.01),
            dict(lmax=63, t_max=1.5, regularization="hyper_heat_kernel", alpha=0.01),
            dict(lmax=63, t_max=0.5, dt=0.01), dict(lmax=47, t_max=0.6, dt=0.01),
            dict(lmax=127, t_max=1.6, kind="ehrenfest"),
            dict(lmax=127, t_max=1.4, regularization="heat_kernel", alpha=0.01),
            dict(lmax=31, t_max=2.5, regularization="heat_kernel", alpha=0.03),
            dict(lmax=63, t_max=2.5, regularization="heat_kernel", alpha=0.03),
            dict(lmax=31, t_max=2.5, regularization="hyper_heat_kernel", alpha=0.03),
            dict(lmax=63, t_max=2.5, regularization="hyper_heat_kernel", alpha=0.03),
            dict(lmax=127, t_max=0.3, dt=0.0025)]},
        "variants": {"lmax": 31, "ls": [16, 28]},
    },
    "exact_comparison": {"mode": "full", "spins": [5, 10, 20, 50], "t_end": 10.0, "dt": 0.1,
                         "output_every": 0.2, "table_times": [1.0, 2.0, 5.0, 10.0],
                         "unregularized_spins": [5, 10],
                         "convergence": {"spin": 10, "lmax": 47, "dt": 0.05},
                         "alpha_check": {"spins": [20, 50], "alpha": 0.003},
                         "lmax_check": {"spin": 50, "lmax": [31, 39, 47, 79]},
                         "other_cases": {"B": {"a": 1.0, "b": 0.0, "c": 0.0}}},
}

FAST = {
    "convergence_lmax": {
        "liouville": {"lmaxes": [5, 7, 9, 11, 15, 23, 31], "dt": 0.005, "scheme": "yoshida4",
                      "t_end": 1.0, "points": 400, "tolerance": 1e-10},
        "ehrenfest": {"lmaxes": [5, 9, 15, 23, 31], "check_lmax": 31, "dt": 0.02,
                      "scheme": "yoshida4", "t_end": 1.0, "trajectories": 100_000,
                      "traj_dt": 0.025, "outputs": 10, "z_max": 3.0, "seed": 20261126},
    },
    "convergence_dt": {"lmax": 15, "t_end": 0.05, "dt0": 0.025, "factors": [1, 2, 4],
                       "ref_factor": 16, "models": ["liouville", "ehrenfest", "hybrid"],
                       "schemes": ["strang", "yoshida4"], "order_slack": 0.3},
    "invariants": {"t_end": 0.5, "dt": 0.01, "every": 0.05,
                   "lmaxes": {"liouville": [15, 23], "ehrenfest": [15, 23], "hybrid": [15, 23]},
                   "schemes": {"liouville": "strang", "ehrenfest": "yoshida4", "hybrid": "strang"},
                   "tolerance": {"liouville": 1e-8, "ehrenfest": 1e-8,
                                 "hybrid": {"default": 1e-8, "energy": 1e-5, "berry_casimir": 1e-5}},
                   "mass_tolerance": 1e-12,
                   # informative: the Ehrenfest pure-state run with Strang (why yoshida4), and
                   # the hybrid energy drift at dt/2 (the drift is a time-step error)
                   "strang_check": {"model": "ehrenfest", "case": "pure_uniform", "lmax": 15},
                   "halving_check": {"model": "hybrid", "case": "pure_correlated", "lmax": 23}},
    "positivity": {"rho_tol": 1e-8, "eig_P_tol": 1e-6, "eig_rho_q_tol": 1e-10},
    "structure": {"lmax": 63, "uncoupled_lmax": 15, "uncoupled_t": 0.2, "uncoupled_dt": 0.02,
                  "uncoupled_tol": 1e-6, "eq53_tol": 1e-10, "dephasing_tol": 1e-10,
                  "identity_tol": 1e-12},
    "decoherence": {"lmax": 23, "t_end": 0.5, "dt": 0.01, "min_decay": 1e-3, "control_lmax": 15},
    "stability": {
        "exponent": {"cases": [[11, [4, 7, 10], ["correlated_tilted"]]], "width": 1, "fit_from": 4},
        "hbar": {"lmax": 11, "l": 8, "hbars": [0.5, 1.0], "bases": ["correlated_tilted"],
                 "width": 1},
        # lmax 15, not 11: the top band of lmax 11 is an artefact (docs/stability.md §4.1)
        "map": {"lmax": 15, "bands": [7, 10], "width": 1, "alphas": [0.01], "hbars": [1.0],
                "base": "correlated_tilted"},
        "convergence": {"t_end": 0.1, "lmaxes": {"heat_kernel": [11, 15],
                                                 "hyper_heat_kernel": [11, 15]}},
        "horizon": {"alphas": [0.01], "plan": [[0.1, [7, 11, 15]]]},
        "alpha_limit": {"t_end": 0.2, "lmax": 15, "alphas": [0.03, 0.01]},
        "detector": {"cases": [dict(lmax=15, t_max=1.0, correlated=True)]},  # NaN at 0.53
        "variants": {"lmax": 15, "ls": [8, 14]},
    },
    "exact_comparison": {"mode": "fast", "spins": [5, 10, 20], "t_end": 2.0, "dt": 0.1,
                         "output_every": 0.2, "table_times": [1.0, 2.0],
                         "unregularized_spins": [], "convergence": None, "alpha_check": None,
                         "lmax_check": None, "other_cases": {}},
}

PROFILES = {"full": FULL, "fast": FAST}


def sibling(section, name):
    """The ``name`` section of the profile that contains ``section`` (studies sharing runs)."""
    for prof in PROFILES.values():
        if any(v is section for v in prof.values()):
            return prof[name]
    raise KeyError(f"no profile contains this section (looking for {name!r})")

# Koopman models (issue 15, validation/studies/koopman.py); --fast runs a subset
FULL["koopman"] = {
    "claim": {"lmaxes": [31, 47], "t_end": 20.0, "dt": 0.01, "every": 0.25,
              "hbar_check": {"case": "H0 = ½nz² + 0.3nx, H1 = 0.5nz + 0.35", "hbar": 0.5},
              "liouville_check": {"lmax": 31, "t": 5.0},
              "shell": {"lmax": 31, "delta": 0.02, "nodes": 12, "t_end": 5.0, "dt": 0.01,
                        "every": 0.5}},
    "maps": {"t_end": 10.0, "dt": 0.01, "every": 0.25, "families": {
        "demo": {"couplings": [0.0, 0.25, 0.5, 1.0, 1.5, 2.0],
                 "hbar_over_S": [0.25, 0.5, 1.0, 2.0], "lmax": [47, 47, 47, 47],
                 "checks": [[1.0, 0.25, 63], [2.0, 1.0, 63]],
                 "setup": "H = (½nz² + 0.3nx)·1 + g·½n·σ + 0.35σz, S = 1, ħ varied, "
                          "vMF κ = 2 at ẑ, Bloch x̂"},
        "exact": {"couplings": [0.0, 0.5, 1.0, 2.0],
                  "hbar_over_S": [1.0, 0.5, 0.2, 0.1, 0.05], "lmax": [23, 23, 23, 31, 47],
                  "checks": [[2.0, 0.1, 47]],
                  "setup": "H = g·½n·σ + ¼σz + 0.3nz·1 as written (L = −¼σz), ħ = 1, "
                           "S = I = (ħ/S)⁻¹, vMF κ = 2I at (1, 0, 1)/√2, Bloch x̂"},
        "exact_deg0": {"couplings": [0.0, 0.5, 1.0, 2.0],
                       "hbar_over_S": [1.0, 0.5, 0.2, 0.1, 0.05], "lmax": [23, 23, 23, 31, 47],
                       "checks": [[2.0, 0.1, 47]],
                       "setup": "the same H written homogeneous of degree 0 (linear "
                                "coefficients divided by |n|: L = −H)"}}},
    "exact": {"spins": [5, 10, 20, 50], "t_end": 10.0, "dt": 0.1, "output_every": 0.2,
              "table_times": [1.0, 2.0, 5.0, 10.0]},
}
FAST["koopman"] = {
    "claim": {"lmaxes": [23], "t_end": 2.0, "dt": 0.02, "every": 0.5, "hbar_check": None,
              "liouville_check": {"lmax": 23, "t": 2.0},
              "shell": {"lmax": 15, "delta": 0.02, "nodes": 10, "t_end": 3.0, "dt": 0.02,
                        "every": 1.0}},
    "maps": {"t_end": 1.0, "dt": 0.02, "every": 0.5, "families": {
        "demo": {"couplings": [0.0, 1.0], "hbar_over_S": [0.5, 1.0], "lmax": [23, 23],
                 "checks": [], "setup": "demo, fast sizes"}}},
    "exact": {"spins": [5], "t_end": 1.0, "dt": 0.1, "output_every": 0.2,
              "table_times": [0.2, 1.0]},
}
