"""The steps of a render job: for each scene (shard) sample -> settle -> render -> ground truth ->
write (:func:`run_shard`), then merge the dataset-level files (:func:`finalize`). Read
:func:`run_shard` to follow a frame from config to files.

Dependencies run one way: ``job`` (the whole job) imports ``executors`` (who renders which shard:
this process, worker processes, Ray), which imports this module (how a shard is rendered); this
module imports neither. Only this package knows about shards and output folders; only ``cli.py``
knows about argv.
"""
from __future__ import annotations

import dataclasses
import platform
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..assets.library import AssetModel, expand_ref, resolve_asset
from ..bodies.smplx_backend import BodyModelError
from ..bodies.keypoints import COCO17_NAMES, extended_joints
from ..config.schema import SceneConfig
from ..groundtruth.labels import BOP_VISIB_DELTA, object_gt, person_gt
from ..groundtruth.records import FrameRecord
from ..scene.description import Scene
from ..scene.sampler import AssetGroup, sample_scene, scene_rng
from ..sensors.apply import apply_sensor, sensor_rng
from ..writers.bop import ModelGeometry, save_camera, save_models
from ..writers.coco import save_merged_coco
from ..writers.manifest import save_dataset_json, save_merged_manifest
from ..writers.shard import COCO_PART_NAME, MANIFEST_PART_NAME, write_shard_files
from .output import MARKER, atomic_path, commit_shard, fsync_path, fsync_tree, shard_tmp_dir
from .plan import ShardPlan


class StageTimes:
    """Wall seconds spent per pipeline stage, summed over calls (``benchmarks/stages.py``).

    Use as ``with times("render"): ...``; :data:`NO_TIMES` records nothing."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t0


class _NoTimes(StageTimes):
    @contextmanager
    def __call__(self, stage: str):
        yield


#: The default of ``times`` arguments: measures nothing.
NO_TIMES: StageTimes = _NoTimes()


@dataclass
class JobContext:
    """What every shard of a job shares: the config, resolved asset groups and the body model.

    ``assets`` are the labelled models with their dataset-wide ``obj_id`` (what ``models/``
    holds); ``groups`` the config's object groups with resolved assets (distractors included)."""

    cfg: SceneConfig
    assets: list[AssetModel]
    groups: list[AssetGroup]
    body: object | None
    holdables: list[AssetModel] = field(default_factory=list)
    pose_source: object | None = None
    wardrobe: object | None = None
    categories: dict[int, str] = field(default_factory=dict)

    @classmethod
    def build(cls, cfg: SceneConfig, base_dir: Path | None = None) -> "JobContext":
        assets, groups, holdables = resolve_groups(cfg, base_dir)
        body = make_body_model(cfg, base_dir) if cfg.humans.count[1] > 0 else None
        pose_source = None
        if body is not None:
            from ..config import ConfigError
            from ..scene.people import PoseSource

            try:   # unknown pose names and unreadable motion files are bad input: one line, exit 2
                pose_source = PoseSource(cfg.humans, base_dir)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        wardrobe = None
        if body is not None and body.name == "anny" and cfg.humans.appearance == "procedural":
            from ..scene.people import Wardrobe

            setting = cfg.room.layout if cfg.room.layout in ("kitchen", "workshop") else "any"
            wardrobe = Wardrobe(body, setting, cfg.humans.texture_size)
        return cls(cfg=cfg, assets=assets, groups=groups, body=body, holdables=holdables,
                   pose_source=pose_source, wardrobe=wardrobe, categories={a.obj_id: a.name for a in assets})


