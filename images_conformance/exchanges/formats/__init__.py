"""Recording formats: vcrpy, Ruby VCR, Azure test proxy, HAR; read and written."""
