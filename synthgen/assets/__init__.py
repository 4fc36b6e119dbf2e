"""Asset references -> meshes with a dataset-wide ``obj_id``, units, frames and BOP symmetries.

The reference syntax, id assignment, frames and caching rules are documented in
:mod:`synthgen.assets.library`; the procedural objects in :mod:`synthgen.assets.procedural`.
"""
from .library import (AssetError, AssetModel, builtin_names, expand_ref, parse_ref, resolve_asset,
                      resolve_assets)

__all__ = ["AssetError", "AssetModel", "builtin_names", "expand_ref", "parse_ref", "resolve_asset",
           "resolve_assets"]
