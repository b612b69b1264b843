"""Long-running fuzz scripts, run by hand (see fuzz_decoders.py)."""
