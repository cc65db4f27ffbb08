"""Fields on a product of spheres (S²)^j and their operators (paper §4.4, eq. 55).

A point is (n_1, …, n_j), one unit vector per classical spin a, each factor with its own
truncation lmax_a and Gauss grid (:class:`~spectral_qc.sphere.legendre.FactorGrid`). Fields
are expanded in tensor products of the factors' real orthonormal harmonics:

* spectral arrays ``(..., ncoef)`` real, ``ncoef = Π_a (lmax_a+1)²``: the C-order
  flattening of ``(..., ncoef_1, …, ncoef_j)``; index 0 is the constant mode, whose basis
  function is (4π)^(−j/2);
* grid arrays ``(..., nlat_1, nphi_1, …, nlat_j, nphi_j)`` real (:attr:`ProductGrid.shape`);
* tangent fields ``(2j, ..., *shape)``: the orthonormal (θ_a, φ_a) pair of every factor in
  turn, ``v[2a] = v_θa``, ``v[2a+1] = v_φa``.

Each product transform applies the one-sphere transform along every factor, to thousands of
one-sphere fields at once (dense Legendre tables through BLAS + FFT, the fastest option by
measurement, docs/performance.md "Product spheres"). For j = 1 this is the ordinary sphere:
:meth:`ProductGrid.from_sphere` / :meth:`ProductGrid.to_sphere` convert SphereGrid's complex
coefficients.

Conventions (docs/numerics.md, "Product spheres"): with S_a the magnitude of spin a,

    {f, g} = Σ_a (1/S_a) n_a·(∇_a f × ∇_a g),     X_f = ((1/S_1) ∇_1 f × n_1, …).
"""

from __future__ import annotations

import collections
import math

import numpy as np

from ..errors import ConfigError
from .legendre import FactorGrid


def _as_list(value, j, name):
    """A per-factor value: a number for all factors or a list of j of them."""
    if np.ndim(value) == 0:
        return [value] * j
    value = list(value)
    if len(value) != j:
        raise ConfigError(f"{name} = {value!r}: give one number or a list of {j} (one per spin)")
    return value


