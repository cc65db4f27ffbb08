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
}

PROFILES = {"full": FULL, "fast": FAST}


def sibling(section, name):
    """The ``name`` section of the profile that contains ``section`` (studies sharing runs)."""
    for prof in PROFILES.values():
        if any(v is section for v in prof.values()):
            return prof[name]
    raise KeyError(f"no profile contains this section (looking for {name!r})")
