"""The validation studies; each is ``study(profile, figdir) -> dict`` (validation.runner)."""
