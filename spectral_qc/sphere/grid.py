"""The Gauss–Legendre grid on the unit sphere and its spherical-harmonic transforms.

This is the only module of spectral_qc that talks to shtns. Every choice of shtns
flags is made here, once:

* orthonormal harmonics without the Condon–Shortley phase,
  ``∫ |Y_lm|² dA = 1`` over the unit sphere (total area 4π);
* Gauss–Legendre nodes in colatitude θ, ascending (north pole first);
* longitudes φ_j = 2πj/nphi;
* spatial arrays of shape ``(nlat, nphi)`` (φ contiguous).

A real field f is represented by the complex coefficients ``f_lm`` of degree l and
order 0 ≤ m ≤ l (shtns' layout, ``nlm`` of them); the field is
``f = Σ_l [f_l0 Y_l0 + 2 Re Σ_{m>0} f_lm Y_lm]``.

All transforms accept arbitrary leading ("batch") dimensions: grid arrays are
``(..., nlat, nphi)``, spectral arrays ``(..., nlm)``. Every call is counted in
:attr:`SphereGrid.counts`, which the tests use to pin the transform budget of each model.
"""

from __future__ import annotations

import collections
import contextlib
import math
import os
import sys

import numpy as np

from ..allocator import retain_freed_memory
from ..errors import ConfigError, NonFiniteState

LMAX_MIN = 1
LMAX_MAX = 2047
#: Below this lmax one OpenMP thread is the default: shtns threads cost more than they
#: save on small grids (docs/performance.md); ``OMP_NUM_THREADS`` or ``nthreads`` win.
THREADS_LMAX = 128
#: shtns refuses Gauss grids with fewer latitudes than this (it aborts the process).
NLAT_MIN = 32


def default_nlat(lmax: int) -> int:
    """Number of Gauss latitudes for truncation ``lmax``.

    The smallest even integer ≥ 3(lmax+1)/2, so that the product of two fields of
    degree ≤ lmax is integrated exactly (the "3/2 rule"), and at least 32 (a limit of shtns).
    """
    n = math.ceil(3 * (lmax + 1) / 2)
    n += n % 2
    return max(NLAT_MIN, n)


def _flush_c_stdio():
    """fflush(NULL): push out what the C library buffered for any stream (best effort)."""
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):  # no C library to ask: nothing buffered
        pass


@contextlib.contextmanager
def _quiet_stdout_fd():
    """Point file descriptor 1 at /dev/null for the duration (C-level prints included)."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):  # no usable fd 1: nothing to protect
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        _flush_c_stdio()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def import_shtns():
    """``import shtns`` (the only import of shtns in the package) without its banner.

    shtns prints ``[SHTns 3.x] built …`` on stdout when it is imported; spectral_qc's
    commands promise that stdout holds only their documented output (issue 13), so the
    import runs with file descriptor 1 pointed at /dev/null. Later imports are free.
    """
    if "shtns" in sys.modules:
        return sys.modules["shtns"]
    with _quiet_stdout_fd():
        import shtns
    return shtns


def _all_finite(a) -> bool:
    """True when every entry is finite; one reduction instead of a boolean temporary
    (a NaN or infinity makes the sum non-finite; a finite sum settles it)."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.add.reduce(a, axis=None)):
            return True
    return bool(np.all(np.isfinite(a)))


