"""The ``smplx`` body backend: the SMPL-X model through the ``smplx`` package (optional extra).

The SMPL-X model files are licensed and may not be redistributed: the user downloads them from
https://smpl-x.is.tue.mpg.de (registration required) and points ``model_dir`` at them. Accepted
layouts, tried in this order (``<G>`` = ``NEUTRAL``, ``MALE`` or ``FEMALE``):

- ``<model_dir>/smplx/SMPLX_<G>.npz`` (what ``smplx.create(model_dir, model_type="smplx")``
  opens; the layout of the download's ``models/`` folder),
- ``<model_dir>/SMPLX_<G>.npz``,
- the same two with ``.pkl``,
- or ``model_dir`` naming the ``.npz``/``.pkl`` file itself.

No model file runs code when loaded. The backend reads the file itself and hands smplx the arrays
(:func:`_smplx_from_arrays`), so smplx's own loaders (``pickle.load`` for ``.pkl``,
``np.load(allow_pickle=True)`` for ``.npz``) are never called:

- ``.npz`` is read with ``np.load(allow_pickle=False)``, and only the arrays SMPL-X needs
  (:data:`SMPLX_ARRAYS`), each of which must be a plain numeric array; an object array among them
  (pickled Python objects) is refused. Members smplx does not use are never read, so the object
  arrays of the released files (``joint2num``, ``part2num``: name tables) do no harm.
- ``.pkl`` is a pickle, and unpickling a file can run any code in it. It is loaded only with
  ``trust_pickle=True`` (the config's ``humans.trust_pickle``), which says the user trusts the
  folder; otherwise it is refused with a one-line error. The SMPL-X download ships the same model
  as ``.npz`` too.

The model is created once per :class:`SMPLXBody` with ``use_pca=False`` (hand poses are 15x3
axis-angle per hand, as in :class:`~synthgen.bodies.base.SMPLXParams`) and
``use_face_contour=True``, so smplx returns 144 joints: 0-54 skinned joints, 55-75 vertex-picked
landmarks (``SMPLX_LANDMARK_NAMES`` order), 76-126 the 51 inner face landmarks, 127-143 the 17 face
contour points (see ``keypoints.md``).

Parameters go in under their own names (no mapping needed); the output is the same as smplx's,
in float64: SMPL-X's ``global_orient`` rotates the body about its pelvis joint (the root, whose
rest position depends on ``betas``) and ``transl`` is added afterwards, so with the sampler's
``global_orient`` the output is in the world frame (Z up, metres).

``flat_hand_mean``: SMPL-X adds the file's mean hand pose (relaxed, slightly curled fingers) to
``left/right_hand_pose`` unless ``flat_hand_mean`` is true; zero hand poses then give flat hands.

Face contour: smplx picks the 17 contour points from a look-up table indexed by the yaw of the
neck chain (root, spine1-3, neck) about the *model's* Y axis, meant for a camera in front of the
model. With a world-placing ``global_orient`` (Rz(yaw) @ Rx(90 deg), as the sampler builds) that
yaw is 0 whatever the heading, so the contour is the frontal jaw line as 3D mesh points; only
torso/neck twist in ``body_pose`` moves it along the jaw. It is not a per-camera silhouette.

smplx and torch are imported only when an :class:`SMPLXBody` is built, so the package works
without the extra.
"""
from __future__ import annotations

import contextlib
import io
import pickle
import types
import warnings
from pathlib import Path

import numpy as np

from ..errors import InputError

from .base import BodyOutput, SMPLXParams
from .keypoints import NUM_SMPLX_EXTENDED, NUM_SMPLX_JOINTS, SMPLX_LANDMARK_NAMES

GENDERS = ("neutral", "male", "female")
SMPLX_DOWNLOAD = "https://smpl-x.is.tue.mpg.de"
MISSING_EXTRA_MESSAGE = "the 'smplx' body model needs the smplx extra: pip install 'synthgen[smplx]'"

