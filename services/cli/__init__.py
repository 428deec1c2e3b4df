"""`tidings`, the operator's and developer's command line (typer): apps, settings, callbacks,
rules, DLQ replay, and `tidings up`, the embedded stack."""
