"""Exchanges: the HTTP client that talks to a target, and the recording formats they are read from and written to."""