def resolve_groups(cfg: SceneConfig, base_dir: Path | None
                   ) -> tuple[list[AssetModel], list[AssetGroup], list[AssetModel]]:
    """Resolve every group's references. A reference may expand to several models (``bop:<dir>``);
    labelled models get obj_ids 1.. in the order groups, references and expansions are listed (a
    model listed twice keeps its first id); distractor-only models are resolved with obj_id 0
    and never written to ``models/``."""
    by_ref: dict[str, AssetModel] = {}
    labelled: list[AssetModel] = []
    expanded = {name: [r for ref in g.assets for r in expand_ref(ref, base_dir)]
                for name, g in cfg.objects.groups.items()}
    # objects people may hold are labelled too; they follow the groups' models
    hold_refs = ([r for ref in cfg.humans.holdable for r in expand_ref(ref, base_dir)]
                 if cfg.humans.count[1] > 0 and cfg.humans.hold_prob > 0 else [])
    labelled_refs = [r for name, g in cfg.objects.groups.items() if g.labelled for r in expanded[name]] + hold_refs
    for ref in labelled_refs:
        if ref not in by_ref:
            by_ref[ref] = resolve_asset(ref, len(labelled) + 1, base_dir=base_dir)
            labelled.append(by_ref[ref])
    groups = []
    for name, g in cfg.objects.groups.items():
        for ref in expanded[name]:
            if ref not in by_ref:
                by_ref[ref] = resolve_asset(ref, 0, base_dir=base_dir)
        groups.append(AssetGroup(name=name, assets=[by_ref[r] for r in expanded[name]], count=tuple(g.count),
                                 supports=tuple(g.supports), labelled=g.labelled))
    holdables = [by_ref[r] for r in hold_refs]
    return labelled, groups, holdables


def make_body_model(cfg: SceneConfig, base_dir: Path | None = None):
    """The configured body-model backend. ``humans.model_dir`` (smplx) resolves against the scene
    file's folder. Missing files or a missing extra raise the backends' one-line errors."""
    hc = cfg.humans
    if hc.model == "anny":
        from ..bodies.anny_backend import AnnyBody

        return AnnyBody(flat_hand_mean=hc.flat_hand_mean)
    if hc.model == "mannequin":
        from ..bodies.mannequin import MannequinBody

        return MannequinBody(flat_hand_mean=hc.flat_hand_mean)
    from ..bodies.smplx_backend import SMPLXBody

    model_dir = Path(hc.model_dir).expanduser()
    if not hc.model_dir:
        raise BodyModelError("humans.model_dir: expected the folder holding your SMPL-X model files "
                             "(SMPLX_NEUTRAL.npz ...) when humans.model is 'smplx', found nothing")
    if not model_dir.is_absolute() and base_dir is not None:
        model_dir = base_dir / model_dir
    return SMPLXBody(model_dir, gender=hc.gender, num_betas=hc.num_betas,
                     num_expression_coeffs=hc.num_expression_coeffs, flat_hand_mean=hc.flat_hand_mean,
                     trust_pickle=hc.trust_pickle)


def make_place_fn(cfg: SceneConfig):
    """The physics adapter as the plain function ``sample_scene`` expects."""
    from ..physics.placement import PlacementItem, PlacementParams, place_objects

    params = PlacementParams(stacking=cfg.objects.stacking, max_tries=cfg.objects.max_tries,
                             max_settle_time=cfg.objects.settle_time, strict=cfg.objects.strict)

    def place(static, supports, items, rng):
        its = [PlacementItem(key=i, mesh=m, mass_kg=mass, supports=tuple(sup))
               for i, (m, mass, sup) in enumerate(items)]
        res = place_objects(static, supports, its, rng, params)
        return res.poses, res.supports

    return place


def build_scene(ctx: JobContext, shard: ShardPlan) -> Scene:
    """Sample scene ``shard.scene_index`` from its own generator (seed, scene index)."""
    rng = scene_rng(ctx.cfg.seed, shard.scene_index)
    return sample_scene(ctx.cfg, shard.scene_index, shard.n_views, ctx.groups, ctx.body,
                        make_place_fn(ctx.cfg), rng, holdables=ctx.holdables, pose_fn=ctx.pose_source,
                        wardrobe=ctx.wardrobe)


