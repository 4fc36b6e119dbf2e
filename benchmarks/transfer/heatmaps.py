"""The small top-down heatmap model both transfer recipes train (random init, nothing
downloaded), its crops, augmentation, targets, training loop and decoding.

Coordinates: a crop is a square window of an image resampled to ``C x C`` pixels; crop pixel
(x, y) (integer = pixel centre) shows image point ``origin + scale * (x, y)``. The model sees the
central ``1 / context`` of the crop at ``size x size`` (the rest is room for augmentation) and
predicts heatmaps at ``size / 4``. ``grid_sample`` coordinates are normalised with
``align_corners=False`` (pixel centres at ``(2 i + 1) / n - 1``).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass
class CropSet:
    """Crops (N, C, C, 3) uint8; ``points`` (N, J, 3) in crop pixels (x, y, flag: 1 labelled, 0
    not); ``origin`` (N, 2) and ``scale`` (N,): image = origin + scale * crop (pixels)."""

    images: np.ndarray
    points: np.ndarray
    origin: np.ndarray
    scale: np.ndarray
    context: float

    def to_image(self, crop_xy: np.ndarray) -> np.ndarray:
        """Crop pixels (N, J, 2) -> image pixels."""
        return self.origin[:, None, :] + self.scale[:, None, None] * crop_xy


def crop_windows(images: list[Path], centres: np.ndarray, sides: np.ndarray, points: np.ndarray,
                 size: int, context: float) -> CropSet:
    """Crop square windows (centre (N, 2), side (N,) image pixels) enlarged by ``context`` to
    ``round(size * context)`` pixels (bilinear; outside the image is black). ``points`` (N, J, 3)
    image pixels with flags."""
    c = int(round(size * context))
    n = len(images)
    out = np.zeros((n, c, c, 3), np.uint8)
    crop_pts = np.array(points, np.float64, copy=True)
    origin = np.zeros((n, 2))
    scale = np.zeros(n)
    cached: tuple[Path | None, Image.Image | None] = (None, None)
    for i in range(n):
        s = float(sides[i]) * context / c
        o = np.asarray(centres[i], np.float64) - s * (c - 1) / 2.0
        if cached[0] != images[i]:   # instances of one image come together
            cached = (images[i], Image.open(images[i]).convert("RGB"))
        # PIL maps output pixel centres (x + 0.5) to continuous input coordinates, in which
        # integer pixel centres sit at +0.5
        a = (s, 0.0, o[0] + 0.5 - 0.5 * s, 0.0, s, o[1] + 0.5 - 0.5 * s)
        out[i] = np.asarray(cached[1].transform((c, c), Image.Transform.AFFINE, a,
                                                resample=Image.Resampling.BILINEAR))
        crop_pts[i, :, :2] = (crop_pts[i, :, :2] - o) / s
        origin[i], scale[i] = o, s
    return CropSet(out, crop_pts, origin, scale, context)


def model(n_out: int):
    """ResNet-style encoder to 1/16 of the input, two stride-2 deconvolutions to 1/4, a 1x1
    convolution to ``n_out`` heatmaps (about 2.1 M parameters)."""
    import torch.nn as nn

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                                      nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                                      nn.BatchNorm2d(cout))
            self.skip = (nn.Identity() if stride == 1 and cin == cout else
                         nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

        def forward(self, x):
            return (self.body(x) + self.skip(x)).relu()

    def up(cin: int, cout: int) -> nn.Module:
        return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout),
                             nn.ReLU(inplace=True))

    return nn.Sequential(
        nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
        Block(32, 32, 1), Block(32, 64, 2), Block(64, 64, 1), Block(64, 128, 2), Block(128, 256, 2),
        up(256, 128), up(128, 128), nn.Conv2d(128, n_out, 1))


@dataclass(frozen=True)
class Augment:
    """Training augmentation: scale range, rotation (+- degrees), shift (+- fraction of the
    window), brightness and per-channel gain ranges, and ``flip_order`` (the point order of the
    mirror image; None: never mirror, e.g. for rigid objects, whose mirror image is another
    object)."""

    scale: tuple[float, float] = (0.75, 1.25)
    rotation_deg: float = 30.0
    shift: float = 0.05
    brightness: tuple[float, float] = (0.7, 1.3)
    gain: tuple[float, float] = (0.9, 1.1)
    flip_order: tuple[int, ...] | None = None


def affines(n: int, rng: np.random.Generator | None, context: float, aug: Augment = Augment()
            ) -> tuple[np.ndarray, np.ndarray]:
    """Per sample (A (n, 2, 2), t (n, 2)): input-normalised = A @ output-normalised + t.
    Without ``rng``: the central window, unchanged."""
    A = np.repeat(np.eye(2)[None] / context, n, axis=0)
    t = np.zeros((n, 2))
    if rng is None:
        return A, t
    s = rng.uniform(*aug.scale, n)
    a = np.deg2rad(rng.uniform(-aug.rotation_deg, aug.rotation_deg, n))
    mirror = rng.random(n) < 0.5 if aug.flip_order is not None else np.zeros(n, bool)
    rot = np.stack([np.stack([np.cos(a), -np.sin(a)], -1), np.stack([np.sin(a), np.cos(a)], -1)], 1)
    A = A * s[:, None, None] @ rot * np.stack([np.where(mirror, -1.0, 1.0), np.ones(n)], -1)[:, None, :]
    t = rng.uniform(-aug.shift, aug.shift, (n, 2))
    return A, t


def batch(crops: CropSet, idx: np.ndarray, size: int, rng: np.random.Generator | None,
          aug: Augment = Augment()):
    """Images (B, 3, size, size) float in [-0.5, 0.5] and heatmap-pixel points (B, J, 3) of
    crops ``idx``, augmented when ``rng`` is given."""
    import torch
    import torch.nn.functional as F

    C = crops.images.shape[1]
    A, t = affines(len(idx), rng, crops.context, aug)
    theta = torch.from_numpy(np.concatenate([A, t[:, :, None]], axis=2)).float()
    img = torch.from_numpy(crops.images[idx]).permute(0, 3, 1, 2).float() / 255.0
    if rng is not None:
        img = img * torch.from_numpy(rng.uniform(*aug.brightness, (len(idx), 1, 1, 1)) *
                                     rng.uniform(*aug.gain, (len(idx), 3, 1, 1))).float()
    grid = F.affine_grid(theta, (len(idx), 3, size, size), align_corners=False)
    x = F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=False) - 0.5
    hm = size // 4
    j = crops.points[idx].copy()
    n_in = (2.0 * j[..., :2] + 1.0) / C - 1.0
    n_out = np.einsum("bij,bkj->bki", np.linalg.inv(A), n_in - t[:, None, :])
    j[..., :2] = ((n_out + 1.0) * hm - 1.0) / 2.0
    mirrored = np.linalg.det(A) < 0
    if mirrored.any():
        j[mirrored] = j[mirrored][:, list(aug.flip_order)]
    return x, j


def targets(j: np.ndarray, hm: int):
    """Gaussian heatmaps (B, J, hm, hm), sigma max(1, hm / 24) px, and weights (B, J): 1 for
    labelled points inside the heatmap."""
    import torch

    sigma = max(1.0, hm / 24.0)
    g = np.arange(hm, dtype=np.float64)
    gx = np.exp(-((g[None, None, :] - j[..., 0:1]) ** 2) / (2 * sigma ** 2))
    gy = np.exp(-((g[None, None, :] - j[..., 1:2]) ** 2) / (2 * sigma ** 2))
    inside = (j[..., 0] > -0.5) & (j[..., 0] < hm - 0.5) & (j[..., 1] > -0.5) & (j[..., 1] < hm - 0.5)
    w = (j[..., 2] > 0) & inside
    return (torch.from_numpy(gy[..., :, None] * gx[..., None, :]).float(),
            torch.from_numpy(w.astype(np.float32)))


def train(net, crops: CropSet, iters: int, size: int, batch_size: int, seed: int, log: str,
          aug: Augment = Augment()) -> None:
    """``iters`` steps of AdamW (lr 1e-3, weight decay 1e-4, 5 % warm-up, cosine decay) on
    augmented batches of ``crops`` drawn with replacement; MSE on the heatmaps of labelled
    points only (other channels are free)."""
    import torch

    device = next(net.parameters()).device
    rng = np.random.default_rng(np.random.SeedSequence([seed, 77]))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-4)
    warm = max(1, iters // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: min(1.0, (i + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(i, iters) / iters)))
    net.train()
    t0 = time.time()
    for it in range(iters):
        idx = rng.integers(0, len(crops.images), batch_size)
        x, j = batch(crops, idx, size, rng, aug)
        target, w = targets(j, size // 4)
        w = w.to(device)
        pred = net(x.to(device))
        loss = (((pred - target.to(device)) ** 2).mean(dim=(2, 3)) * w).sum() / w.sum().clamp(min=1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if (it + 1) % max(1, iters // 5) == 0:
            print(f"  {log}: iter {it + 1}/{iters} loss {loss.item():.5f} ({time.time() - t0:.0f} s)", flush=True)


def decode(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Peaks of heatmaps (B, J, hm, hm): heatmap pixels (B, J, 2), the argmax moved a quarter
    pixel towards the higher neighbour along x and along y, and the peak values (B, J)."""
    b, j, hm, _ = h.shape
    flat = h.reshape(b, j, -1)
    py, px = np.divmod(flat.argmax(-1), hm)
    xy = np.stack([px, py], -1).astype(np.float64)
    bi, ji = np.meshgrid(np.arange(b), np.arange(j), indexing="ij")
    xl, xh = np.clip(px - 1, 0, hm - 1), np.clip(px + 1, 0, hm - 1)
    yl, yh = np.clip(py - 1, 0, hm - 1), np.clip(py + 1, 0, hm - 1)
    xy[..., 0] += 0.25 * np.sign(h[bi, ji, py, xh] - h[bi, ji, py, xl])
    xy[..., 1] += 0.25 * np.sign(h[bi, ji, yh, px] - h[bi, ji, yl, px])
    return xy, flat.max(-1)


