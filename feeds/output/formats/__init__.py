"""Output formats: one module per format, each wrapping its library."""