# The mesh vertices smplx picks for joints 55-75 (smplx/vertex_ids.py, 'smplx'), for reference
# and tests; the backend reads the landmarks from smplx's joints, not from this table.
LANDMARK_VERTEX_IDS: dict[str, int] = {
    "nose": 9120, "right_eye": 9929, "left_eye": 9448, "right_ear": 616, "left_ear": 6,
    "left_big_toe": 5770, "left_small_toe": 5780, "left_heel": 8846,
    "right_big_toe": 8463, "right_small_toe": 8474, "right_heel": 8635,
    "left_thumb": 5361, "left_index": 4933, "left_middle": 5058, "left_ring": 5169,
    "left_pinky": 5286, "right_thumb": 8079, "right_index": 7669, "right_middle": 7794,
    "right_ring": 7905, "right_pinky": 8022,
}
NUM_VERTICES = 10475

# The arrays smplx 0.1.28's SMPLX (with SMPLH and SMPL under it) reads from a model file; the
# released files hold more (texture coordinates, PCA coefficients, name tables), which are unused.
SMPLX_ARRAYS = ("v_template", "f", "J_regressor", "kintree_table", "weights", "posedirs", "shapedirs",
                "hands_componentsl", "hands_componentsr", "hands_meanl", "hands_meanr",
                "lmk_faces_idx", "lmk_bary_coords", "dynamic_lmk_faces_idx", "dynamic_lmk_bary_coords")
ZIP_MAGIC = b"PK\x03\x04"   # a .npz is a zip archive of .npy files


class BodyModelError(InputError, ValueError):
    """The body model's files are missing or unusable. ``str()`` is one line: which file was
    expected where, or what is wrong with it, and what to do."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class SMPLXExtraMissingError(InputError, ImportError):
    """smplx or torch is not installed; ``str()`` is :data:`MISSING_EXTRA_MESSAGE`."""


def _require_smplx():
    """Import smplx and torch, or fail with the one-line install hint."""
    try:
        import smplx
        import torch
    except ImportError as exc:
        raise SMPLXExtraMissingError(MISSING_EXTRA_MESSAGE) from exc
    return smplx, torch


def resolve_model_file(model_dir: str | Path, gender: str = "neutral", trust_pickle: bool = False) -> Path:
    """The SMPL-X model file for ``gender`` under ``model_dir`` (layouts in the module docstring).

    Raises :class:`BodyModelError` naming the expected file when none is there, or when the file
    found is a ``.pkl`` and ``trust_pickle`` is false."""
    if gender not in GENDERS:
        raise BodyModelError(f"SMPL-X gender must be one of {', '.join(GENDERS)}, found {gender!r}")
    model_dir = Path(model_dir).expanduser()
    if model_dir.is_file():
        if model_dir.suffix not in (".npz", ".pkl"):
            raise BodyModelError(f"SMPL-X model file {model_dir} must be a .npz or .pkl file")
        return _refuse_untrusted_pickle(model_dir, trust_pickle)
    name = f"SMPLX_{gender.upper()}"
    candidates = [folder / f"{name}.{ext}" for ext in ("npz", "pkl")
                  for folder in (model_dir / "smplx", model_dir)]
    for c in candidates:
        if c.is_file():
            return _refuse_untrusted_pickle(c, trust_pickle)
    raise BodyModelError(
        f"SMPL-X model file not found: expected {candidates[0]} (or {candidates[1]}, or .pkl); "
        f"download the SMPL-X model from {SMPLX_DOWNLOAD} (free registration; its licence forbids "
        f"redistribution, so synthgen cannot ship it)")


def _refuse_untrusted_pickle(path: Path, trust_pickle: bool) -> Path:
    """``path``, unless it is a ``.pkl`` the user has not said they trust."""
    if path.suffix == ".pkl" and not trust_pickle:
        raise BodyModelError(
            f"SMPL-X model file {path} is a pickle, which can run code when loaded, so it is refused: "
            f"use the .npz file of the same SMPL-X download (or convert it to .npz), or set "
            f"humans.trust_pickle=true (trust_pickle=True in Python) if you trust this folder")
    return path


def _unloadable(path: Path, exc: Exception) -> BodyModelError:
    """The one-line error for a model file that failed to load with ``exc``."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return BodyModelError(f"could not load SMPL-X model file {path}: {type(exc).__name__}: {first}")


