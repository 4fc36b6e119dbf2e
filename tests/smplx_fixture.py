"""A generated stand-in for the licensed SMPL-X model file, for testing the ``smplx`` backend.

The SMPL-X files may not be redistributed, so the tests build a file with SMPL-X's layout (10,475
vertices, 20,908 faces, 55 joints with SMPL-X's parents, the keys ``smplx.SMPLX`` reads) around a
simple, known body, and check the backend against that known body:

- Body frame as in SMPL-X: Y up, +Z forward (the face side), +X the body's left; metres. The rest
  skeleton :data:`REST_JOINTS` is an adult T-pose with the pelvis at :data:`PELVIS`, off the
  origin as in the real files, so that "global_orient rotates about the pelvis" is testable.
- Vertices are balls ("blobs") around each joint. ``J_regressor`` row j is the mean of joint j's
  blob, and each blob is centred exactly on its joint, so regressing ``v_template`` returns
  :data:`REST_JOINTS`.
- The landmark vertices smplx picks by id (nose 9120, eyes, ears, toes, heels, fingertips; see
  ``smplx/vertex_ids.py``) sit where they belong relative to their joint (:data:`LANDMARKS`) and
  are skinned rigidly (one-hot) to it; they are not in the regressor.
- The 68 face landmarks (51 inner + 17 contour) are each the centroid of a dedicated small
  triangle on a face plane in front of the head (:func:`face_points`): mouth and lower jaw line
  skinned to the jaw joint (22), the rest to the head (15). The dynamic-contour table repeats the
  same 17 faces for every head yaw (the real table slides them along the silhouette).
- ``shapedirs`` has 20 components (10 betas + 10 expressions, the layout of the SMPL-X 1.0 files):
  beta 0 scales the body along Y about the pelvis height by 5 % per unit; expression 0 lowers the inner
  lower-lip landmarks' triangles by 1 cm per unit. Everything else, and all ``posedirs``, is zero,
  so a pose moves joints and rigid vertices by exact rigid transforms.
- ``hands_meanl``/``hands_meanr`` curl every finger joint by :data:`HAND_MEAN_CURL` rad, so
  ``flat_hand_mean`` has a visible effect.

Compressed, the file is a few MB; generate it into a temporary folder, never commit it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from synthgen.bodies.keypoints import SMPLX_PARENTS

NUM_VERTS = 10475
NUM_FACES = 20908
NUM_JOINTS = 55
HAND_MEAN_CURL = 0.15   # rad per finger joint when flat_hand_mean is False
BETA0_SCALE = 0.05      # Y scale per unit of beta 0
EXPR0_DROP = 0.01       # m the inner lower lip drops per unit of expression 0

HEAD, JAW = 15, 22
PELVIS = np.array([0.0, -0.35, 0.012])   # about where the real SMPL-X rest pelvis is


def _rest_joints() -> np.ndarray:
    J = np.zeros((NUM_JOINTS, 3))
    left = {  # left-side and midline joints; right side mirrors x
        0: (0.0, 0.0, 0.0), 1: (0.06, -0.09, 0.0), 3: (0.0, 0.11, -0.01), 4: (0.10, -0.47, 0.0),
        6: (0.0, 0.24, 0.0), 7: (0.09, -0.87, -0.04), 9: (0.0, 0.30, 0.02), 10: (0.11, -0.93, 0.08),
        12: (0.0, 0.52, -0.01), 13: (0.07, 0.43, 0.0), 15: (0.0, 0.62, 0.03),
        16: (0.17, 0.46, -0.01), 18: (0.43, 0.45, -0.02), 20: (0.68, 0.45, -0.01),
        22: (0.0, 0.60, 0.05), 23: (0.03, 0.69, 0.10),
    }
    mirror = {1: 2, 4: 5, 7: 8, 10: 11, 13: 14, 16: 17, 18: 19, 20: 21, 23: 24}
    for j, p in left.items():
        J[j] = p
        if j in mirror:
            J[mirror[j]] = (-p[0], p[1], p[2])
    # fingers of the left hand, from the wrist: (first joint offset, 2nd and 3rd bone vectors)
    fingers = {  # SMPL-X order: index 25, middle 28, pinky 31, ring 34, thumb 37
        25: ((0.09, 0.0, 0.03), (0.035, 0.0, 0.0), (0.025, 0.0, 0.0)),
        28: ((0.095, 0.0, 0.01), (0.035, 0.0, 0.0), (0.027, 0.0, 0.0)),
        31: ((0.08, 0.0, -0.035), (0.025, 0.0, 0.0), (0.018, 0.0, 0.0)),
        34: ((0.09, 0.0, -0.012), (0.032, 0.0, 0.0), (0.024, 0.0, 0.0)),
        37: ((0.025, -0.01, 0.03), (0.03, -0.005, 0.025), (0.025, 0.0, 0.02)),
    }
    for j1, (o1, o2, o3) in fingers.items():
        a = J[20] + o1
        b = a + o2
        c = b + o3
        for k, p in enumerate((a, b, c)):
            J[j1 + k] = p
            J[j1 + 15 + k] = (-p[0], p[1], p[2])   # right hand: 40.. = 25.. + 15
    return J + PELVIS


REST_JOINTS: np.ndarray = _rest_joints()


def _landmarks() -> dict[int, tuple[int, np.ndarray]]:
    """vertex id (smplx/vertex_ids.py, 'smplx') -> (skinning joint, rest position)."""
    J = REST_JOINTS
    h = J[HEAD]
    out: dict[int, tuple[int, np.ndarray]] = {
        9120: (HEAD, h + (0.0, 0.04, 0.11)),                 # nose, in front of the head
        9929: (HEAD, J[24] + (0.0, 0.0, 0.012)),             # right eye, in front of the eyeball
        9448: (HEAD, J[23] + (0.0, 0.0, 0.012)),             # left eye
        616: (HEAD, h + (-0.075, 0.05, 0.0)),                # right ear
        6: (HEAD, h + (0.075, 0.05, 0.0)),                   # left ear
    }
    for side, foot, ankle, big, small, heel in ((1.0, 10, 7, 5770, 5780, 8846),
                                                (-1.0, 11, 8, 8463, 8474, 8635)):
        f, a = J[foot], J[ankle]
        out[big] = (foot, f + (side * -0.015, -0.05, 0.11))   # medial, forward, on the sole
        out[small] = (foot, f + (side * 0.035, -0.05, 0.08))  # lateral
        out[heel] = (ankle, a + (0.0, -0.11, -0.06))          # under and behind the ankle
    tips = {5361: 39, 4933: 27, 5058: 30, 5169: 36, 5286: 33,     # left thumb..pinky, joint X3
            8079: 54, 7669: 42, 7794: 45, 7905: 51, 8022: 48}
    for vid, j3 in tips.items():
        d = J[j3] - J[SMPLX_PARENTS[j3]]
        out[vid] = (j3, J[j3] + 0.02 * d / np.linalg.norm(d))   # 2 cm past the last joint
    return out


LANDMARKS: dict[int, tuple[int, np.ndarray]] = _landmarks()

# The 68 face points (iBUG order: 0-16 contour, 17-67 inner) lie on triangles made of these
# vertices, three each.
FACE_VERTEX_START = 2000
_LOWER_LIP_INNER = (65, 66, 67)   # iBUG inner lower lip: moved by expression 0


def face_points() -> tuple[np.ndarray, np.ndarray]:
    """Rest positions (68, 3) of the face landmarks in iBUG-68 order and the joint (68,) each is
    skinned to. Point 0 is on the body's right (-X), as in the iBUG annotation of a facing person."""
    h = REST_JOINTS[HEAD]
    P = np.zeros((68, 3))
    phi = np.linspace(0.0, np.pi, 17)
    P[0:17] = np.stack([-0.065 * np.cos(phi), 0.03 - 0.09 * np.sin(phi),
                        0.05 + 0.04 * np.sin(phi)], 1)
    P[17:27] = [(x, 0.085, 0.095) for x in np.r_[np.linspace(-0.05, -0.01, 5), np.linspace(0.01, 0.05, 5)]]
    P[27:31] = [(0.0, y, z) for y, z in zip(np.linspace(0.075, 0.035, 4), np.linspace(0.10, 0.115, 4))]
    P[31:36] = [(x, 0.03, 0.10) for x in np.linspace(-0.015, 0.015, 5)]
    t6 = np.linspace(0.0, 2 * np.pi, 6, endpoint=False)
    for start, cx in ((36, -0.03), (42, 0.03)):
        P[start:start + 6] = np.stack([cx - 0.012 * np.cos(t6), 0.07 + 0.005 * np.sin(t6),
                                       np.full(6, 0.095)], 1)
    t12 = np.linspace(0.0, 2 * np.pi, 12, endpoint=False)
    P[48:60] = np.stack([-0.025 * np.cos(t12), 0.0 + 0.012 * np.sin(t12), np.full(12, 0.10)], 1)
    t8 = np.linspace(0.0, 2 * np.pi, 8, endpoint=False)
    P[60:68] = np.stack([-0.018 * np.cos(t8), 0.0 + 0.005 * np.sin(t8), np.full(8, 0.098)], 1)
    P += h
    joint = np.full(68, HEAD)
    joint[4:13] = JAW      # lower jaw line
    joint[48:68] = JAW     # mouth
    return P, joint


