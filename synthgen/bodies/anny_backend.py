"""The ``anny`` body backend: NAVER's Anny parametric body (Apache-2.0 code, CC0 MakeHuman data in
its wheel), driven by SMPL-X-convention poses.

Anny's skeleton has 104 bones in a Z-up model frame facing -Y (+X the subject's left), an A-pose
rest (arms 48 deg below horizontal, elbows bent) and a phenotype instead of betas: ``gender``
(0 male .. 1 female), ``age`` (-1/3 newborn, 0 one year, 1/3 about 11 years, 2/3 about 25,
1 about 90: MakeHuman's anchors), ``muscle``, ``weight``, ``height``, ``proportions`` (0..1).
Only the ``anny`` topology is used (its ``smpl``/``smplx`` topologies download non-commercial
data at run time: never).

Pose mapping (tested in ``tests/test_anny.py``). SMPL-X poses are rotations of joints whose rest
frames are world-aligned in a T-pose. Each SMPL-X joint drives one Anny bone
(:data:`SMPLX_TO_ANNY`; SMPL-X's foot joint drives the five proximal toe bones; the jaw has no
Anny bone); every other Anny bone (twist bones, the extra spine and neck segments, metacarpals,
distal toe bones) moves rigidly with its nearest driven ancestor. A per-bone correction ``C``
(world rotation, per phenotype) first turns Anny's A-pose into SMPL-X's T-pose: it turns the
segment from a driven bone's head to the head of the bone driven by the SMPL-X child joint onto
the direction of that segment in SMPL-X's rest skeleton (mannequin-x's SMPL-X template, flat
hands); forearms and hands also turn the wrist -> thumb-base direction onto SMPL-X's, so the
palm faces down as in SMPL-X's T-pose; bones without a child joint keep their parent's
correction; the trunk (pelvis, spine, neck, head) is already upright and keeps Anny's own rest
orientation. A bone then takes the world orientation ``G_j C R_rest`` (``G_j``: the SMPL-X
joint's global rotation, ``R_rest``: the bone's rest orientation in Anny's frame turned into
SMPL-X's body frame), Anny's ``world-orient`` parameterisation, and the pelvis goes to its rest
position plus ``transl``, as in SMPL-X. The posed joints therefore obey SMPL-X forward kinematics
on the rest joints this backend returns (``synthgen.bodies.kinematics``): IK, foot planting and
the pose library work unchanged.

Outputs: ``joints`` (55, 3) are the heads of the driven bones (SMPL-X's foot joint: the mean of
the five proximal toe heads; jaw NaN); ``face`` (68, 3) the iBUG/WholeBody face landmarks on the
skin (:mod:`synthgen.bodies.anny_face`); landmarks: the nose is face point 31 (the nose tip),
each eye the mean of its six eyelid points; ears, big/small toes and heels come from Anny's own
COCO keypoint regressor (``anny.KeypointsRegressor.coco``, weights over the mesh vertices; its
nose sits 1-2 cm above and behind the tip, so it is not used), fingertips from the most distal
vertex of each distal phalanx (rule in :func:`fingertip_vertex_ids`).

The cache: Anny builds its model data once (about 90 s and 0.8 GB on 2 cores) under
``$ANNY_CACHE_DIR`` (default ``~/.cache/anny``); ``make`` builds it (``synthgen setup``), and a
run without it stops with one line saying so (:class:`AnnyCacheError`).
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from ..errors import InputError
from .anny_face import face68_points
from .base import BodyOutput, SMPLXParams
from .keypoints import SMPLX_JOINT_NAMES, SMPLX_PARENTS

#: Phenotype labels Anny exposes (its "default" set), each in [0, 1] except age (-1/3 .. 1).
PHENOTYPE_LABELS: tuple[str, ...] = ("gender", "age", "muscle", "weight", "height", "proportions")
#: The shape values Anny's calibration draws given age and sex.
CALIBRATED: tuple[str, ...] = ("height", "weight", "muscle", "proportions")

# Anny model frame (Z up, facing -Y, +X left) -> SMPL-X body frame (Y up, facing +Z, +X left).
ANNY_TO_SMPLX = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

_FINGERS = {"index": 2, "middle": 3, "pinky": 5, "ring": 4, "thumb": 1}   # SMPL-X name -> Anny finger
# Pelvis, spine, neck and head: Anny's rest trunk is already upright as SMPL-X's rest mesh is, so
# no correction (SMPL-X's regressed neck -> head line leans 9 deg sideways; turning Anny's head
# onto it would tilt the face).
_UPRIGHT = (0, 3, 6, 9, 12, 15)


def _smplx_to_anny() -> dict[int, tuple[str, ...]]:
    m: dict[int, tuple[str, ...]] = {
        0: ("root",), 3: ("spine04",), 6: ("spine02",), 9: ("spine01",), 12: ("neck01",), 15: ("head",),
        23: ("eye.L",), 24: ("eye.R",),
    }
    for side, s in (("left", "L"), ("right", "R")):
        j = {n: i for i, n in enumerate(SMPLX_JOINT_NAMES)}
        m[j[f"{side}_hip"]] = (f"upperleg01.{s}",)
        m[j[f"{side}_knee"]] = (f"lowerleg01.{s}",)
        m[j[f"{side}_ankle"]] = (f"foot.{s}",)
        m[j[f"{side}_foot"]] = tuple(f"toe{t}-1.{s}" for t in range(1, 6))
        m[j[f"{side}_collar"]] = (f"clavicle.{s}",)
        m[j[f"{side}_shoulder"]] = (f"upperarm01.{s}",)
        m[j[f"{side}_elbow"]] = (f"lowerarm01.{s}",)
        m[j[f"{side}_wrist"]] = (f"wrist.{s}",)
        for name, f in _FINGERS.items():
            for k in (1, 2, 3):
                m[j[f"{side}_{name}{k}"]] = (f"finger{f}-{k}.{s}",)
    return m


#: SMPL-X joint index -> the Anny bone(s) it drives. The jaw (22) drives none.
SMPLX_TO_ANNY: dict[int, tuple[str, ...]] = _smplx_to_anny()


class AnnyCacheError(InputError):
    """Anny's one-time model cache is missing: ``synthgen setup`` (run by ``make``) builds it."""