def load_model_arrays(path: Path, trust_pickle: bool = False) -> dict:
    """The arrays of :data:`SMPLX_ARRAYS` from the SMPL-X model file ``path``, read without running
    any code from it (see the module docstring): a ``.npz`` with ``allow_pickle=False``, a ``.pkl``
    only when ``trust_pickle``. Raises :class:`BodyModelError` (one line, naming the file) for a
    missing array, an object or non-numeric array, or a file that is not what its name says."""
    path = Path(path)
    if path.suffix == ".pkl":
        _refuse_untrusted_pickle(path, trust_pickle)
        try:
            with open(path, "rb") as f:
                data = pickle.load(f, encoding="latin1")   # the user trusts this file (trust_pickle)
        except Exception as exc:
            raise _unloadable(path, exc) from exc
        if not isinstance(data, dict):
            raise BodyModelError(f"SMPL-X model file {path} must hold a dict of arrays, "
                                 f"found {type(data).__name__}")
        missing = [k for k in SMPLX_ARRAYS if k not in data]
        if missing:
            raise BodyModelError(f"SMPL-X model file {path} lacks the arrays {', '.join(missing)}")
        return {k: data[k] for k in SMPLX_ARRAYS}
    with open(path, "rb") as f:
        head = f.read(len(ZIP_MAGIC))
    if head != ZIP_MAGIC:
        # np.load would try such a file as a pickle; say what it is instead
        found = "a pickle" if head[:1] == b"\x80" else f"a file starting with {head!r}"
        raise BodyModelError(f"SMPL-X model file {path} is not a .npz archive: found {found}")
    out = {}
    try:
        with np.load(path, allow_pickle=False) as data:
            for key in SMPLX_ARRAYS:
                if key not in data.files:
                    raise BodyModelError(f"SMPL-X model file {path} lacks the array '{key}' "
                                         f"(it holds {', '.join(sorted(data.files)) or 'nothing'})")
                try:
                    a = data[key]
                except ValueError as exc:   # an object array: reading it would unpickle
                    raise BodyModelError(f"SMPL-X model file {path}: array '{key}' is refused: {exc} "
                                         f"(SMPL-X arrays are numeric; object arrays hold pickled "
                                         f"Python objects, which can run code)") from None
                if a.dtype.kind not in "biuf":
                    raise BodyModelError(f"SMPL-X model file {path}: array '{key}' must be numeric, "
                                         f"found dtype {a.dtype}")
                out[key] = a
    except BodyModelError:
        raise
    except Exception as exc:   # a damaged zip, a truncated member...
        raise _unloadable(path, exc) from exc
    return out


class _ArraysAsNumpy:
    """numpy, except that ``load(path, ...)`` returns the arrays already read from ``path``."""

    def __init__(self, path: str, arrays: dict):
        self._path, self._arrays = path, arrays

    def load(self, path, *args, **kwargs):
        if str(path) != self._path:   # pragma: no cover - guards a smplx layout change
            raise RuntimeError(f"smplx asked for {path}, expected {self._path}")
        return self._arrays

    def __getattr__(self, name):
        return getattr(np, name)


class _NoPickle:
    """Stands in for the pickle module: nothing may be unpickled on smplx's side."""

    def __getattr__(self, name):   # pragma: no cover - only reached if smplx changes
        raise RuntimeError(f"smplx tried pickle.{name}; synthgen reads the model file itself")