def frames_of_scene(ctx: JobContext, renderer, scene: Scene, shard: ShardPlan,
                    times: StageTimes = NO_TIMES) -> list[FrameRecord]:
    """Render every camera of ``scene`` and derive its ground truth (``times``: where the time
    goes, by stage: render, amodal, sensor, ground_truth)."""
    from ..render import object_label, person_label

    cfg = ctx.cfg
    frames = []
    # distractors (obj_id 0) are rendered and occlude, but get no ground truth; gt_id is the
    # index among the labelled objects, as BOP requires.
    labelled = [k for k, o in enumerate(scene.objects) if o.obj_id > 0]
    obj_labels = [object_label(k) for k in labelled]
    per_labels = [person_label(j) for j in range(len(scene.persons))]
    person_ext = [extended_joints(p.joints_world, p.landmarks_world, p.face_world) for p in scene.persons]
    rgb_noise = cfg.sensor.rgb_noise
    if cfg.output.rgb_format == "jpg" and rgb_noise.jpeg_quality > 0:
        # the writer's JPEG is the compression: do not compress twice
        rgb_noise = dataclasses.replace(rgb_noise, jpeg_quality=0)
    for view, cam in enumerate(scene.cameras):
        with times("render"):
            out = renderer.render(scene, cam)
        # which body part each person pixel shows: the keypoint visibility rule needs it
        parts = out.parts if scene.persons else None
        depth_gt = out.depth
        with times("amodal"):
            amodal = renderer.render_amodal(scene, cam, obj_labels + per_labels, canvas_scale=3)
        sils = amodal   # the renderer returns the label code's own Silhouette windows
        # the sensor's view of the clean render, from this frame's own generator (seed, scene, view)
        with times("sensor"):
            rgb_sensor, depth_sensor = apply_sensor(out.rgb, depth_gt, cam.K, cfg.sensor,
                                                    sensor_rng(cfg.seed, shard.scene_index, view),
                                                    rgb_noise=rgb_noise)
        with times("ground_truth"):
            valid = depth_sensor > 0    # px_count_valid: where the sensor measured a depth
            objects = []
            for gt_id, (k, label) in enumerate(zip(labelled, obj_labels)):
                o = scene.objects[k]
                objects.append(object_gt(gt_id, o.obj_id, o.name, o.pose_world, cam.T_w2c, cam.K, sils[label],
                                         depth_gt, BOP_VISIB_DELTA, depth_valid=valid))
            gt_of = {k: gt_id for gt_id, k in enumerate(labelled)}
            persons = []
            for j, p in enumerate(scene.persons):
                g = person_gt(p, cam.T_w2c, cam.K, sils[per_labels[j]], out.seg == per_labels[j], depth_gt,
                              person_ext[j], part_map=parts, depth_valid=valid)
                g.held_object_gt_ids = [gt_of[k] for k in p.held_objects if k in gt_of]
                persons.append(g)
        frames.append(FrameRecord(
            split=cfg.output.split, scene_id=scene.scene_id, im_id=view, view_id=cam.view_id,
            frame_id=shard.first_frame + view, seed=cfg.seed, width=cam.width, height=cam.height,
            K=cam.K, R_w2c=cam.T_w2c[:3, :3], t_w2c=cam.T_w2c[:3, 3], rgb=rgb_sensor,
            depth=depth_sensor, depth_gt=depth_gt,
            objects=objects, persons=persons))
    return frames


def shard_dir(out: Path, cfg: SceneConfig, scene_id: int) -> Path:
    return Path(out) / cfg.output.split / f"{scene_id:06d}"


def render_shard(ctx: JobContext, renderer, shard: ShardPlan, times: StageTimes = NO_TIMES,
                 scene_fn=build_scene) -> tuple[int, list[FrameRecord]]:
    """Sample and settle the shard's scene (``scene_fn``, :func:`build_scene` unless a benchmark
    supplies prepared scenes), upload it to ``renderer`` and render its frames with their ground
    truth; returns (scene_id, frames). Stages timed: scene, render_prepare and those of
    :func:`frames_of_scene`.

    Every executor renders every shard through this function (tests wrap it to inject faults)."""
    with times("scene"):
        scene = scene_fn(ctx, shard)
    with times("render_prepare"):   # scene upload; frames_of_scene's renders then reuse it
        renderer.prepare(scene)
    return scene.scene_id, frames_of_scene(ctx, renderer, scene, shard, times=times)


