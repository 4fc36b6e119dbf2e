"""Job plan: a job of F frames is split into scenes (shards) of ``views_per_scene`` views."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ShardPlan:
    """Scene ``scene_index`` renders ``n_views`` images with im_ids 0..n_views-1;
    ``first_frame`` is the dataset-wide index of its first image."""

    scene_index: int
    n_views: int
    first_frame: int


def plan_shards(frames: int, views_per_scene: int) -> list[ShardPlan]:
    """Split ``frames`` images into ceil(frames / views_per_scene) scenes; the last may be short."""
    out = []
    start = 0
    k = 0
    while start < frames:
        n = min(views_per_scene, frames - start)
        out.append(ShardPlan(scene_index=k, n_views=n, first_frame=start))
        start += n
        k += 1
    return out
