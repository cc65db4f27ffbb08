"""The validation studies of spectral_qc (``python -m validation``, docs/validation.md).

The studies drive the solver through its public API (:mod:`validation.protocol`); the
independent references (:mod:`validation.references` and its ``reference_*`` modules)
import only numpy and scipy, so that agreement with the solver is evidence, not a
tautology.
"""