def write_shard(ctx: JobContext, out: Path, frames: list[FrameRecord], scene_id: int,
                times: StageTimes = NO_TIMES) -> int:
    """Write one scene's files to a temporary folder, then move it into place with DONE; returns
    the shard's size in bytes (stage timed: write)."""
    with times("write"):
        final = shard_dir(out, ctx.cfg, scene_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = shard_tmp_dir(final)
        o = ctx.cfg.output
        try:
            write_shard_files(tmp, frames, rgb_format=o.rgb_format, jpeg_quality=o.jpeg_quality,
                              depth_scale=o.depth_scale, categories=ctx.categories)
            return commit_shard(tmp, final)
        except BaseException:
            # a half-written shard must not keep its disk space (a full disk would fail every
            # later shard too); --resume redoes it
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def run_shard(ctx: JobContext, renderer, out: Path, shard: ShardPlan, times: StageTimes = NO_TIMES,
              scene_fn=build_scene) -> int:
    """The whole of one shard, in order: :func:`render_shard` then :func:`write_shard` into
    ``out``; returns the committed shard's size in bytes. (The local executors overlap the
    write of one shard with the render of the next by calling the two halves themselves.)"""
    scene_id, frames = render_shard(ctx, renderer, shard, times, scene_fn=scene_fn)
    return write_shard(ctx, out, frames, scene_id, times)


@dataclass
class JobResult:
    """``frames``/``scenes`` of the whole dataset; ``rendered`` frames rendered by this run
    (fewer after --resume); ``seconds`` wall time of this run."""

    out: Path
    frames: int
    scenes: int
    seconds: float
    renderer: dict
    rendered: int = 0
    # wall seconds by pipeline stage, summed over the shards this run rendered (all workers)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    # bytes this run wrote: its shards and the dataset-level files (not the shards kept by
    # --resume); counted as written, so a million-frame dataset is never walked for the summary
    bytes_written: int = 0


def write_models(ctx: JobContext, out: Path) -> None:
    """``OUT/models/``: every asset of the job's library as a BOP PLY + ``models_info.json``. The
    assets are in metres; :func:`~synthgen.writers.bop.save_models` writes them in mm."""
    save_models(Path(out) / "models",
                {a.obj_id: ModelGeometry(a.mesh.vertices, a.mesh.faces, a.symmetries_continuous,
                                         a.symmetries_discrete) for a in ctx.assets})


def finalize(ctx: JobContext, out: Path, shards: list[ShardPlan], config_dict: dict,
             renderer_info: dict, seconds: float) -> int:
    """Merge shard parts into the dataset-level files, in scene order; ``DONE`` last. Returns the
    bytes of the dataset-level files."""
    cfg = ctx.cfg
    dirs = [shard_dir(out, cfg, s.scene_index) for s in shards]
    (out / "annotations").mkdir(exist_ok=True)
    # streamed, one shard's part in memory at a time: a million-frame split is tens of GB of COCO
    coco_path = out / "annotations" / f"coco_{cfg.output.split}.json"
    with atomic_path(coco_path) as tmp:
        save_merged_coco(tmp, [d / COCO_PART_NAME for d in dirs], ctx.categories)
    with atomic_path(out / "manifest.jsonl") as tmp:
        save_merged_manifest(tmp, [d / MANIFEST_PART_NAME for d in dirs])
    write_models(ctx, out)
    from ..scene.sampler import intrinsics

    save_camera(out / "camera.json", intrinsics(cfg), cfg.camera.width, cfg.camera.height,
                cfg.output.depth_scale, focal_scale=tuple(cfg.camera.focal_scale))
    info = {
        "generator": "synthgen", "version": __version__, "config": config_dict, "seed": cfg.seed,
        "scenes": len(shards), "images": {cfg.output.split: sum(s.n_views for s in shards)},
        "objects": {str(a.obj_id): {"ref": a.ref, "name": a.name} for a in ctx.assets},
        "keypoint_schemas": {"coco17": list(COCO17_NAMES), "wholebody133": "COCO-WholeBody",
                             "joints_3d": "smplx55"},
        "body_model": cfg.humans.model,
        "landmarks": ("mannequin vertex landmarks (synthgen.bodies.mannequin.LANDMARK_VERTEX_IDS); "
                      "no face: face keypoints v=0" if cfg.humans.model == "mannequin"
                      else "smplx vertex ids (smplx/vertex_ids.py) and face landmarks"),
        "sensor": cfg.sensor.name, "renderer": renderer_info,
        "host": {"python": platform.python_version(), "machine": platform.machine()},
        "seconds": round(seconds, 3),
    }
    with atomic_path(out / "dataset.json") as tmp:
        save_dataset_json(tmp, info)
    # Everything DONE vouches for is on the disk before DONE is (power loss, not only crashes):
    # the atomically written files are already; the models and camera.json were written in place.
    size = fsync_tree(out / "models") + fsync_path(out / "camera.json")
    (out / "DONE").write_text("")
    fsync_path(out)
    return size + sum(f.stat().st_size for f in (coco_path, out / "manifest.jsonl", out / "dataset.json",
                                                  out / MARKER))


class RenderFailed(RuntimeError):
    """Some shards failed; the others are complete. ``failures``: (scene index, error line)."""

    def __init__(self, failures: list[tuple[int, str]], result: "JobResult"):
        self.failures = failures
        self.result = result
        super().__init__(f"{len(failures)} scene(s) failed")
