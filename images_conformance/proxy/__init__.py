"""The validating proxy: forwards traffic to an upstream and judges every exchange."""
