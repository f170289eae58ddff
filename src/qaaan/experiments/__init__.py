"""Reproductions of the paper's experiments (section 7): one module per figure or table."""
