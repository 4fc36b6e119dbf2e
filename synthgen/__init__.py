"""synthgen: synthetic training data for human and object pose estimation."""

__version__ = "0.1.0"
