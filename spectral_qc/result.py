"""The outcome of :meth:`spectral_qc.Simulation.run` (QuTiP's Result, for one run)."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Exit code of ``spectral-qc`` for each status (contract §3).
EXIT_CODES = {"ok": 0, "config_error": 2, "numerical_failure": 3, "interrupted": 130}


@dataclass(eq=False)
class Result:
    """What a run did and what it produced.

    Attributes
    ----------
    status : str
        ``"ok"`` (reached t_end), ``"numerical_failure"`` (a stop criterion or a non-finite
        state ended it) or ``"interrupted"`` (Ctrl-C / SIGINT).
    reason : str or None
        The failure message (time, quantity, value, likely cause); None when ``"ok"``.
    t_last : float
        The clock when the run ended.
    diagnostics : xarray.Dataset
        Every recorded diagnostic over ``time`` (contract §4), up to the end.
    final_state : State
        The state at ``t_last`` (the last good state after a failure inside a step).
    stats : dict
        ``wall_s`` (seconds), ``steps`` (taken in this call), ``transforms`` (counts by
        kind, :attr:`spectral_qc.SphereGrid.counts`).
    error : Exception or None
        The NumericalFailure or KeyboardInterrupt that ended the run.

    Item and attribute access the Result does not have go to :attr:`diagnostics`, so
    ``ds = sim.run(); ds["energy"]`` works as it did when ``run`` returned the Dataset.
    """

    status: str
    reason: str | None
    t_last: float
    diagnostics: object
    final_state: object
    stats: dict = field(default_factory=dict)
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """True when the run reached its end time."""
        return self.status == "ok"

    @property
    def exit_code(self) -> int:
        """The ``spectral-qc`` exit code of this outcome (0, 3 or 130)."""
        return EXIT_CODES[self.status]

    def __getitem__(self, key):
        return self.diagnostics[key]

    def __iter__(self):  # the variable names, as for the Dataset
        return iter(self.diagnostics)

    def __contains__(self, key):
        return key in self.diagnostics

    def __len__(self):
        return len(self.diagnostics)

    def __getattr__(self, name):
        if name.startswith("__") or name == "diagnostics":
            raise AttributeError(name)
        return getattr(self.diagnostics, name)

    def __repr__(self):
        s = self.stats
        lines = [f"Result(status={self.status!r}, t_last={self.t_last:.6g}, "
                 f"outputs={self.diagnostics.sizes.get('time', 0)}, "
                 f"steps={s.get('steps', 0)}, wall={s.get('wall_s', 0.0):.3g} s)"]
        if self.reason:
            lines.append(f"  reason: {self.reason}")
        lines.append("  diagnostics: " + ", ".join(self.diagnostics.data_vars))
        return "\n".join(lines)
