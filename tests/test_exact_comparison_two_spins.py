"""The two-classical-spin exact comparison study (validation/exact_comparison_two_spins.py)
in its reduced mode: the models start from the exact ρ̂q (the product vMF carries ρq0 to
1e-10), the exact reference has unit trace, a model that fails is recorded with its time,
and ρ̂q moves away from ρq0 at the rate the exact solution does."""

import numpy as np

from validation import exact_comparison_two_spins as study


def test_two_spin_study_fast_mode():
    res = study.study("fast", log=lambda *a: None)
    entry = res["spins"]["2"]
    assert np.abs(np.asarray(entry["exact"]["trace"]) - 1.0).max() < 1e-12
    assert entry["exact"]["dimension"] == 2 * 5 * 5
    runs = {r["kind"]: r for r in entry["runs"]}
    for r in runs.values():
        assert r["time"][0] == 0.0
        assert r["trace_distance"][0] <= 1e-10
        assert r["trace_error"][0] <= 1e-10
        assert (r["stopped"] and r["stop_time"] > r["time"][-1] and r["message"]) or \
            (not r["stopped"] and r["time"][-1] == res["setup"]["t_end"])
    e = runs["ehrenfest"]
    assert not e["stopped"]
    # the exact ρ̂q moves by O(0.1) by t = 0.5; Ehrenfest follows it to a few 1e-2
    rho0 = np.array(e["rho_q"][0])
    moved = np.abs(np.array(e["rho_q"][-1]) - rho0).max()
    assert moved > 0.05
    assert 0.0 < e["trace_distance"][-1] < 0.5 * moved
    assert "| 2 | ehrenfest | 9 |" in res["markdown"]


def test_the_product_hamiltonian_is_the_exact_one():
    """The two transcriptions of H(n1, n2) agree at random points (A0 + n1·A + n2·B +
    n1ᵀ C n2 against ProductHamiltonian.evaluate)."""
    rng = np.random.default_rng(1)
    n1, n2 = (v / np.linalg.norm(v, axis=0) for v in rng.normal(size=(2, 3, 5)))
    A0, A, B, C = study.exact_matrices()
    ref = (A0[..., None] + np.einsum("ak,aij->ijk", n1, A) + np.einsum("bk,bij->ijk", n2, B)
           + np.einsum("ak,bk,abij->ijk", n1, n2, C))
    assert np.abs(study.product_hamiltonian().evaluate([n1, n2]) - ref).max() < 1e-14