def _smplx_from_arrays(smplx, path: Path, arrays: dict, **kwargs):
    """``smplx.SMPLX(path, **kwargs)`` built from ``arrays`` (what :func:`load_model_arrays` read
    from ``path``) without smplx opening the file.

    smplx 0.1.28's ``SMPLX.__init__``, unlike ``SMPL``'s and ``SMPLH``'s, takes no pre-loaded
    ``data_struct``: it always loads the file itself, with ``np.load(allow_pickle=True)`` or
    ``pickle.load``. So this runs that same constructor code with two names of its module scope
    rebound for this call only: ``np`` to :class:`_ArraysAsNumpy` (``np.load`` returns ``arrays``)
    and ``pickle`` to :class:`_NoPickle`. No module is changed (other threads and later calls see
    smplx as it is), and no smplx code is copied."""
    init = smplx.SMPLX.__init__
    if not {"np", "pickle", "load"} <= set(init.__code__.co_names):  # pragma: no cover
        raise RuntimeError("this smplx version loads SMPL-X files differently from 0.1.28; "
                           "synthgen's safe loader needs updating")
    scope = dict(init.__globals__, np=_ArraysAsNumpy(str(path), arrays), pickle=_NoPickle())
    safe_init = types.FunctionType(init.__code__, scope, init.__name__, init.__defaults__,
                                   init.__closure__)
    safe_init.__kwdefaults__ = init.__kwdefaults__
    model = smplx.SMPLX.__new__(smplx.SMPLX)
    safe_init(model, str(path), ext="npz", **kwargs)   # ext: take the np.load branch
    return model


def _fit(values, n: int, what: str) -> np.ndarray:
    """``values`` as a length-``n`` float vector: zero-padded, or truncated when the dropped
    entries are all zero (a non-zero one would silently change the body, so it is an error)."""
    a = np.asarray(values, dtype=np.float64).ravel()
    if a.size > n and np.any(a[n:] != 0.0):
        raise ValueError(f"{what} has {a.size} values but the SMPL-X model uses {n}; "
                         f"entries beyond {n} are non-zero")
    out = np.zeros(n)
    out[:min(n, a.size)] = a[:n]
    return out


