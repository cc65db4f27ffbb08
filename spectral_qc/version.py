"""The package version and the versions of the libraries a result depends on."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("spectral_qc")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

#: Distributions whose versions are recorded with every run (status.json).
RECORDED = ("spectral_qc", "numpy", "scipy", "shtns", "numba", "xarray", "netCDF4", "h5netcdf")


def versions() -> dict:
    """``{distribution: version}`` of :data:`RECORDED` (those installed) and Python."""
    import platform

    out = {"python": platform.python_version()}
    for name in RECORDED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out
