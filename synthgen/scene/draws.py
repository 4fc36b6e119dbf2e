"""The one range draw the scene samplers share."""
from __future__ import annotations

import numpy as np


def uniform(rng: np.random.Generator, r) -> float:
    """A uniform draw from the config range ``r = [low, high]``; a degenerate range returns
    ``low`` without consuming a draw (so fixing a key to one value leaves later draws alone)."""
    lo, hi = float(r[0]), float(r[1])
    return float(rng.uniform(lo, hi)) if hi > lo else lo