class SMPLXBody:
    """SMPL-X through the ``smplx`` package. ``forward`` returns world-frame metres.

    ``model_dir``: folder with the SMPL-X files (or the file itself, see the module docstring);
    ``gender``: 'neutral', 'male' or 'female'; ``num_betas`` / ``num_expression_coeffs``: how many
    shape / expression coefficients to use (smplx caps them at what the file has: 10 and 10 for
    the SMPL-X 1.0 files, 300 and 100 for 1.1; the effective numbers are in the attributes of the
    same names); ``flat_hand_mean``: see the module docstring; ``trust_pickle``: allow a ``.pkl``
    model file, which can run code when loaded (only for a folder you trust).
    """

    name = "smplx"

    def __init__(self, model_dir: str | Path, gender: str = "neutral", num_betas: int = 10,
                 num_expression_coeffs: int = 10, flat_hand_mean: bool = False,
                 trust_pickle: bool = False):
        self.gender = gender
        self.model_file = resolve_model_file(model_dir, gender, trust_pickle)
        smplx, torch = _require_smplx()
        self._torch = torch
        arrays = load_model_arrays(self.model_file, trust_pickle)
        try:
            # smplx prints notices (e.g. "only 10 shape coefficients") to stdout, which belongs
            # to the CLI's report; capture them and warn only when a request was cut down.
            with contextlib.redirect_stdout(io.StringIO()):
                model = _smplx_from_arrays(smplx, self.model_file, arrays, gender=gender,
                                           use_pca=False, use_face_contour=True, num_betas=num_betas,
                                           num_expression_coeffs=num_expression_coeffs,
                                           flat_hand_mean=flat_hand_mean)
        except Exception as exc:  # smplx asserts, arrays of the wrong shape...
            raise _unloadable(self.model_file, exc) from exc
        model.eval()
        nv = int(model.v_template.shape[0])
        nj = int(model.parents.shape[0])
        if nv != NUM_VERTICES or nj != NUM_SMPLX_JOINTS:
            raise BodyModelError(f"{self.model_file} is not an SMPL-X model: {nv} vertices and "
                                 f"{nj} joints, expected {NUM_VERTICES} and {NUM_SMPLX_JOINTS}")
        self._model = model
        self.flat_hand_mean = bool(flat_hand_mean)
        self.num_betas = int(model.num_betas)
        self.num_expression_coeffs = int(model.num_expression_coeffs)
        if self.num_betas < num_betas or self.num_expression_coeffs < num_expression_coeffs:
            warnings.warn(f"{self.model_file} has {self.num_betas} shape and "
                          f"{self.num_expression_coeffs} expression coefficients; using those",
                          stacklevel=2)
        self._faces = np.asarray(model.faces, dtype=np.int64)
        w = model.lbs_weights.detach().cpu().numpy()
        self._skin_joint = np.argmax(w, axis=1).astype(np.int64)
        # float64 copies for rest_joints(): v_template, shape directions, joint regressor
        self._v_template = model.v_template.detach().cpu().numpy().astype(np.float64)
        self._shapedirs = model.shapedirs.detach().cpu().numpy().astype(np.float64)
        self._J_regressor = model.J_regressor.detach().cpu().numpy().astype(np.float64)

    @property
    def faces(self) -> np.ndarray:
        """(20908, 3) int64 triangle vertex indices."""
        return self._faces

    def rest_joints(self, betas=None) -> np.ndarray:
        """(55, 3) joints of the unposed body with shape ``betas`` (zeros if None), SMPL-X body frame
        (Y up, +Z forward, +X the body's left), metres; before the mean hand pose, as
        ``kinematics.forward_kinematics`` expects."""
        b = _fit(np.zeros(0) if betas is None else betas, self.num_betas, "betas")
        v = self._v_template + self._shapedirs @ b
        return self._J_regressor @ v

    def forward(self, params: SMPLXParams) -> BodyOutput:
        """Pose the body. All parameters are used (betas, expression, body, hands, jaw, eyes,
        global_orient, transl). Returns world-frame metres, float64; ``face`` as documented on
        a :class:`BodyOutput` with its ``face``."""
        torch = self._torch

        def t(x, n: int, what: str):
            a = np.asarray(x, dtype=np.float64).ravel()
            if a.size != n:
                raise ValueError(f"SMPL-X {what} must have {n} values, found {a.size}")
            return torch.as_tensor(a, dtype=torch.float32).reshape(1, n)

        betas = _fit(params.betas, self.num_betas, "betas")
        expression = _fit(params.expression, self.num_expression_coeffs, "expression")
        with torch.no_grad():
            out = self._model(
                betas=torch.as_tensor(betas, dtype=torch.float32).reshape(1, -1),
                expression=torch.as_tensor(expression, dtype=torch.float32).reshape(1, -1),
                global_orient=t(params.global_orient, 3, "global_orient"),
                body_pose=t(params.body_pose, 63, "body_pose"),
                left_hand_pose=t(params.left_hand_pose, 45, "left_hand_pose"),
                right_hand_pose=t(params.right_hand_pose, 45, "right_hand_pose"),
                jaw_pose=t(params.jaw_pose, 3, "jaw_pose"),
                leye_pose=t(params.leye_pose, 3, "leye_pose"),
                reye_pose=t(params.reye_pose, 3, "reye_pose"),
                transl=t(params.transl, 3, "transl"),
                return_verts=True, return_shaped=False)
        verts = out.vertices[0].cpu().numpy().astype(np.float64)
        J = out.joints[0].cpu().numpy().astype(np.float64)
        if J.shape[0] != NUM_SMPLX_EXTENDED:  # pragma: no cover - guards a smplx layout change
            raise RuntimeError(f"smplx returned {J.shape[0]} joints, expected {NUM_SMPLX_EXTENDED}")
        landmarks = {name: J[55 + k].copy() for k, name in enumerate(SMPLX_LANDMARK_NAMES)}
        face = np.concatenate([J[127:144], J[76:127]])
        return BodyOutput(vertices=verts, faces=self._faces, joints=J[:NUM_SMPLX_JOINTS].copy(),
                               landmarks=landmarks, skin_joint=self._skin_joint, face=face)
