"""The audit trail: tamper evidence (chain), history as it was known (history), inquiry exports (export)."""
