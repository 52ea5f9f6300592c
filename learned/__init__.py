"""Claims that need both the suite's models (toy/) and the exact theory (theory/): learned and exact-on-model checks."""
