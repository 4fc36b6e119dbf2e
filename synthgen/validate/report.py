"""The result of a validation: counts of what was checked, the problems found, the pose results."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

#: Check names, in the order problems are listed.
CHECKS = ("files", "json", "schema", "consistency", "keypoints", "pose", "internal")


@dataclass(frozen=True)
class Problem:
    """One finding: ``check`` (one of :data:`CHECKS`), ``item`` (a file relative to the dataset
    root, optionally followed by the image / instance / person / keypoint it concerns) and
    ``what`` (a sentence with the numbers)."""

    check: str
    item: str
    what: str

    def line(self) -> str:
        return f"{self.check}: {self.item}: {self.what}"


@dataclass(frozen=True)
class PoseResult:
    """The re-render check of one object instance.

    ``iou``: rendered silhouette vs the ``mask/`` PNG (both inside the image; 1.0 when both are
    empty); ``px_mask`` / ``px_render``: their pixel counts. ``depth_px``: rendered pixels with
    a ``depth_gt`` value, compared; ``behind_px``: those where ``depth_gt`` lies behind the
    rendered surface by more than the tolerance (0 for a sound label). ``ok``: no problem was
    reported for this instance.
    """

    split: str
    scene_id: int
    im_id: int
    gt_id: int
    obj_id: int
    px_mask: int
    px_render: int
    iou: float
    depth_px: int
    behind_px: int
    ok: bool


@dataclass
class Report:
    """Everything :func:`~synthgen.validate.validate_dataset` found about dataset ``out``.

    ``counts``: how many of each thing were checked (files, images, instances, keypoints, ...);
    ``problems``: in discovery order; ``poses``: one entry per re-rendered object instance;
    ``notes``: checks that could not run and are not problems (the dataset may still be sound),
    each sentence with how many items it concerns (e.g. persons whose landmarks were not
    re-derived because the user's SMPL-X files are not found).
    """

    out: Path
    counts: Counter = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)
    poses: list[PoseResult] = field(default_factory=list)
    notes: Counter = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        """True when no problem was found (the dataset is sound)."""
        return not self.problems

    def add(self, check: str, item: str, what: str) -> None:
        """Record a problem."""
        if check not in CHECKS:
            raise ValueError(f"unknown check {check!r}")
        self.problems.append(Problem(check, str(item), str(what)))

    def by_check(self) -> dict[str, list[Problem]]:
        """Problems grouped by check, in :data:`CHECKS` order (checks without problems omitted)."""
        out: dict[str, list[Problem]] = {}
        for c in CHECKS:
            ps = [p for p in self.problems if p.check == c]
            if ps:
                out[c] = ps
        return out


# Count keys -> the words of the summary line, in its order.
_COUNT_WORDS = (
    ("splits", "splits"), ("scenes", "scenes"), ("images", "images"),
    ("files_decoded", "files decoded"), ("json_files", "JSON files"),
    ("object_instances", "object instances"), ("persons", "person records"),
    ("keypoints", "keypoints"), ("keypoint_flags", "keypoint flags re-derived"),
    ("landmarks", "landmarks re-projected"), ("landmark_flags", "landmark flags re-derived"),
    ("coco_annotations", "COCO annotations"),
    ("manifest_lines", "manifest lines"), ("models", "models"),
    ("poses_rendered", "poses re-rendered"),
)


def format_report(report: Report, *, max_per_check: int | None = 50) -> str:
    """The report as text: one line per problem (``<check>: <file or item>: <what>``, at most
    ``max_per_check`` per check, then a line saying how many more; None lists all), one line per
    note (``note: <what> (<n> items)``), a line of counts of what was checked, and a summary
    line (``... is sound`` or ``... N problems``)."""
    lines: list[str] = []
    for check, problems in report.by_check().items():
        shown = problems if max_per_check is None else problems[:max_per_check]
        lines.extend(p.line() for p in shown)
        if len(shown) < len(problems):
            lines.append(f"{check}: ... and {len(problems) - len(shown)} more {check} problems")
    lines.extend(f"note: {what} ({n} item{'s' if n != 1 else ''})"
                 for what, n in sorted(report.notes.items()))
    c = report.counts
    parts = [f"{c[k]} {words}" for k, words in _COUNT_WORDS if c.get(k)]
    checked = "checked: " + (", ".join(parts) if parts else "nothing")
    if report.poses:
        behind = sum(p.behind_px for p in report.poses)
        compared = sum(p.depth_px for p in report.poses)
        checked += (f"; pose IoU min {min(p.iou for p in report.poses):.4f}, depth_gt behind the "
                    f"model at {behind} of {compared} px")
    lines.append(checked)
    if report.ok:
        lines.append(f"{report.out}: sound (0 problems)")
    else:
        groups = ", ".join(f"{k} {len(v)}" for k, v in report.by_check().items())
        n = len(report.problems)
        lines.append(f"{report.out}: {n} problem{'s' if n != 1 else ''} ({groups})")
    return "\n".join(lines)
