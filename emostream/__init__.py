"""emostream: real-time facial (and vocal) emotion events from cameras, published to Redis."""

__version__ = "0.1.0"
