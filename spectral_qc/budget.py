"""What a run will cost before it starts: ``spectral-qc check`` and the size limits of ``run``.

:func:`estimate` gives the resolved summary of a config — grid, N, steps, outputs,
checkpoints — with an estimate of the disk use (from the sizes of what is written) and of
the run time (from a few timed steps). :func:`refusal` says why ``run`` refuses a run
beyond :data:`MAX_OUTPUTS` outputs or :data:`MAX_DISK_BYTES` on disk (``--force`` runs it).
"""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass

from .diagnostics import DIAGNOSTICS

#: ``run`` refuses more outputs than this without ``--force``.
MAX_OUTPUTS = 100_000
#: ``run`` refuses an estimated disk use above this without ``--force`` (bytes).
MAX_DISK_BYTES = 20 * 2**30
#: Steps timed for the run-time estimate (after one untimed warm-up step).
TIMED_STEPS = 3


@dataclass(frozen=True)
class Estimate:
    """The resolved size of a run (see :func:`estimate`); sizes in bytes, times in seconds."""

    model: str
    scheme: str
    N: int
    lmax: int
    nlat: int
    nphi: int
    steps: int
    outputs: int
    checkpoints: int
    diagnostics_bytes: int
    fields_bytes: int
    checkpoint_bytes: int
    step_s: float | None

    @property
    def disk_bytes(self) -> int:
        """Diagnostics, fields (when written) and the checkpoints kept."""
        return self.diagnostics_bytes + self.fields_bytes + self.checkpoint_bytes

    @property
    def run_s(self) -> float | None:
        return None if self.step_s is None else self.step_s * self.steps

    def lines(self) -> list:
        """The summary as lines of text (``spectral-qc check``)."""
        t = "not timed" if self.run_s is None else f"≈ {_seconds(self.run_s)} " \
            f"({self.step_s * 1e3:.3g} ms per step)"
        grid = (f"grid lmax = {self.lmax}: {self.nlat} × {self.nphi} (nlat × nphi)"
                if not isinstance(self.lmax, tuple) else  # several classical spins
                f"grid lmax = {list(self.lmax)}: " + " × ".join(
                    f"({a} × {b})" for a, b in zip(self.nlat, self.nphi))
                + f" (nlat × nphi per spin) = {_points(self):,} points")
        return [f"model {self.model}, N = {self.N}, scheme {self.scheme}", grid,
                f"{self.steps} steps, {self.outputs} outputs, {self.checkpoints} checkpoints",
                f"disk ≈ {_bytes(self.disk_bytes)} (diagnostics {_bytes(self.diagnostics_bytes)}"
                f", fields {_bytes(self.fields_bytes)}, checkpoints "
                f"{_bytes(self.checkpoint_bytes)})",
                f"run time {t}"]


def _points(est) -> int:
    """Grid points of the run: nlat·nphi, or Π_a nlat_a·nphi_a on a product of spheres."""
    if not isinstance(est.lmax, tuple):
        return est.nlat * est.nphi
    return math.prod(a * b for a, b in zip(est.nlat, est.nphi))


def _bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.3g} {unit}"
        n /= 1000


def _seconds(s: float) -> str:
    if s < 120:
        return f"{s:.3g} s"
    if s < 7200:
        return f"{s / 60:.3g} min"
    if s < 3 * 86400:
        return f"{s / 3600:.3g} h"
    return f"{s / 86400:.3g} days"


def _diagnostic_floats(N: int) -> int:
    """Numbers recorded per output (rho_q_* are N×N, n_mean 3, the others 1)."""
    sizes = {"xyz": 3, "i": N, "j": N}
    total = 0
    for d in DIAGNOSTICS.values():
        n = 1
        for dim in d.dims:
            n *= sizes.get(dim, 1)
        total += n
    return total


def estimate(config, *, time_steps=True) -> Estimate:
    """Size, disk use and run time of a validated config.

    Parameters
    ----------
    config : Config
    time_steps : bool
        Build the Simulation and time :data:`TIMED_STEPS` steps (False: no run-time
        estimate, nothing is built).
    """
    from .sphere.grid import default_nlat

    c = config
    steps = c.steps
    k_out = max(1, round(c.time.output_every / c.time.dt))
    k_ck = max(1, round(c.output.checkpoint_every / c.time.dt))
    outputs = steps // k_out + 1
    checkpoints = steps // k_ck + 1
    N = c.N
    if c.spins > 1:  # a product of spheres: real coefficients Π (lmax_a+1)², ϱ, P and q
        from .sphere.legendre import product_nlat

        nlat = tuple(product_nlat(L) for L in c.grid.lmax)
        nphi = tuple(2 * n for n in nlat)
        ckpt_bytes = 8 * (2 + N * N) * math.prod((L + 1) ** 2 for L in c.grid.lmax)
        points = math.prod(a * b for a, b in zip(nlat, nphi))
    else:
        nlat = default_nlat(c.grid.lmax)
        nphi = 2 * nlat
        nlm = (c.grid.lmax + 1) * (c.grid.lmax + 2) // 2
        ckpt_bytes = 16 * (1 + N * N) * nlm
        points = nlat * nphi
    step_s = None
    if time_steps and steps > 0:
        from .simulation import Simulation

        sim = Simulation(c)
        sim.step()
        start = _time.perf_counter()
        n = min(TIMED_STEPS, max(steps - 1, 1))
        for _ in range(n):
            sim.step()
        step_s = (_time.perf_counter() - start) / n
    return Estimate(model=c.model.kind, scheme=c.solver.scheme, N=N, lmax=c.grid.lmax,
                    nlat=nlat, nphi=nphi, steps=steps, outputs=outputs,
                    checkpoints=checkpoints,
                    diagnostics_bytes=8 * outputs * (1 + _diagnostic_floats(N)),
                    fields_bytes=(8 * outputs * (1 + 2 * N * N) * points
                                  if c.output.fields else 0),
                    checkpoint_bytes=ckpt_bytes * min(checkpoints, c.output.keep_checkpoints),
                    step_s=step_s)


def refusal(est: Estimate) -> str | None:
    """Why ``run`` refuses this run without ``--force`` (None: it does not)."""
    if est.outputs > MAX_OUTPUTS:
        return (f"{est.outputs} outputs (more than {MAX_OUTPUTS}): raise time.output_every, "
                "shorten time.t_end, or pass --force")
    if est.disk_bytes > MAX_DISK_BYTES:
        return (f"≈ {_bytes(est.disk_bytes)} on disk (more than {_bytes(MAX_DISK_BYTES)}): "
                "set output.fields = false, raise time.output_every, or pass --force")
    return None
