"""The bottom layer: run I/O, the claims-ledger engine and its intervals (imports no other package of the suite)."""
