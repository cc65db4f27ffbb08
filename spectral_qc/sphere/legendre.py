"""One factor of a product of spheres: dense Legendre tables + FFT, batched through BLAS.

A :class:`FactorGrid` is the one-sphere transform of :mod:`spectral_qc.sphere.product`. It
works on *many* fields at once — the product transform applies it to thousands of
one-sphere fields — as one matrix product per order m (BLAS) and one real FFT along φ. By
measurement this is 5–20× faster than shtns called in a loop at the sizes of the product
models (docs/performance.md, "Product spheres").

Conventions as for :class:`~spectral_qc.sphere.SphereGrid` (θ colatitude, Gauss nodes north
first, φ_j = 2πj/nphi, orthonormal harmonics without the Condon–Shortley phase), but the
coefficients are **real**: a real field is

.. math::

    f = \\sum_{l} a_{l0}\\, λ_{l0}(θ) + \\sum_{m>0,\\,l} λ_{lm}(θ)\\,(a_{lm} \\cos mφ − b_{lm} \\sin mφ),

λ_l0 = N_l0 P_l0, λ_lm = √2 N_lm P_lm, an orthonormal real basis (Parseval: ∫f² dA = Σa² + Σb²).
With z_lm = a_lm + i b_lm = ∫ f λ_lm e^{−imφ} dA, f = Σ λ_lm Re(z_lm e^{imφ}); the shtns
coefficient of :class:`SphereGrid` is f_lm = z_lm/√2 (m > 0), f_l0 = z_l0.

Layout of the ``ncoef = (lmax+1)²`` coefficients: the ``nlm`` values a_lm in shtns order
(m-major, l ascending), then the b_lm of the m > 0 entries in the same order.

Arrays: spectral ``(pre, ncoef, post)``, grid ``(pre, nlat, nphi, post)`` — the factor's axes
sit between any leading (``pre``) and trailing (``post``) axes, so that a product transform
needs no transposes.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft as _fft

from ..errors import ConfigError


def product_nlat(lmax: int) -> int:
    """Gauss latitudes of one factor: the smallest even integer ≥ 3(lmax+1)/2 (the 3/2 rule,
    exact quadrature of quadratic products). No lower limit of 32: the dense transform has
    none (SphereGrid's comes from shtns)."""
    n = math.ceil(3 * (lmax + 1) / 2)
    return n + n % 2


def normalized_legendre(lmax: int, cos_theta):
    """λ_lm(θ) and dλ_lm/dθ for 0 ≤ m ≤ l ≤ lmax (orthonormal, no Condon–Shortley phase).

    Standard three-term recurrence in l for the 4π-normalized functions N_lm P_lm, then the
    √2 of the real basis for m > 0.

    Parameters
    ----------
    cos_theta : array_like (k,), cos θ of points off the poles for the derivative

    Returns
    -------
    lam, dlam : ndarray (lmax+1, lmax+1, k), indexed [l, m]; zero for m > l.
    """
    x = np.asarray(cos_theta, float)
    s = np.sqrt(np.maximum(0.0, 1 - x * x))
    L = lmax
    p = np.zeros((L + 1, L + 1) + x.shape)
    p[0, 0] = 1 / np.sqrt(4 * np.pi)
    for m in range(1, L + 1):
        p[m, m] = np.sqrt((2 * m + 1) / (2 * m)) * s * p[m - 1, m - 1]
    for m in range(L):
        p[m + 1, m] = np.sqrt(2 * m + 3) * x * p[m, m]
        for l in range(m + 2, L + 1):
            a = np.sqrt((4 * l * l - 1) / (l * l - m * m))
            b = np.sqrt(((l - 1) ** 2 - m * m) / (4 * (l - 1) ** 2 - 1))
            p[l, m] = a * (x * p[l - 1, m] - b * p[l - 2, m])
    dp = np.zeros_like(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        for l in range(1, L + 1):
            for m in range(l + 1):
                c = np.sqrt((2 * l + 1) / (2 * l - 1) * (l * l - m * m))
                prev = p[l - 1, m] if m <= l - 1 else 0.0
                dp[l, m] = (l * x * p[l, m] - c * prev) / s  # sinθ dP/dθ = l x P − c P_{l−1}
    scale = np.where(np.arange(L + 1) > 0, np.sqrt(2.0), 1.0)
    scale = scale.reshape((1, L + 1) + (1,) * x.ndim)
    return p * scale, dp * scale


#: Fields per call of the last factor's kernels: their Fourier temporaries stay a few MB.
LAST_CHUNK = 512


def _left(table, x):
    """table (r, k) applied to axis 1 of x (pre, k, post) → (pre, r, post), one BLAS call
    when post = 1 (the usual case of the last factor) or pre = 1."""
    if x.shape[2] == 1:
        return (x[:, :, 0] @ table.T)[:, :, None]
    if x.shape[0] == 1:
        return (table @ x[0])[None]
    return np.matmul(table, x)


class FactorGrid:
    """Gauss grid and dense transforms of one sphere of a product.

    Parameters
    ----------
    lmax : int ≥ 1
    nlat : int, optional — even, ≥ lmax + 1; default :func:`product_nlat`. ``nphi = 2 nlat``.

    Attributes
    ----------
    lmax, nlat, nphi, nlm, ncoef : int
    theta, phi : ndarray — nodes (radians)
    lat_weights : ndarray (nlat,) — Gauss weights in cos θ (sum 2)
    weights : ndarray (nlat, nphi) — area weights (sum 4π)
    l, m : ndarray (ncoef,) — degree and order of each real coefficient
    """

    def __init__(self, lmax: int, nlat: int | None = None):
        if isinstance(lmax, bool) or not isinstance(lmax, (int, np.integer)) or lmax < 1:
            raise ConfigError(f"grid.lmax = {lmax!r}: each factor needs an integer lmax ≥ 1")
        L = self.lmax = int(lmax)
        nlat = product_nlat(L) if nlat is None else int(nlat)
        if nlat < L + 1 or nlat % 2:
            raise ConfigError(f"nlat = {nlat}: must be even and ≥ lmax + 1 = {L + 1}")
        self.nlat, self.nphi = nlat, 2 * nlat
        self.nf = self.nphi // 2 + 1
        x, w = np.polynomial.legendre.leggauss(nlat)
        x, w = x[::-1], w[::-1]  # north pole first: θ ascending
        self.theta = np.arccos(x)
        self.phi = 2 * np.pi * np.arange(self.nphi) / self.nphi
        self.lat_weights = w
        self.weights = np.repeat(w[:, None] * (2 * np.pi / self.nphi), self.nphi, axis=1)
        pairs = [(l, m) for m in range(L + 1) for l in range(m, L + 1)]  # shtns order
        self.nlm = len(pairs)
        self.ncoef = (L + 1) ** 2
        lm = np.array(pairs)
        self.l = np.concatenate([lm[:, 0], lm[L + 1:, 0]])
        self.m = np.concatenate([lm[:, 1], lm[L + 1:, 1]])
        lam, dlam = normalized_legendre(L, x)
        sin_t = np.sin(self.theta)
        wq = w * (2 * np.pi / self.nphi)  # rfft (unnormalized) × area weight
        self.blocks = []  # (m, slice of a_lm, slice of b_lm or None)
        self.synth_tables = {"value": [], "dtheta": [], "dphi": []}
        self.anal_tables = {"value": [], "dtheta": [], "dphi": []}
        start = 0
        for m in range(L + 1):
            n = L + 1 - m
            a = slice(start, start + n)
            b = None if m == 0 else slice(self.nlm + start - (L + 1),
                                          self.nlm + start - (L + 1) + n)
            self.blocks.append((m, a, b))
            start += n
            tabs = {"value": lam[m:, m].T, "dtheta": dlam[m:, m].T,
                    "dphi": lam[m:, m].T / sin_t[:, None]}  # (nlat, n)
            for kind, t in tabs.items():
                self.synth_tables[kind].append(np.ascontiguousarray(t))
                self.anal_tables[kind].append(np.ascontiguousarray((t * wq[:, None]).T))

    def __repr__(self):
        return f"FactorGrid(lmax={self.lmax}, nlat={self.nlat}, nphi={self.nphi})"

    # ------------------------------------------------------------ transforms
    def synthesize(self, c, kind="value", out=None):
        """Grid values ``(pre, nlat, nphi, post)`` from coefficients ``(pre, ncoef, post)``.

        kind: ``"value"`` f, ``"dtheta"`` ∂θf, ``"dphi"`` (1/sinθ)∂φf. ``out``: the array to
        write into (the batch is done in chunks, so the Fourier temporaries stay small).
        """
        pre, _, post = c.shape
        if out is None:
            out = np.empty((pre, self.nlat, self.nphi, post))
        step = LAST_CHUNK if post == 1 else 1
        if pre > step:
            for i in range(0, pre, step):
                self.synthesize(c[i:i + step], kind, out=out[i:i + step])
            return out
        F = np.zeros((pre, self.nlat, self.nf, post), complex)
        tables = self.synth_tables[kind]
        for m, a, b in self.blocks:
            if kind == "dphi" and m == 0:
                continue
            ya = _left(tables[m], c[:, a, :])
            if m == 0:
                F.real[:, :, 0, :] = ya
                continue
            yb = _left(tables[m], c[:, b, :])
            if kind == "dphi":  # i m (ya + i yb) / 2
                F.real[:, :, m, :] = -0.5 * m * yb
                F.imag[:, :, m, :] = 0.5 * m * ya
            else:
                F.real[:, :, m, :] = 0.5 * ya
                F.imag[:, :, m, :] = 0.5 * yb
        out[...] = _fft.irfft(F, n=self.nphi, axis=2, norm="forward")
        return out

    def analyse(self, f, kind="value", out=None):
        """Coefficients ``(pre, ncoef, post)`` of grid fields ``(pre, nlat, nphi, post)``.

        kind ``"value"``: ∫ f ψ_lm dA (the analysis); ``"dtheta"``/``"dphi"``: ∫ f ∂θψ dA and
        ∫ f (1/sinθ)∂φψ dA, the pieces of the divergence (:meth:`divergence`). With ``out``
        the result is added to it.
        """
        pre, _, _, post = f.shape
        if post == 1:
            if out is None:
                out = np.zeros((pre, self.ncoef, 1))
            for i in range(0, pre, LAST_CHUNK):
                out[i:i + LAST_CHUNK, :, 0] += self._analyse_last(f[i:i + LAST_CHUNK, ..., 0], kind)
            return out
        if out is None:
            out = np.zeros((pre, self.ncoef, post))
        if pre > 1:  # one batch element at a time (smaller Fourier temporaries)
            for i in range(pre):
                self.analyse(f[i:i + 1], kind, out=out[i:i + 1])
            return out
        X = _fft.rfft(f, axis=2)
        tables = self.anal_tables[kind]
        for m, a, b in self.blocks:
            Xm = X[:, :, m, :]
            ya = _left(tables[m], np.ascontiguousarray(Xm.real))
            if kind == "dphi":  # ∂φ e^{−imφ} = −i m e^{−imφ}: z = −i m (ya + i yb)
                if m == 0:
                    continue
                yb = _left(tables[m], np.ascontiguousarray(Xm.imag))
                out[:, a, :] += m * yb
                out[:, b, :] -= m * ya
                continue
            out[:, a, :] += ya
            if m > 0:
                out[:, b, :] += _left(tables[m], np.ascontiguousarray(Xm.imag))
        return out

    # Analysis with the factor's axes last (the last factor of a product): the Fourier
    # coefficients are staged m-major (one contiguous block per order, complex numbers as
    # interleaved real pairs), so that each order is one BLAS call on contiguous data (by
    # measurement faster than per-order strided slices; for the synthesis it is not).
    def _analyse_last(self, f, kind):
        """``(pre, nlat, nphi)`` → ``(pre, ncoef)``."""
        pre = f.shape[0]
        X = _fft.rfft(f, axis=-1)[:, :, :self.lmax + 1]
        Xt = np.ascontiguousarray(X.transpose(2, 1, 0))  # (nm, nlat, pre)
        Xf = Xt.view(np.float64)  # (nm, nlat, 2 pre)
        out = np.zeros((self.ncoef, pre))
        tables = self.anal_tables[kind]
        for m, a, b in self.blocks:
            if kind == "dphi" and m == 0:
                continue
            z = (tables[m] @ Xf[m]).reshape(-1, pre, 2)  # (n, pre, re/im)
            if kind == "dphi":  # −i m (ya + i yb)
                out[a] = m * z[..., 1]
                out[b] = -m * z[..., 0]
            else:
                out[a] = z[..., 0]
                if m > 0:
                    out[b] = z[..., 1]
        return out.T

    def divergence(self, v_theta, v_phi):
        """Coefficients of div v for tangent fields ``(pre, nlat, nphi, post)`` each:
        ∫ ψ div v dA = −∫ ∇ψ·v dA (Gauss quadrature, as shtns' vector analysis)."""
        out = self.analyse(v_theta, "dtheta")
        self.analyse(v_phi, "dphi", out=out)
        return -out

    # ---------------------------------------------------- other conventions
    def from_sphere_coefficients(self, f_lm):
        """Real coefficients ``(..., ncoef)`` from SphereGrid's complex ``(..., nlm)``."""
        f_lm = np.asarray(f_lm)
        z = f_lm * np.where(self.m[:self.nlm] > 0, np.sqrt(2.0), 1.0)
        return np.concatenate([z.real, z.imag[..., self.lmax + 1:]], axis=-1)

    def to_sphere_coefficients(self, c):
        """SphereGrid's complex coefficients ``(..., nlm)`` from real ``(..., ncoef)``."""
        c = np.asarray(c)
        z = c[..., :self.nlm].astype(complex)
        z[..., self.lmax + 1:] += 1j * c[..., self.nlm:]
        return z / np.where(self.m[:self.nlm] > 0, np.sqrt(2.0), 1.0)

    def basis_values(self, theta, phi):
        """The ncoef real basis functions at points: ``(ncoef, k)`` for θ, φ of shape (k,)."""
        theta, phi = np.asarray(theta, float).ravel(), np.asarray(phi, float).ravel()
        lam, _ = normalized_legendre(self.lmax, np.cos(theta))
        vals = lam[self.l, self.m]  # (ncoef, k)
        mphi = self.m[:, None] * phi[None, :]
        trig = np.where(np.arange(self.ncoef)[:, None] < self.nlm, np.cos(mphi), -np.sin(mphi))
        return vals * trig
