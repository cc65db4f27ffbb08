"""spectral_qc test suite."""