class SphereGrid:
    """Spherical-harmonic engine on a Gauss–Legendre grid.

    Parameters
    ----------
    lmax : int
        Spectral truncation (triangular, mmax = lmax), 1 ≤ lmax ≤ 2047.
    nlat : int, optional
        Number of Gauss latitudes; default :func:`default_nlat` (dealiased for quadratic
        products). ``nphi = 2 * nlat``.
    nthreads : int, optional
        OpenMP threads used by shtns; 0 lets shtns use ``OMP_NUM_THREADS`` or all cores.
        Default: 0 when ``OMP_NUM_THREADS`` is set or lmax ≥ 128, else 1 (on small grids
        threads cost more than they save).

    Attributes
    ----------
    lmax, nlat, nphi, nlm : int
    theta : ndarray (nlat,)
        Colatitudes of the Gauss nodes, radians, ascending.
    phi : ndarray (nphi,)
        Longitudes φ_j = 2πj/nphi, radians.
    n : ndarray (3, nlat, nphi)
        Unit vectors (nx, ny, nz) at the grid points.
    e_theta, e_phi : ndarray (3, nlat, nphi)
        The orthonormal tangent vectors ∂n/∂θ and (∂n/∂φ)/sin θ in Cartesian components:
        a tangent field with orthonormal components (v_θ, v_φ) is
        ``v_θ·e_theta + v_φ·e_phi``.
    weights : ndarray (nlat, nphi)
        Quadrature weights (area elements): ``Σ weights · f = ∫ f dA``; they sum to 4π.
    l, m : ndarray (nlm,)
        Degree and order of each spectral coefficient.
    counts : collections.Counter
        Number of transform calls by kind (``analysis``, ``synthesis``, ``gradient``,
        ``vector_analysis``, ``vector_synthesis``), one per real scalar field.
    """

    def __init__(self, lmax: int, *, nlat: int | None = None, nthreads: int | None = None):
        if isinstance(lmax, bool) or not isinstance(lmax, (int, np.integer)):
            raise ConfigError(f"grid.lmax = {lmax!r}: must be an integer between "
                              f"{LMAX_MIN} and {LMAX_MAX}")
        if not LMAX_MIN <= lmax <= LMAX_MAX:
            raise ConfigError(f"grid.lmax = {lmax}: must be between {LMAX_MIN} and {LMAX_MAX}")
        lmax = int(lmax)
        nlat = default_nlat(lmax) if nlat is None else int(nlat)
        if nlat < max(NLAT_MIN, lmax + 1) or nlat % 2:
            raise ConfigError(f"nlat = {nlat}: must be even and ≥ max({NLAT_MIN}, lmax+1)")
        # Idle OpenMP threads sleep instead of spinning between transforms: the pointwise
        # numpy work between two transforms is single-threaded, and on a shared or loaded
        # machine spinning threads slow every transform by orders of magnitude
        # (docs/performance.md). Read once, when libgomp starts; an explicit setting wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        retain_freed_memory()  # reuse freed arrays: no page faults per step (issue 16)
        if nthreads is None:
            nthreads = 0 if "OMP_NUM_THREADS" in os.environ or lmax >= THREADS_LMAX else 1
        shtns = import_shtns()

        self._sht = shtns.sht(lmax, lmax, 1,
                              shtns.sht_orthonormal | shtns.SHT_NO_CS_PHASE, int(nthreads))
        self._sht.set_grid(nlat, 2 * nlat, shtns.sht_gauss | shtns.SHT_PHI_CONTIGUOUS)
        self.lmax = lmax
        self.nlat = nlat
        self.nphi = 2 * nlat
        self.nlm = int(self._sht.nlm)
        self.shape = (self.nlat, self.nphi)
        self.theta = np.arccos(np.asarray(self._sht.cos_theta))
        self.phi = 2 * np.pi * np.arange(self.nphi) / self.nphi
        half = np.asarray(self._sht.gauss_wts())
        lat_weights = np.concatenate([half, half[::-1]])  # Σ = 2 = ∫ d(cos θ)
        self.weights = np.repeat(lat_weights[:, None] * (2 * np.pi / self.nphi),
                                 self.nphi, axis=1)
        sin_t = np.sin(self.theta)[:, None]
        self.n = np.stack([sin_t * np.cos(self.phi), sin_t * np.sin(self.phi),
                           np.broadcast_to(np.cos(self.theta)[:, None], self.shape)])
        cos_t = np.cos(self.theta)[:, None]
        self.e_theta = np.stack([cos_t * np.cos(self.phi), cos_t * np.sin(self.phi),
                                 np.broadcast_to(-sin_t, self.shape)])
        self.e_phi = np.stack([np.broadcast_to(-np.sin(self.phi), self.shape),
                               np.broadcast_to(np.cos(self.phi), self.shape),
                               np.zeros(self.shape)])
        self.l = np.asarray(self._sht.l, dtype=np.int64)
        self.m = np.asarray(self._sht.m, dtype=np.int64)
        self.counts = collections.Counter()

    def __repr__(self):
        return f"SphereGrid(lmax={self.lmax}, nlat={self.nlat}, nphi={self.nphi})"

    # ------------------------------------------------------------------ checks
    def _check_grid(self, f, name="field"):
        f = np.asarray(f)
        if f.shape[-2:] != self.shape:
            raise ConfigError(f"{name}: grid array must end in shape {self.shape} "
                             f"(nlat, nphi), got {f.shape}")
        if np.iscomplexobj(f):
            raise ConfigError(f"{name}: grid array must be real; split complex data into "
                             "real components first (spectral_qc.hermitian)")
        f = np.ascontiguousarray(f, dtype=np.float64)
        if not _all_finite(f):
            raise NonFiniteState(f"{name}: grid array contains NaN or infinity")
        return f

    def _check_spec(self, f_lm, name="coefficients"):
        f_lm = np.asarray(f_lm)
        if f_lm.shape[-1:] != (self.nlm,):
            raise ConfigError(f"{name}: spectral array must end in nlm = {self.nlm}, "
                             f"got shape {f_lm.shape}")
        f_lm = np.ascontiguousarray(f_lm, dtype=np.complex128)
        if not _all_finite(f_lm):
            raise NonFiniteState(f"{name}: spectral array contains NaN or infinity")
        return f_lm

    # -------------------------------------------------------------- transforms
    def analysis(self, f):
        """Spherical-harmonic analysis of real fields.

        Parameters
        ----------
        f : array_like (..., nlat, nphi), real

        Returns
        -------
        f_lm : ndarray (..., nlm), complex
        """
        f = self._check_grid(f)
        batch = f.shape[:-2]
        flat = f.reshape((-1,) + self.shape)
        out = np.empty((flat.shape[0], self.nlm), dtype=np.complex128)
        for k in range(flat.shape[0]):
            self._sht.spat_to_SH(flat[k], out[k])
        self.counts["analysis"] += flat.shape[0]
        return out.reshape(batch + (self.nlm,))

    def synthesis(self, f_lm):
        """Spherical-harmonic synthesis: ``(..., nlm)`` complex → ``(..., nlat, nphi)`` real."""
        f_lm = self._check_spec(f_lm)
        batch = f_lm.shape[:-1]
        flat = f_lm.reshape(-1, self.nlm)
        out = np.empty((flat.shape[0],) + self.shape)
        for k in range(flat.shape[0]):
            self._sht.SH_to_spat(flat[k], out[k])
        self.counts["synthesis"] += flat.shape[0]
        return out.reshape(batch + self.shape)

    def gradient(self, f_lm):
        """Surface gradient in orthonormal components.

        Parameters
        ----------
        f_lm : array_like (..., nlm)

        Returns
        -------
        grad : ndarray (2, ..., nlat, nphi)
            ``grad[0] = ∂f/∂θ``, ``grad[1] = (1/sin θ) ∂f/∂φ``.
        """
        f_lm = self._check_spec(f_lm)
        batch = f_lm.shape[:-1]
        flat = f_lm.reshape(-1, self.nlm)
        out = np.empty((2, flat.shape[0]) + self.shape)
        for k in range(flat.shape[0]):
            self._sht.SHsph_to_spat(flat[k], out[0, k], out[1, k])
        self.counts["gradient"] += flat.shape[0]
        return out.reshape((2,) + batch + self.shape)

    # ---------------------------------------------- into preallocated arrays (internal)
    def _synthesis_into(self, f_lm, out):
        """:meth:`synthesis` of ``(k, nlm)`` into ``out`` ``(k, nlat, nphi)`` (C-contiguous,
        float64) without a temporary; for the models' field evaluation."""
        f_lm = self._check_spec(f_lm).reshape(-1, self.nlm)
        for k in range(f_lm.shape[0]):
            self._sht.SH_to_spat(f_lm[k], out[k])
        self.counts["synthesis"] += f_lm.shape[0]
        return out

    def _gradient_into(self, f_lm, out_theta, out_phi):
        """:meth:`gradient` of ``(k, nlm)`` into two ``(k, nlat, nphi)`` arrays."""
        f_lm = self._check_spec(f_lm).reshape(-1, self.nlm)
        for k in range(f_lm.shape[0]):
            self._sht.SHsph_to_spat(f_lm[k], out_theta[k], out_phi[k])
        self.counts["gradient"] += f_lm.shape[0]

    def vector_analysis(self, v_theta, v_phi):
        """Helmholtz decomposition of tangent fields, v = ∇S + ∇T × n.

        Parameters
        ----------
        v_theta, v_phi : array_like (..., nlat, nphi)
            Orthonormal components.

        Returns
        -------
        s_lm, t_lm : ndarray (..., nlm)
            Spheroidal and toroidal potentials; ``div v`` has coefficients ``-l(l+1) s_lm``.
        """
        vt = self._check_grid(v_theta, "v_theta")
        vp = self._check_grid(v_phi, "v_phi")
        if vt.shape != vp.shape:
            raise ConfigError(f"v_theta {vt.shape} and v_phi {vp.shape} differ in shape")
        batch = vt.shape[:-2]
        vt = vt.reshape((-1,) + self.shape)
        vp = vp.reshape((-1,) + self.shape)
        s = np.empty((vt.shape[0], self.nlm), dtype=np.complex128)
        t = np.empty_like(s)
        for k in range(vt.shape[0]):
            self._sht.spat_to_SHsphtor(vt[k], vp[k], s[k], t[k])
        self.counts["vector_analysis"] += vt.shape[0]
        return s.reshape(batch + (self.nlm,)), t.reshape(batch + (self.nlm,))

    def vector_synthesis(self, s_lm, t_lm):
        """Tangent field ``v = ∇S + ∇T × n`` from its potentials; returns ``(2, ..., nlat, nphi)``."""
        s_lm = self._check_spec(s_lm, "s_lm")
        t_lm = self._check_spec(t_lm, "t_lm")
        batch = s_lm.shape[:-1]
        s = s_lm.reshape(-1, self.nlm)
        t = t_lm.reshape(-1, self.nlm)
        out = np.empty((2, s.shape[0]) + self.shape)
        for k in range(s.shape[0]):
            self._sht.SHsphtor_to_spat(s[k], t[k], out[0, k], out[1, k])
        self.counts["vector_synthesis"] += s.shape[0]
        return out.reshape((2,) + batch + self.shape)

    def evaluate(self, f_lm, theta, phi):
        """Evaluate a band-limited field at arbitrary points from its coefficients.

        Parameters
        ----------
        f_lm : array_like (nlm,)
        theta, phi : array_like, broadcastable
            Colatitude and longitude in radians.

        Returns
        -------
        ndarray of the broadcast shape of theta and phi.
        """
        f_lm = self._check_spec(f_lm)
        if f_lm.ndim != 1:
            raise ConfigError("evaluate: pass one field's coefficients, shape (nlm,)")
        theta, phi = np.broadcast_arrays(np.asarray(theta, float), np.asarray(phi, float))
        cos_t = np.cos(theta).ravel()
        ph = phi.ravel()
        out = np.array([self._sht.SH_to_point(f_lm, c, p) for c, p in zip(cos_t, ph)])
        return out.reshape(theta.shape)
