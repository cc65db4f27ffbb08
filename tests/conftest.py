"""Shared fixtures: cached sphere grids and a seeded random generator."""

import functools

import numpy as np
import pytest

from spectral_qc import SphereGrid


@functools.lru_cache(maxsize=None)
def sphere(lmax):
    """A cached SphereGrid (shtns set-up is the expensive part)."""
    return SphereGrid(lmax)


@pytest.fixture
def rng():
    return np.random.default_rng(20261126)


def random_coefficients(grid, rng, *, batch=(), lmax=None, decay=0.0):
    """Random valid coefficients of real fields: m = 0 entries real, degrees ≤ lmax.

    ``decay`` > 0 multiplies degree l by exp(-decay l) (a smooth field).
    """
    lmax = grid.lmax if lmax is None else lmax
    shape = tuple(batch) + (grid.nlm,)
    c = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    c = np.where(grid.m == 0, c.real, c)
    c = np.where(grid.l <= lmax, c, 0.0)
    return c * np.exp(-decay * grid.l)