class ProductGrid:
    """Spectral engine on (S²)^j, j = 1, 2, 3.

    Parameters
    ----------
    lmax : int or sequence of int
        Truncation of each factor (a number: one sphere, unless ``spins`` says more).
    nlat : int or sequence, optional
        Gauss latitudes of each factor (default :func:`~.legendre.product_nlat`).
    spins : int, optional
        j, when ``lmax`` is a number shared by all factors.

    Attributes
    ----------
    factors : list of FactorGrid
    j : int
    shape : tuple — grid shape ``(nlat_1, nphi_1, …, nlat_j, nphi_j)``
    spec_shape : tuple — ``(ncoef_1, …, ncoef_j)``; ncoef : int — their product
    n : tuple of j arrays ``(3, 1, …, nlat_a, nphi_a, …, 1)`` — the unit vectors n_a at the
        nodes, broadcastable against the grid shape (no full-size copies)
    counts : collections.Counter — product transforms by kind, one per real field
    """

    def __init__(self, lmax, *, nlat=None, spins=None):
        j = spins if spins is not None else (1 if np.ndim(lmax) == 0 else len(lmax))
        if j not in (1, 2, 3):
            raise ConfigError(f"model.spin_magnitude: {j} classical spins; 1, 2 or 3 are supported")
        lmaxes = _as_list(lmax, j, "grid.lmax")
        nlats = _as_list(nlat, j, "grid.nlat")
        self.factors = [FactorGrid(L, n) for L, n in zip(lmaxes, nlats)]
        self.j = j
        self.lmax = tuple(f.lmax for f in self.factors)
        self.shape = sum(((f.nlat, f.nphi) for f in self.factors), ())
        self.spec_shape = tuple(f.ncoef for f in self.factors)
        self.ncoef = math.prod(self.spec_shape)
        self.npoints = math.prod(self.shape)
        self.constant_mode = (4 * np.pi) ** (-j / 2)
        self.n = tuple(self._broadcast(a, self._unit_vectors(f)) for a, f in enumerate(self.factors))
        self.counts = collections.Counter()

    def __repr__(self):
        return f"ProductGrid(lmax={list(self.lmax)}, shape={self.shape})"

    @staticmethod
    def _unit_vectors(f):
        st, ct = np.sin(f.theta)[:, None], np.cos(f.theta)[:, None]
        return np.stack([st * np.cos(f.phi), st * np.sin(f.phi), np.broadcast_to(ct, (f.nlat, f.nphi))])

    def _broadcast(self, a, arr):
        """Factor-a grid array ``(k, nlat_a, nphi_a)`` → ``(k, 1, …, nlat_a, nphi_a, …, 1)``."""
        shape = [1] * (2 * self.j)
        shape[2 * a: 2 * a + 2] = arr.shape[-2:]
        return arr.reshape(arr.shape[:-2] + tuple(shape))

    def tangent_basis(self, a):
        """e_θ and e_φ of factor a in Cartesian components, each ``(3, …broadcastable…)``."""
        f = self.factors[a]
        st, ct = np.sin(f.theta)[:, None], np.cos(f.theta)[:, None]
        cp, sp = np.cos(f.phi)[None], np.sin(f.phi)[None]
        e_t = np.stack([ct * cp, ct * sp, np.broadcast_to(-st, (f.nlat, f.nphi))])
        e_p = np.stack([np.broadcast_to(-sp, (f.nlat, f.nphi)), np.broadcast_to(cp, (f.nlat, f.nphi)),
                        np.zeros((f.nlat, f.nphi))])
        return self._broadcast(a, e_t), self._broadcast(a, e_p)

    # ------------------------------------------------------------- layout helpers
    def _check_spec(self, c, name="coefficients"):
        c = np.asarray(c)
        if c.shape[-1:] != (self.ncoef,) or np.iscomplexobj(c):
            raise ConfigError(f"{name}: product spectral arrays are real and end in ncoef = "
                              f"{self.ncoef}, got {c.dtype} {c.shape}")
        return c

    def _check_grid(self, f, name="field"):
        f = np.asarray(f)
        if f.shape[f.ndim - 2 * self.j:] != self.shape or np.iscomplexobj(f):
            raise ConfigError(f"{name}: product grid arrays are real and end in shape "
                              f"{self.shape}, got {f.dtype} {f.shape}")
        return f

    def _along(self, arr, batch, dims, a, func, *more):
        """Apply ``func`` to the axes of factor a of ``arr`` (per-factor axis sizes ``dims``)."""
        pre = math.prod(batch) * math.prod(math.prod(d) for d in dims[:a])
        post = math.prod(math.prod(d) for d in dims[a + 1:])
        views = [x.reshape((pre,) + dims[a] + (post,)) for x in (arr,) + more]
        return func(*views)

    def _to_grid(self, c, batch, dims, a, kind="value", out=None):
        """Synthesis along factor a; ``out`` (the result's shape): written into."""
        fa = self.factors[a]
        new = dims[:a] + [(fa.nlat, fa.nphi)] + dims[a + 1:]
        target = None
        if out is not None and out.flags.c_contiguous:
            pre = math.prod(batch) * math.prod(math.prod(d) for d in dims[:a])
            post = math.prod(math.prod(d) for d in dims[a + 1:])
            target = out.reshape((pre, fa.nlat, fa.nphi, post))
        res = self._along(c, batch, dims, a, lambda x: fa.synthesize(x, kind, out=target))
        res = res.reshape(batch + sum(new, ()))
        if out is not None and target is None:
            out[...] = res
        return res, new

    def _to_spec(self, f, batch, dims, a, kind="value"):
        fa = self.factors[a]
        out = self._along(f, batch, dims, a, lambda x: fa.analyse(x, kind))
        dims = dims[:a] + [(fa.ncoef,)] + dims[a + 1:]
        return out.reshape(batch + sum(dims, ())), dims

    def _spec_dims(self):
        return [(f.ncoef,) for f in self.factors]

    def _grid_dims(self):
        return [(f.nlat, f.nphi) for f in self.factors]

    # ------------------------------------------------------------------ transforms
    def synthesis(self, c):
        """Grid values ``(..., *shape)`` of product coefficients ``(..., ncoef)``."""
        c = self._check_spec(c)
        batch = c.shape[:-1]
        x, dims = c, self._spec_dims()
        for a in reversed(range(self.j)):
            x, dims = self._to_grid(x, batch, dims, a)
        self.counts["synthesis"] += math.prod(batch)
        return x.reshape(batch + self.shape)

    def analysis(self, f):
        """Product coefficients ``(..., ncoef)`` of grid fields ``(..., *shape)``."""
        f = self._check_grid(f)
        batch = f.shape[:f.ndim - 2 * self.j]
        x, dims = f, self._grid_dims()
        for a in range(self.j):
            x, dims = self._to_spec(x, batch, dims, a)
        self.counts["analysis"] += math.prod(batch)
        return x.reshape(batch + (self.ncoef,))

    def gradient(self, c):
        """Tangent gradient ``(2j, ..., *shape)``: (∂θ_a f, (1/sinθ_a) ∂φ_a f) for every a."""
        c = self._check_spec(c)
        batch = c.shape[:-1]
        out = np.empty((2 * self.j,) + batch + self.shape)
        self._gradient_into(c, out)
        return out

    def _gradient_into(self, c, out):
        """:meth:`gradient` of ``c`` ``(k, ncoef)`` into ``out`` ``(2j, k, *shape)``."""
        for a in range(self.j):
            self._factor_gradient_into(a, c, out[2 * a:2 * a + 2])
        self.counts["gradient"] += math.prod(c.shape[:-1])
        return out

    def factor_gradient(self, a, c):
        """The tangent pair of spin a only, (∂θ_a f, (1/sinθ_a) ∂φ_a f): ``(2, ..., *shape)``
        for coefficients ``(..., ncoef)`` (a caller that needs one spin's pair at a time
        holds 2 instead of 2j fields)."""
        c = self._check_spec(c)
        out = np.empty((2,) + c.shape[:-1] + self.shape)
        self._factor_gradient_into(a, c, out)
        self.counts["factor_gradient"] += math.prod(c.shape[:-1])
        return out

    def _factor_gradient_into(self, a, c, out):
        """Spin a's pair of the gradient of ``c`` ``(k, ncoef)`` into ``out`` ``(2, k, *shape)``."""
        batch = c.shape[:-1]
        x, dims = c, self._spec_dims()
        for b in reversed(range(self.j)):  # every other factor to the grid first
            if b != a:
                x, dims = self._to_grid(x, batch, dims, b)
        for k, kind in enumerate(("dtheta", "dphi")):  # the last stage: into out
            self._to_grid(x, batch, dims, a, kind, out=out[k])
        return out

    def _synthesis_into(self, c, out):
        out[...] = self.synthesis(c)
        return out

    def divergence(self, v):
        """Coefficients ``(..., ncoef)`` of div v = Σ_a div_a(v_θa, v_φa) for a tangent field
        ``v`` ``(2j, ..., *shape)`` (Gauss quadrature of −∫∇ψ·v, per factor)."""
        v = np.asarray(v)
        if v.shape[0] != 2 * self.j:
            raise ConfigError(f"divergence: tangent fields have 2j = {2 * self.j} components first, "
                              f"got shape {v.shape}")
        total = self.factor_divergence(0, v[0], v[1])
        for a in range(1, self.j):
            total += self.factor_divergence(a, v[2 * a], v[2 * a + 1])
        return total

    def factor_divergence(self, a, v_theta, v_phi):
        """Coefficients ``(..., ncoef)`` of div_a of the tangent pair (v_θa, v_φa) of factor a,
        each ``(..., *shape)`` (lets a caller build one factor's pair at a time)."""
        fa = self.factors[a]
        batch = v_theta.shape[:v_theta.ndim - 2 * self.j]
        dims = self._grid_dims()
        d = self._along(v_theta, batch, dims, a, lambda x, y: fa.divergence(x, y), v_phi)
        dims = dims[:a] + [(fa.ncoef,)] + dims[a + 1:]
        d = d.reshape(batch + sum(dims, ()))
        for b in range(self.j):
            if b != a:
                d, dims = self._to_spec(d, batch, dims, b)
        self.counts["factor_divergence"] += math.prod(batch)
        return d.reshape(batch + (self.ncoef,))

    # ------------------------------------------------------------------ operators
    def hamiltonian_vector_field(self, c, spin_magnitude=1.0):
        """X_f = ((1/S_a) ∇_a f × n_a)_a = ((1/S_a)(f_φa, −f_θa))_a; ``(2j, ..., *shape)``."""
        return self.cross_n(self.gradient(c), spin_magnitude)

    def cross_n(self, v, spin_magnitude=1.0):
        """(1/S_a) v_a × n_a for every factor: ``(v_φa, −v_θa)/S_a``; ``(2j, ...)``."""
        s = _as_list(spin_magnitude, self.j, "spin_magnitude")
        out = np.empty_like(v)
        for a in range(self.j):
            np.multiply(v[2 * a + 1], 1.0 / s[a], out=out[2 * a])
            np.multiply(v[2 * a], -1.0 / s[a], out=out[2 * a + 1])
        return out

    def bracket_from_gradients(self, grad_f, grad_g, spin_magnitude=1.0):
        """{f, g} = Σ_a (1/S_a)(f_θa g_φa − f_φa g_θa) from ``(2j, ...)`` gradients (§4.4)."""
        s = _as_list(spin_magnitude, self.j, "spin_magnitude")
        return sum((grad_f[2 * a] * grad_g[2 * a + 1] - grad_f[2 * a + 1] * grad_g[2 * a]) / s[a]
                   for a in range(self.j))

    def bracket(self, f_c, g_c, spin_magnitude=1.0):
        """{f, g} on the grid for product coefficients (paper §4.4 bracket)."""
        return self.bracket_from_gradients(self.gradient(f_c), self.gradient(g_c), spin_magnitude)

    def integrate(self, f):
        """∫ f dA_1 … dA_j for grid fields ``(..., *shape)``; returns ``(...)``."""
        x = np.asarray(f)
        for fa in reversed(self.factors):
            x = np.tensordot(x, fa.weights, axes=([-2, -1], [0, 1]))
        return x

    def evaluate(self, c, points):
        """A field at arbitrary points from its coefficients.

        Parameters
        ----------
        c : array_like (ncoef,)
        points : sequence of j pairs (θ_a, φ_a), each an array (k,) in radians

        Returns
        -------
        ndarray (k,)
        """
        c = self._check_spec(c).reshape(self.spec_shape)
        if len(points) != self.j:
            raise ConfigError(f"evaluate: give j = {self.j} (theta, phi) pairs")
        basis = [f.basis_values(t, p) for f, (t, p) in zip(self.factors, points)]
        letters = "abc"[:self.j]
        spec = ",".join(f"{x}k" for x in letters)
        return np.einsum(f"{letters},{spec}->k", c, *basis)

    def per_factor(self, values):
        """A multiplier ``(ncoef,)`` from per-factor ones ``values[a]`` ``(ncoef_a,)``."""
        out = np.ones(())
        for v in values:
            out = np.multiply.outer(out, v)
        return out.reshape(self.ncoef)

    def degrees(self, a):
        """Degree l_a of every product coefficient, ``(ncoef,)``."""
        return self.per_factor([f.l if b == a else np.ones(f.ncoef) for b, f in enumerate(self.factors)])

    def tail_fractions(self, c, fraction=0.1):
        """Per spin a, the fraction of ∫|F|² dA_1 … dA_j in the top ``fraction`` of spin a's
        degrees (l_a > (1 − fraction)·lmax_a): a tuple of j floats.

        ``c`` ``(..., ncoef)``: one field or the components of one matrix field (powers summed
        over the leading axes: the Frobenius norm; the total includes the mean, so that
        fields vanishing to round-off give no spurious ratio). 0 for an empty or zero field.
        """
        c = np.asarray(c)
        if c.size == 0:
            return (0.0,) * self.j
        power = (c.reshape(-1, self.ncoef) ** 2).sum(axis=0)  # orthonormal basis: Parseval
        total = power.sum()
        if not total > 0:
            return (0.0,) * self.j
        return tuple(float(power[self.degrees(a) > np.floor((1 - fraction) * f.lmax)].sum()
                           / total) for a, f in enumerate(self.factors))

    def heat_kernel(self, c, alpha):
        """exp(Σ_a α_a ∇_a²) f: ``Π_a exp(−α_a l_a(l_a+1))`` per coefficient; α ≥ 0."""
        alphas = _as_list(alpha, self.j, "alpha")
        if any(a < 0 for a in alphas):
            raise ConfigError(f"heat kernel: alpha = {alpha} must be ≥ 0")
        return self.per_factor([np.exp(-al * f.l * (f.l + 1))
                                for al, f in zip(alphas, self.factors)]) * np.asarray(c)

    def exponential_filter(self, c, *, order=36, strength=36.0):
        """Product of the factors' filters exp(−strength (l_a/lmax_a)^order)."""
        return self.per_factor([np.exp(-strength * (f.l / f.lmax) ** order)
                                for f in self.factors]) * np.asarray(c)

    # -------------------------------------------------------------- one sphere
    def from_sphere(self, f_lm):
        """j = 1: real coefficients ``(..., ncoef)`` of SphereGrid coefficients ``(..., nlm)``."""
        self._need_one_sphere()
        return self.factors[0].from_sphere_coefficients(f_lm)

    def to_sphere(self, c):
        """j = 1: SphereGrid's complex coefficients ``(..., nlm)`` of ``(..., ncoef)``."""
        self._need_one_sphere()
        return self.factors[0].to_sphere_coefficients(c)

    def _need_one_sphere(self):
        if self.j != 1:
            raise ConfigError(f"conversion to one sphere needs j = 1, this grid has j = {self.j}")