def heatmap_to_image(xy: np.ndarray, crops: CropSet, hm: int) -> np.ndarray:
    """Heatmap pixels (N, J, 2) of the un-augmented windows -> image pixels (the inverse of the
    mapping :func:`batch` applies to the points)."""
    C = crops.images.shape[1]
    n_in = ((2.0 * xy + 1.0) / hm - 1.0) / crops.context
    return crops.to_image(((n_in + 1.0) * C - 1.0) / 2.0)


def predict(net, crops: CropSet, size: int, channels: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Image-pixel predictions (N, J, 2) and peak values (N, J) for every crop's window;
    ``channels`` (N, J) picks, per crop, which output channels are its J points (default all)."""
    import torch

    device = next(net.parameters()).device
    net.eval()
    xys, confs = [], []
    with torch.no_grad():
        for s in range(0, len(crops.images), 128):
            idx = np.arange(s, min(s + 128, len(crops.images)))
            x, _ = batch(crops, idx, size, None)
            h = net(x.to(device)).cpu().numpy()
            if channels is not None:
                h = np.take_along_axis(h, channels[idx][:, :, None, None], axis=1)
            xy, conf = decode(h)
            xys.append(xy)
            confs.append(conf)
    return heatmap_to_image(np.concatenate(xys), crops, size // 4), np.concatenate(confs)