def _blob_radius(j: int) -> float:
    if j in (0, 3, 6, 9):
        return 0.10
    if j in (HEAD, 12):
        return 0.07
    if j in (1, 2, 4, 5, 13, 14, 16, 17):
        return 0.06
    if j in (7, 8, 10, 11, 18, 19, 20, 21, JAW):
        return 0.04
    if j in (23, 24):
        return 0.012
    return 0.008   # finger joints


def build_fake_smplx() -> dict[str, np.ndarray]:
    """All arrays of the fake SMPL-X model file, keyed as in the real ``SMPLX_*.npz``."""
    rng = np.random.default_rng(20240611)
    J = REST_JOINTS
    parents = np.asarray(SMPLX_PARENTS, dtype=np.int64)
    v = np.zeros((NUM_VERTS, 3))
    joint_of = np.full(NUM_VERTS, -1, dtype=np.int64)
    special = np.zeros(NUM_VERTS, bool)

    for vid, (j, p) in LANDMARKS.items():
        v[vid], joint_of[vid], special[vid] = p, j, True

    # face triangles: 3 vertices around each of the 68 points; their centroid is the point
    fp, fj = face_points()
    tri = np.array([(0.002, 0.0, 0.0), (-0.001, 0.0017, 0.0), (-0.001, -0.0017, 0.0)])
    face_vids = FACE_VERTEX_START + np.arange(68 * 3).reshape(68, 3)
    assert not special[face_vids].any()
    for k in range(68):
        v[face_vids[k]] = fp[k] + tri
        joint_of[face_vids[k]] = fj[k]
        special[face_vids[k]] = True

    # blobs: the remaining vertices, in contiguous blocks, uniform in a ball around each joint,
    # centred exactly so that the block mean is the joint
    blob_ids = np.array_split(np.where(~special)[0], NUM_JOINTS)
    J_regressor = np.zeros((NUM_JOINTS, NUM_VERTS))
    for j, ids in enumerate(blob_ids):
        d = rng.normal(size=(len(ids), 3))
        d *= (rng.uniform(size=(len(ids), 1)) ** (1 / 3)) / np.linalg.norm(d, axis=1, keepdims=True)
        d = d * _blob_radius(j)
        d -= d.mean(0)
        v[ids] = J[j] + d
        joint_of[ids] = j
        J_regressor[j, ids] = 1.0 / len(ids)
    assert (joint_of >= 0).all()

    # skinning: one-hot on the own joint, except every third blob vertex of a non-root joint,
    # which blends 0.6 own / 0.4 parent (the own joint still dominates)
    weights = np.zeros((NUM_VERTS, NUM_JOINTS))
    weights[np.arange(NUM_VERTS), joint_of] = 1.0
    for j, ids in enumerate(blob_ids):
        if parents[j] >= 0:
            mix = ids[::3]
            weights[mix, j] = 0.6
            weights[mix, parents[j]] = 0.4

    # faces: the 68 landmark triangles first, then random triangles within each joint's blob
    f = np.zeros((NUM_FACES, 3), dtype=np.int64)
    f[:68] = face_vids
    rest = np.arange(68, NUM_FACES)
    for j, ids in enumerate(blob_ids):
        rows = rest[rest % NUM_JOINTS == j]
        start = rng.integers(0, len(ids) - 2, size=len(rows))
        f[rows] = ids[start[:, None] + np.arange(3)]   # three distinct vertices of one blob

    shapedirs = np.zeros((NUM_VERTS, 3, 20))
    shapedirs[:, 1, 0] = BETA0_SCALE * (v[:, 1] - PELVIS[1])   # beta 0: scale Y about the pelvis
    shapedirs[face_vids[list(_LOWER_LIP_INNER)].ravel(), 1, 10] = -EXPR0_DROP  # expression 0

    curl = np.zeros((15, 3))
    curl[:, 2] = HAND_MEAN_CURL   # about +Z: curls the right hand's -X fingers down (-Y)
    hands_meanr = curl.ravel()
    hands_meanl = (-curl).ravel()  # mirrored for the left hand's +X fingers

    kintree = np.stack([parents, np.arange(NUM_JOINTS)])
    return {
        "v_template": v.astype(np.float32),
        "f": f.astype(np.uint32),
        "J_regressor": J_regressor.astype(np.float32),
        "kintree_table": kintree.astype(np.int64),
        "weights": weights.astype(np.float32),
        "posedirs": np.zeros((NUM_VERTS, 3, 486), np.float32),
        "shapedirs": shapedirs.astype(np.float32),
        "hands_meanl": hands_meanl.astype(np.float32),
        "hands_meanr": hands_meanr.astype(np.float32),
        "hands_componentsl": np.eye(45, dtype=np.float32),
        "hands_componentsr": np.eye(45, dtype=np.float32),
        "lmk_faces_idx": np.arange(17, 68, dtype=np.int64),            # inner 51 (iBUG 17-67)
        "lmk_bary_coords": np.full((51, 3), 1.0 / 3.0, np.float32),
        "dynamic_lmk_faces_idx": np.tile(np.arange(17, dtype=np.int64), (79, 1)),  # contour
        "dynamic_lmk_bary_coords": np.full((79, 17, 3), 1.0 / 3.0, np.float32),
        "vt": np.zeros((NUM_VERTS, 2), np.float32),
        "ft": f.astype(np.uint32),
    }


def write_fake_smplx(dir: Path, gender: str = "neutral") -> Path:
    """Write the fake model as ``dir/smplx/SMPLX_<GENDER>.npz``, the file
    ``smplx.create(dir, model_type="smplx", gender=...)`` opens, and return that file's path.
    ``dir`` is then the ``model_dir`` to give ``SMPLXBody``."""
    path = Path(dir) / "smplx" / f"SMPLX_{gender.upper()}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **build_fake_smplx())
    return path
