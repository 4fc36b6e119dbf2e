"""Which entries of which source go into which output split: quotas and seeded sampling.

Rules (the package docstring states them for users):

- A split whose name starts with ``val`` or ``test`` is *real only*: a synthetic source assigned
  to it is an error; it takes every entry of its sources (or ``count`` of them, drawn without
  replacement), never sampled with replacement, and no image in it may also be in a training
  split.
- Any other split is a training split. Its size comes from, in this order: per-source ``count``
  (all sources of the split, or none, and then neither ``total`` nor ``synthetic_ratio``);
  ``synthetic_ratio`` (``round(total * ratio)`` synthetic and the rest real; without ``total``,
  the largest total the source sizes allow without replacement); ``total`` alone (shared by all
  sources by weight); otherwise every entry of every source once. Inside a group the quota is
  shared by weight with the largest-remainder method.
- ``curriculum`` F turns each training split ``train`` into ``pretrain`` (synthetic sources only:
  counts, else ``total`` by weight, else all) and ``finetune`` (every real entry, or its counts,
  plus ``round(R * F / (1 - F))`` synthetic entries, so synthetic entries make up the fraction F
  of it). Other training split names S give ``S_pretrain`` and ``S_finetune``.
- Sampling draws indices with ``Generator.choice`` (with or without replacement) from a
  generator seeded by (seed, split name, source index), so a source's draw does not change when
  another source is added; picked indices are sorted, so entries keep their input order.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from synthgen.mix.config import MixConfig, MixError
from synthgen.mix.sources import LoadedSource


@dataclass
class SplitPlan:
    """One output split: for each source index, the picked entry indices (sorted, may repeat)."""

    name: str
    picks: list[tuple[int, np.ndarray]]
    real_only: bool


def is_real_only(split: str) -> bool:
    """Validation and test splits stay real: names starting with ``val`` or ``test``."""
    return split.startswith("val") or split.startswith("test")


def share(n: int, weights: list[float]) -> list[int]:
    """Split ``n`` into integers proportional to ``weights`` (largest remainder, ties to the
    earlier source); sums to ``n``."""
    w = np.asarray(weights, dtype=np.float64)
    if n == 0:
        return [0] * len(w)
    exact = n * w / w.sum()
    base = np.floor(exact + 1e-9).astype(np.int64)
    rest = n - int(base.sum())
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:rest]] += 1
    return [int(v) for v in base]


def draw(size: int, k: int, replace: bool, rng: np.random.Generator) -> np.ndarray:
    """``k`` sorted indices into ``range(size)``; without replacement ``k == size`` takes all."""
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    if not replace and k == size:
        return np.arange(size, dtype=np.int64)
    return np.sort(rng.choice(size, size=k, replace=replace)).astype(np.int64)


def _rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(split.encode()), index]))


class _Planner:
    def __init__(self, sources: list[LoadedSource], cfg: MixConfig):
        self.sources = sources
        self.cfg = cfg

    def name(self, i: int) -> str:
        return self.sources[i].name

    def size(self, i: int) -> int:
        return len(self.sources[i].entries)

    def weighted(self, split: str, members: list[int], n: int) -> dict[int, int]:
        weights = [self.sources[i].spec.weight for i in members]
        if n > 0 and sum(weights) <= 0:
            raise MixError(f"split {split!r}: every source of the group "
                           f"({', '.join(self.name(i) for i in members)}) has weight 0")
        return dict(zip(members, share(n, weights)))

    def check_capacity(self, split: str, quotas: dict[int, int], replace: bool) -> None:
        if replace:
            return
        for i, q in quotas.items():
            if q > self.size(i):
                raise MixError(f"{self.sources[i].spec.origin}: source {self.name(i)!r} has "
                               f"{self.size(i)} images but split {split!r} asks for {q} without "
                               f"replacement; lower --total or the count, change the weights or "
                               f"pass --replacement")

    def counts(self, split: str, members: list[int]) -> dict[int, int] | None:
        have = [i for i in members if self.sources[i].spec.count is not None]
        if not have:
            return None
        if len(have) != len(members):
            lacking = next(i for i in members if i not in have)
            raise MixError(f"split {split!r}: give 'count' for every source of the split or for "
                           f"none ({self.name(lacking)!r} has none)")
        return {i: int(self.sources[i].spec.count) for i in members}

    def pick(self, split: str, quotas: dict[int, int],
             replace: bool) -> list[tuple[int, np.ndarray]]:
        self.check_capacity(split, quotas, replace)
        return [(i, draw(self.size(i), q, replace, _rng(self.cfg.seed, split, i)))
                for i, q in quotas.items()]

    # -- split kinds -------------------------------------------------------------------------

    def real_only(self, split: str, members: list[int]) -> SplitPlan:
        syn = [i for i in members if self.sources[i].kind == "synthetic"]
        if syn:
            raise MixError(f"{self.sources[syn[0]].spec.origin}: synthetic source "
                           f"{self.name(syn[0])!r} is assigned to split {split!r}; validation and "
                           f"test splits stay real only")
        quotas = self.counts(split, members) or {i: self.size(i) for i in members}
        return SplitPlan(split, self.pick(split, quotas, False), True)

    def train(self, split: str, members: list[int]) -> SplitPlan:
        cfg = self.cfg
        quotas = self.counts(split, members)
        if quotas is not None:
            if cfg.total is not None or cfg.synthetic_ratio is not None:
                raise MixError(f"split {split!r}: per-source counts and --total/--synthetic-ratio "
                               f"exclude each other")
        elif cfg.synthetic_ratio is not None:
            quotas = self.by_ratio(split, members, cfg.synthetic_ratio, cfg.total)
        elif cfg.total is not None:
            quotas = self.weighted(split, members, cfg.total)
        else:
            quotas = {i: self.size(i) for i in members}
        return SplitPlan(split, self.pick(split, quotas, cfg.replacement), False)

    def by_ratio(self, split: str, members: list[int], ratio: float,
                 total: int | None) -> dict[int, int]:
        syn = [i for i in members if self.sources[i].kind == "synthetic"]
        real = [i for i in members if self.sources[i].kind == "real"]
        if ratio > 0 and not syn:
            raise MixError(f"split {split!r}: --synthetic-ratio {ratio:g} needs a synthetic source "
                           f"in the split")
        if ratio < 1 and not real:
            raise MixError(f"split {split!r}: --synthetic-ratio {ratio:g} needs a real source in "
                           f"the split")

        def quotas(n: int) -> dict[int, int]:
            n_syn = math.floor(n * ratio + 0.5)
            q = self.weighted(split, syn, n_syn) if syn else {}
            q.update(self.weighted(split, real, n - n_syn) if real else {})
            return q

        if total is None:
            if self.cfg.replacement:
                raise MixError(f"split {split!r}: --replacement with --synthetic-ratio needs "
                               f"--total (nothing else bounds the sample size)")
            total = self.largest_total(split, syn, real, ratio, quotas)
        return quotas(total)

    def largest_total(self, split, syn, real, ratio, quotas) -> int:
        # The largest N whose quotas fit every source without replacement.
        bounds = []
        for group, frac in ((syn, ratio), (real, 1.0 - ratio)):
            if frac <= 0 or not group:
                continue
            w = [self.sources[i].spec.weight for i in group]
            cap = min((self.size(i) * sum(w) / wi for i, wi in zip(group, w) if wi > 0),
                      default=0.0)
            bounds.append(math.floor(cap / frac + 1e-9))
        n = min(bounds)
        while n > 0 and any(q > self.size(i) for i, q in quotas(n).items()):
            n -= 1
        if n == 0:
            raise MixError(f"split {split!r}: the sources are too small for --synthetic-ratio "
                           f"{ratio:g} (no image would be written)")
        return n

    def curriculum(self, split: str, members: list[int], frac: float) -> list[SplitPlan]:
        cfg = self.cfg
        if cfg.synthetic_ratio is not None:
            raise MixError("--curriculum and --synthetic-ratio exclude each other (the fine-tuning "
                           "set's synthetic fraction is the --curriculum value)")
        pre, fin = (("pretrain", "finetune") if split == "train"
                    else (f"{split}_pretrain", f"{split}_finetune"))
        syn = [i for i in members if self.sources[i].kind == "synthetic"]
        real = [i for i in members if self.sources[i].kind == "real"]
        if not syn or not real:
            raise MixError(f"split {split!r}: --curriculum needs synthetic and real sources in the "
                           f"split (found {len(syn)} synthetic, {len(real)} real)")
        q_pre = self.counts(pre, syn)
        if q_pre is None:
            q_pre = (self.weighted(pre, syn, cfg.total) if cfg.total is not None
                     else {i: self.size(i) for i in syn})
        q_real = self.counts(fin, real) or {i: self.size(i) for i in real}
        n_real = sum(q_real.values())
        n_syn = math.floor(n_real * frac / (1.0 - frac) + 0.5)
        q_fin = {**q_real, **self.weighted(fin, syn, n_syn)}
        return [SplitPlan(pre, self.pick(pre, q_pre, cfg.replacement), False),
                SplitPlan(fin, self.pick(fin, q_fin, cfg.replacement), False)]


def plan_mix(sources: list[LoadedSource], cfg: MixConfig) -> list[SplitPlan]:
    """The output splits in order of first appearance (a curriculum's pretrain before finetune)."""
    groups: dict[str, list[int]] = {}
    for i, src in enumerate(sources):
        groups.setdefault(src.spec.split, []).append(i)
    planner = _Planner(sources, cfg)
    plans: list[SplitPlan] = []
    for split, members in groups.items():
        if is_real_only(split):
            plans.append(planner.real_only(split, members))
        elif cfg.curriculum is not None:
            plans.extend(planner.curriculum(split, members, cfg.curriculum))
        else:
            plans.append(planner.train(split, members))
    names = [p.name for p in plans]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise MixError(f"output split {dup[0]!r} would be written twice (a source split and a "
                       f"curriculum split share the name)")
    _check_leaks(sources, plans)
    return plans


def _check_leaks(sources: list[LoadedSource], plans: list[SplitPlan]) -> None:
    # An image used for validation must not be trained on.
    train: dict = {}
    for plan in plans:
        if not plan.real_only:
            for i, idx in plan.picks:
                for k in np.unique(idx):
                    train.setdefault(sources[i].entries[k].image_path, plan.name)
    for plan in plans:
        if plan.real_only:
            for i, idx in plan.picks:
                for k in idx:
                    path = sources[i].entries[k].image_path
                    if path in train:
                        raise MixError(f"image {path} is in training split {train[path]!r} and in "
                                       f"validation split {plan.name!r} (source "
                                       f"{sources[i].name!r}); keep validation images out of "
                                       f"training")
