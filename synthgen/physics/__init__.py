"""pybullet adapter: cluttered object placement (:func:`place_objects`) and the
:class:`Simulator` it runs on, with its engine settings (:class:`PhysicsParams`). Plain meshes and
4x4 poses in and out; pybullet itself is imported only when a :class:`Simulator` is created."""
from .placement import PlacementError, PlacementItem, PlacementParams, PlacementResult, PlacementStats, place_objects
from .settle import PhysicsParams, SettleResult, Simulator

__all__ = ["PhysicsParams", "PlacementError", "PlacementItem", "PlacementParams", "PlacementResult",
           "PlacementStats", "SettleResult", "Simulator", "place_objects"]
