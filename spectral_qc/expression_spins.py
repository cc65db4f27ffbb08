"""The variables of several classical spins in coefficient expressions (paper §4.4).

``n1x, n1y, n1z, …, njz`` are the Cartesian components of spin a = 1 … j; ``nx, ny, nz``
keep meaning spin 1, so a one-spin expression reads the same with several spins. Used by
:class:`spectral_qc.expressions.Expression` (``spins = j``).
"""

from __future__ import annotations

import re

from .errors import ConfigError

#: Most classical spins an expression can name (n1x … n3z).
MAX_SPINS = 3
_SPIN_NAME = re.compile(r"n([0-9]+)([xyz])")
_ONE_SPIN = ("nx", "ny", "nz")


def spin_variables(spins: int) -> dict[str, tuple[int, int]]:
    """The variables of ``spins`` classical spins: name → (spin index a, component 0–2),
    0-based; ``nx, ny, nz`` are spin index 0, ``n{a}x`` … spin index a − 1."""
    out = {name: (0, c) for c, name in enumerate(_ONE_SPIN)}
    for a in range(spins):
        out.update({f"n{a + 1}{x}": (a, c) for c, x in enumerate("xyz")})
    return out


def missing_spin(text: str, name: str, spins: int | None) -> ConfigError | None:
    """The error for a name ``n<a><x>`` of a spin the config does not declare (else None).

    ``text``: the expression as quoted in messages; ``spins``: the declared j (None: one
    spin, whose ``n1x`` stays an unknown name with the hint "did you mean 'nx'?").
    """
    m = _SPIN_NAME.fullmatch(name)
    have = 1 if spins is None else spins
    if m is None or (1 <= int(m.group(1)) <= have and (spins is not None or m.group(1) == "1")):
        return None
    a = int(m.group(1))
    listed = ", ".join(f"S{b + 1}" for b in range(a))
    fix = (f"declare {a} spins with [model] spin_magnitude = [{listed}] (a list, one S per "
           f"spin; at most {MAX_SPINS})" if 1 <= a <= MAX_SPINS
           else f"spins are numbered 1 to {MAX_SPINS}")
    one = "; with one spin write nx, ny, nz" if have == 1 else ""
    return ConfigError(f"expression {text}: the variable {name!r} is of spin {a}, but the "
                       f"config declares {have} classical spin{'s' if have > 1 else ''}: "
                       f"{fix}{one}")
