"""Independent reference solutions and validation tools for spectral_qc.

Nothing in this package imports :mod:`spectral_qc`; it is plain numpy/scipy so that
agreement with the solver is evidence, not a tautology.
"""
