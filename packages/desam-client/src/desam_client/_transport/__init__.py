"""Transports: the only code that touches the network."""
