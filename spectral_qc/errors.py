"""Exceptions raised by spectral_qc.

Every error a user can cause derives from :class:`SpectralQCError`; the command line
maps :class:`ConfigError` to exit code 2 and :class:`NumericalFailure` to exit code 3.
"""


class SpectralQCError(Exception):
    """Base class of all errors raised by spectral_qc."""


class ConfigError(SpectralQCError, ValueError):
    """Bad input: names the key, the value and what is allowed (CLI exit code 2)."""


class NumericalFailure(SpectralQCError, RuntimeError):
    """A run stopped because the numerical solution is no longer trustworthy (exit 3).

    Attributes
    ----------
    time : float or None
        Simulation time at which the failure was detected (None where it was raised
        below the clock, e.g. by the grid; the Simulation adds the time).
    quantity : str
        Name of the diagnostic that failed (e.g. ``"min_rho"``, ``"spectral_tail"``).
    value : float
        Its value at that time.
    diagnostics : xarray.Dataset or None
        The diagnostics recorded up to and including the failing time.
    """

    def __init__(self, message, *, time=None, quantity="state", value=float("nan"),
                 diagnostics=None):
        super().__init__(message)
        self.time = time
        self.quantity = quantity
        self.value = value
        self.diagnostics = diagnostics


class PositivityLost(NumericalFailure):
    """min ϱ or min eig P fell below its tolerance."""


class NonFiniteState(NumericalFailure):
    """The state contains NaN or infinity (raised by the grid's transforms, too)."""


class SmoothedDensityLost(PositivityLost):
    """A regularizer's smoothed density ϱ̃ is not positive, so ln ϱ̃ is undefined."""


class InstabilityDetected(NumericalFailure):
    """Short-wave growth: the spectral tail passed its threshold or grows too fast."""


class CharacteristicsCross(NumericalFailure):
    """The area Jacobian J of the flow of X fell below its threshold: neighbouring
    characteristics meet, and the field model has no smooth solution past this time
    (docs/stability.md, "Crossing characteristics"). Raising lmax moves this stop only
    slightly."""