def cache_dir() -> Path:
    """Where Anny keeps its model cache: ``$ANNY_CACHE_DIR`` or ``~/.cache/anny``."""
    return Path(os.environ.get("ANNY_CACHE_DIR", str(Path.home() / ".cache" / "anny")))


def cache_is_built() -> bool:
    """True when Anny's compacted full-body model data is in the cache (any Anny version's)."""
    return any(cache_dir().glob("v*/build_compact_model_data_*.safetensors"))


def build_cache(log=print) -> Path:
    """Build Anny's model cache (minutes on 2 cores); returns the folder. Prints progress with
    ``log``. Only the compacted model is kept afterwards (the intermediate files are 0.7 GB)."""
    import time

    d = cache_dir()
    log(f"building the Anny body-model cache in {d} (about 2 minutes on 2 cores, once) ...")
    t0 = time.time()
    _new_anny()
    kept = 0
    for f in d.glob("v*/*.safetensors"):
        if f.name.startswith("build_compact_model_data_"):
            kept += f.stat().st_size
        else:
            f.unlink()   # Anny rebuilds from the compacted file alone
    log(f"Anny cache ready in {d} ({kept / 1e6:.0f} MB, {time.time() - t0:.0f} s)")
    return d


def _new_anny():
    import anny

    # plain LBS in torch: the default skinning would import warp's GPU kernels
    return anny.Anny(skinning_method="lbs")


@functools.lru_cache(maxsize=1)
def shape_calibration() -> dict:
    """Anny's own calibration of its shapes against WHO growth data (``data/shape_calibration``
    in the wheel, read as tensors only): the *morphological age* mapping (years -> Anny age) and,
    for boys and girls, Beta distributions of height, weight, muscle and proportions whose
    parameters are piecewise linear in Anny age. Returns numpy arrays:
    ``{"years", "age", "boys"|"girls": {kind: (age_anchors, alpha, beta)}}``."""
    import anny
    import torch

    root = Path(anny.paths.get_anny_root_dir()) / "data" / "shape_calibration"
    out: dict = {}
    for sex in ("boys", "girls"):
        d = torch.load(root / f"{sex}.pth", weights_only=True, map_location="cpu")
        m = d["morphological_age_mapping"]
        out["years"] = m["morphological_age_anchors"].numpy().astype(np.float64)
        out["age"] = m["anny_age_anchors"].numpy().astype(np.float64)
        out[sex] = {k: tuple(d[f"conditional_{k}_distribution"][a].numpy().astype(np.float64)
                             for a in ("age_anchors", "alpha_anchors", "beta_anchors")) for k in CALIBRATED}
    return out


