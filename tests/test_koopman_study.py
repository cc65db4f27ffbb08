"""The Koopman study (validation/studies/koopman.py) in --fast mode: its files, and the
properties it reports checked against independent references."""

import json

import numpy as np
import pytest

from spectral_qc.hamiltonians import Hamiltonian
from spectral_qc.sphere import SphereGrid
from validation.studies.koopman import degree0_terms, main


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("koopman")
    assert main(["--fast", "--out", str(out)]) == 0  # every pass/fail row passes
    return out, json.loads((out / "results" / "koopman.json").read_text())


def test_the_one_command_writes_json_markdown_report_section_and_figures(study):
    out, res = study
    for name in ("claim", "map", "exact_trace_distance", "exact_purity"):
        assert (out / "figures" / f"koopman_{name}.png").stat().st_size > 10_000
    report = (out / "REPORT.md").read_text()
    assert report.count("koopman study: begin") == 1 and "### (c)" in report
    assert (out / "results" / "koopman.md").read_text() == res["about"]


def test_linear_H_without_sigma_z_gives_the_rotated_liouville_density(study):
    # H = (0.3nx + 0.5nz)·1 has L = n·∇H − H = 0 and a real Υ: ρc is ϱ0 rigidly rotated
    # about B (closed form in the study, not the solver)
    assert study[1]["data"]["liouville_check"]["rel_diff"] <= 1e-9


def test_sign_is_kept_exactly_when_the_phase_term_is_constant(study):
    claim = study[1]["data"]["claim"]
    for label, case in claim.items():
        run = next(iter(case["runs"].values()))
        top = max(run["rho_c_max"])
        if case["lagrangian"] in ("L = 0", "L = −0.35σz"):
            assert min(run["rho_c_min"]) >= -1e-12 * top, label
    # a σz-only H with a non-constant phase term breaks the sign on the sphere by t = 2
    run = next(iter(claim["H0 = 0.3nx, H1 = nx nz"]["runs"].values()))
    assert max(run["negative_mass"]) > 1e-2


def test_the_paper_density_in_R3_is_sign_preserving_and_its_marginal_is_rho_c(study):
    sh = study[1]["data"]["shell"]
    nm3 = np.array(sh["neg_mass_3d"])
    assert nm3[0] > 1.0                                         # D0 of a shell is signed
    assert np.max(np.abs(nm3 - nm3[0])) <= 1e-3 * nm3[0]       # conserved (Liouville in R³)
    assert sh["neg_mass_sphere"][-1] > 1e-3                    # the sphere ρc is not
    assert max(sh["marginal_vs_sphere"]) <= 1e-3               # marginal → ρc as δ²
    assert max(sh["div_integral"]) <= 1e-12                    # div(n·) integrates out


def test_exact_comparison_starts_at_zero_distance_and_the_reference_is_unitary(study):
    for s, e in study[1]["data"]["exact"].items():
        assert np.max(np.abs(np.array(e["exact"]["trace"]) - 1)) <= 1e-12
        assert e["exact"]["purity"][0] == pytest.approx(1.0, abs=1e-12)   # pure ρq0
        for m in e["models"].values():
            assert m["trace_distance"][0] <= 1e-12
            assert np.all(np.isfinite(m["trace_distance"]))


def test_degree0_writing_has_phase_term_minus_H():
    g = SphereGrid(15, nthreads=1)
    terms = [{"op": "X", "coef": "0.5*nx"}, {"op": "Z", "coef": "0.5*nz + 0.25"},
             {"op": "I", "coef": "0.3*nz"}]
    h0, h1 = Hamiltonian.from_config(terms), Hamiltonian.from_config(degree0_terms(terms))
    assert np.max(np.abs(h1.evaluate(g.n) - h0.evaluate(g.n))) < 1e-14   # same on S²
    assert np.max(np.abs(h1.lagrangian(g.n) + h1.evaluate(g.n))) < 1e-13  # L = −H
    assert np.max(np.abs(h0.lagrangian(g.n)[0, 0] + 0.25)) < 1e-14        # as written: −¼σz
