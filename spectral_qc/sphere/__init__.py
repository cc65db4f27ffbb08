"""Sphere spectral engine: the Gauss grid, transforms (shtns) and differential operators."""

from .grid import SphereGrid, default_nlat
from .operators import (
    bracket,
    bracket_from_gradients,
    divergence,
    exponential_filter,
    gradient,
    hamiltonian_vector_field,
    heat_kernel,
    integrate,
    inverse_laplacian,
    laplacian,
    power_spectrum,
    resample,
)

__all__ = [
    "SphereGrid", "default_nlat", "bracket", "bracket_from_gradients", "divergence",
    "exponential_filter", "gradient", "hamiltonian_vector_field", "heat_kernel", "integrate",
    "inverse_laplacian", "laplacian", "power_spectrum", "resample",
]