def age_from_years(years) -> np.ndarray:
    """Anny's ``age`` phenotype of a body that looks ``years`` old (Anny's WHO-calibrated
    morphological-age mapping, piecewise linear)."""
    c = shape_calibration()
    return np.interp(years, c["years"], c["age"])


def years_from_age(age) -> np.ndarray:
    """Inverse of :func:`age_from_years`."""
    c = shape_calibration()
    return np.interp(age, c["age"], c["years"])


def calibrated_shape(rng: np.random.Generator, age: float, gender: float) -> dict[str, float]:
    """Height, weight, muscle and proportions drawn from Anny's calibrated Beta distributions for
    ``age`` (Anny units) and sex (boys' tables for gender <= 0.5, as Anny's own sampler), with
    ``rng`` (one Beta draw per value, in :data:`CALIBRATED` order)."""
    table = shape_calibration()["boys" if gender <= 0.5 else "girls"]
    out = {}
    for k in CALIBRATED:
        anchors, alpha, beta = table[k]
        a, b = np.interp(age, anchors, alpha), np.interp(age, anchors, beta)
        out[k] = float(rng.beta(a, b))
    return out


def _reference_rest_joints() -> np.ndarray:
    """SMPL-X's rest skeleton (55, 3; jaw and eyes NaN), body frame, flat hands: mannequin-x's
    SMPL-X template at zero shape, made left/right symmetric (each joint and its mirror partner
    averaged; SMPL-X's regressed skeleton differs between sides by up to 2 cm, which would make
    Anny's shoulders lopsided)."""
    from .mannequin import MannequinBody

    J = MannequinBody(flat_hand_mean=True).forward(SMPLXParams()).joints
    names = list(SMPLX_JOINT_NAMES)
    mirror = np.array([names.index(n.replace("left", "@").replace("right", "left").replace("@", "right"))
                       for n in names])
    flipped = J[mirror] * np.array([-1.0, 1.0, 1.0])
    sym = 0.5 * (J + flipped)
    sym[[i for i, n in enumerate(names) if "left" not in n and "right" not in n], 0] = 0.0   # on the mid-plane
    return sym


def _align(a: np.ndarray, b: np.ndarray, a2: np.ndarray | None = None, b2: np.ndarray | None = None) -> np.ndarray:
    """Rotation (3, 3) turning direction ``a`` onto ``b`` by the shortest arc, or, with the
    secondary pair, the rotation that turns ``a`` onto ``b`` exactly and ``a2`` as near ``b2`` as
    the first allows."""
    if a2 is None:
        R, _ = Rotation.align_vectors(b[None], a[None])
    else:
        R, _ = Rotation.align_vectors(np.stack([b, b2]), np.stack([a, a2]), weights=[np.inf, 1.0])
    return R.as_matrix()


def fingertip_vertex_ids(rest_vertices: np.ndarray, heads: np.ndarray, tails: np.ndarray,
                         dominant: np.ndarray, labels: list[str]) -> dict[str, int]:
    """The fingertip landmark rule: for each distal phalanx bone (``finger{1..5}-3``), the vertex
    whose dominant bone it is, farthest along the bone's head -> tail direction (rest pose)."""
    out = {}
    for side, s in (("left", "L"), ("right", "R")):
        for name, f in _FINGERS.items():
            b = labels.index(f"finger{f}-3.{s}")
            ids = np.where(dominant == b)[0]
            d = tails[b] - heads[b]
            out[f"{side}_{name}"] = int(ids[np.argmax((rest_vertices[ids] - heads[b]) @ d)])
    return out


class _Rest:
    """Per-phenotype rest data in SMPL-X's body frame: bone orientations (B, 3, 3), heads (B, 3),
    the T-pose corrections (B, 3, 3) and the T-pose joints (55, 3); and Anny's own rest model
    (torch: ``vertices`` (1, N, 3), ``bone_poses`` (1, B, 4, 4), Anny's frame), so a pose only
    costs kinematics and skinning."""

    def __init__(self, R: np.ndarray, heads: np.ndarray, C: np.ndarray, joints: np.ndarray, vertices, bone_poses):
        self.R, self.heads, self.C, self.joints = R, heads, C, joints
        self.vertices, self.bone_poses = vertices, bone_poses


