"""augprior: reproduce 'The Augmented Image Prior' (Asano & Saeed, ICLR 2023)."""

__version__ = "0.1.0"
