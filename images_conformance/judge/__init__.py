"""The judge: the validator's rules run on the exact bytes of one exchange."""