class AnnyBody:
    """SMPL-X-driven Anny body. ``forward`` returns world-frame metres; ``params.phenotype``
    (label -> value, :data:`PHENOTYPE_LABELS`; missing labels 0.5) sets the body."""

    name = "anny"
    gender = "neutral"   # the body's sex is the continuous ``gender`` phenotype

    def __init__(self, flat_hand_mean: bool = False):
        if not cache_is_built():
            raise AnnyCacheError(f"humans.model 'anny': expected Anny's model cache in {cache_dir()}, found none; "
                                 "build it once with `synthgen setup` (make does; about 2 minutes)")
        import torch

        torch.set_grad_enabled(False)
        self._torch = torch
        self._model = _new_anny().double()
        m = self._model
        self.labels: list[str] = list(m.bone_labels)
        self._parents = [int(p) for p in m.bone_parents]
        self._flat_hand_mean = flat_hand_mean
        idx = {n: i for i, n in enumerate(self.labels)}
        # driving SMPL-X joint of every Anny bone: its own, else its nearest driven ancestor's
        drive = np.full(len(self.labels), -1)
        for j, bones in SMPLX_TO_ANNY.items():
            for b in bones:
                drive[idx[b]] = j
        for b in range(len(self.labels)):   # parents come before children in Anny's order
            if drive[b] < 0:
                drive[b] = drive[self._parents[b]]
        self._drive = drive
        self._bone_of = {j: [idx[b] for b in bones] for j, bones in SMPLX_TO_ANNY.items()}
        w = m.vertex_bone_weights.numpy()
        dom = m.vertex_bone_indices.numpy()[np.arange(len(w)), w.argmax(1)]
        self._skin_joint = drive[dom].astype(np.int64)
        self._faces = m.faces.numpy().astype(np.int64)
        self.uv = m.texture_coordinates.numpy()
        self.face_uv = m.face_texture_coordinate_indices.numpy().astype(np.int64)
        import anny

        self._coco = anny.KeypointsRegressor.coco(m)
        self._coco_rows = {n: i for i, n in enumerate(self._coco.labels)}
        self._ref = _reference_rest_joints()
        rest0 = m()
        heads0 = rest0["rest_bone_heads"][0].numpy()
        tails0 = heads0 + rest0["rest_bone_poses"][0, :, :3, 1].numpy()   # +Y is the bone axis
        self._tip_ids = fingertip_vertex_ids(rest0["rest_vertices"][0].numpy(), heads0, tails0, dom, self.labels)
        self._rest_key: bytes | None = None
        self._rest: _Rest | None = None

    @property
    def faces(self) -> np.ndarray:
        return self._faces

    def _phenotype_tensor(self, phenotype: dict | None):
        vals = [float((phenotype or {}).get(k, 0.5)) for k in PHENOTYPE_LABELS]
        return self._torch.tensor([vals], dtype=self._torch.float64), np.array(vals)

    def _rest_of(self, phenotype: dict | None) -> _Rest:
        ph, vals = self._phenotype_tensor(phenotype)
        key = vals.tobytes()
        if key == self._rest_key:
            return self._rest
        out = self._model(phenotype_kwargs=ph)
        M = ANNY_TO_SMPLX
        R = M @ out["rest_bone_poses"][0, :, :3, :3].numpy()
        heads = out["rest_bone_heads"][0].numpy() @ M.T
        joints = self._joints_of(heads)
        ref = self._ref
        children = {j: [c for c, p in enumerate(SMPLX_PARENTS) if p == j] for j in range(55)}
        thumb = {20: 37, 21: 52, 18: 37, 19: 52}   # elbows and wrists: the thumb base orients the roll
        corr = np.repeat(np.eye(3)[None], 55, axis=0)
        for j, parent in enumerate(SMPLX_PARENTS):
            kids = [c for c in children[j] if not np.isnan(ref[c]).any()]
            if j in _UPRIGHT or not kids:
                corr[j] = corr[parent] if parent >= 0 else np.eye(3)
                continue
            k = {9: 12, 20: 28, 21: 43}.get(j, kids[0])   # spine3 -> neck; wrists -> middle finger
            a, b = joints[k] - joints[j], ref[k] - ref[j]
            if j in thumb:
                t = thumb[j]
                wrist = 20 if j in (18, 20) else 21
                corr[j] = _align(a, b, joints[t] - joints[wrist], ref[t] - ref[wrist])
            else:
                corr[j] = _align(a, b)
        C = corr[self._drive]
        # joints after the correction: the T-pose skeleton that SMPL-X kinematics runs on
        t_joints = self._joints_of(self._tpose_heads(heads, C))
        self._rest_key, self._rest = key, _Rest(R, heads, C, t_joints, out["rest_vertices"], out["rest_bone_poses"])
        return self._rest

    def _orientations(self, R, C, G):
        """World orientations (B, 3, 3) of every bone for global joint rotations ``G`` (55, 3, 3):
        G_j C R_rest, j the bone's driving SMPL-X joint."""
        return G[self._drive] @ C @ R

    def _tpose_heads(self, heads: np.ndarray, C: np.ndarray) -> np.ndarray:
        """Bone heads (B, 3) of the T-pose: each bone turns its rest segment by its correction C
        (the pose's G is the identity), heads following the chain from the root."""
        H = heads.copy()
        for b in range(1, len(heads)):
            p = self._parents[b]
            H[b] = H[p] + C[p] @ (heads[b] - heads[p])
        return H

    def _joints_of(self, heads: np.ndarray) -> np.ndarray:
        """SMPL-X joints (55, 3) from bone heads (B, 3): each the head of its driven bone (the
        foot joint: the mean of the five proximal toes); the jaw NaN."""
        joints = np.full((55, 3), np.nan)
        for j, bones in self._bone_of.items():
            joints[j] = heads[bones].mean(axis=0)
        return joints

    def rest_joints(self, phenotype: dict | None = None) -> np.ndarray:
        """SMPL-X rest joints (55, 3) of this phenotype (T-pose, body frame; jaw NaN)."""
        return self._rest_of(phenotype).joints.copy()

    def forward(self, params: SMPLXParams) -> BodyOutput:
        from .kinematics import forward_kinematics

        torch = self._torch
        phenotype = getattr(params, "phenotype", None)
        rest = self._rest_of(phenotype)
        p = params
        if not self._flat_hand_mean:   # hand parameters are relative to SMPL-X's relaxed mean hand
            from .hand_poses import smplx_hand_mean

            mean = smplx_hand_mean()
            p = SMPLXParams(**{**vars(params)})
            p.left_hand_pose = np.asarray(params.left_hand_pose, float) + mean[0].ravel()
            p.right_hand_pose = np.asarray(params.right_hand_pose, float) + mean[1].ravel()
        _, G = forward_kinematics(rest.joints, p)   # the SMPL-X joints' global rotations
        D = self._orientations(rest.R, rest.C, G)
        delta = np.zeros((1, len(self.labels), 4, 4))
        # world orientations of the bones: with R_rest = ANNY_TO_SMPLX @ (Anny's rest orientation),
        # D R_anny^T maps Anny-frame rest points straight into the world
        delta[0, :, :3, :3] = D
        delta[0, :, 3, 3] = 1.0
        # the pelvis at its rest position plus transl (SMPL-X's root rotates about the pelvis)
        delta[0, 0, :3, 3] = rest.joints[0] + np.asarray(params.transl, float).reshape(3)
        # Anny's forward without its rest model (cached per phenotype in _rest_of)
        transforms, bone_poses = self._model.get_bone_transforms(torch.from_numpy(delta), rest.bone_poses,
                                                                 pose_parameterization="world-orient")
        out = {"vertices": self._model.get_skinned_vertices(rest.vertices, transforms), "bone_poses": bone_poses}
        verts = out["vertices"][0].numpy()
        joints = self._joints_of(out["bone_poses"][0, :, :3, 3].numpy())
        kp = self._coco(out)[0].numpy()
        landmarks = {n: kp[self._coco_rows[n]].copy() for n in
                     ("left_ear", "right_ear", "left_big_toe", "left_small_toe",
                      "left_heel", "right_big_toe", "right_small_toe", "right_heel")}
        face = face68_points(verts)
        # iBUG numbering (1-based): 31 nose tip; 37-42 the subject's right eye, 43-48 the left
        landmarks["nose"] = face[30].copy()
        landmarks["right_eye"] = face[36:42].mean(axis=0)
        landmarks["left_eye"] = face[42:48].mean(axis=0)
        landmarks.update({n: verts[i].copy() for n, i in self._tip_ids.items()})
        return BodyOutput(vertices=verts, faces=self._faces, joints=joints, landmarks=landmarks,
                          skin_joint=self._skin_joint, face=face)
