"""A demo dataset made of generated images, so a fresh install has something to label.

Shapes on textured backgrounds: three classes (circle, square, triangle) that a frozen
ImageNet backbone separates well, so smart labeling has something real to learn.
"""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

CLASSES = ("circle", "square", "triangle")


def draw_shape(kind: str, rng: random.Random, size: int = 160) -> Image.Image:
    background = tuple(rng.randint(150, 255) for _ in range(3))
    img = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(img)
    for _ in range(12):  # background clutter so images are not trivially identical
        x, y = rng.randint(0, size), rng.randint(0, size)
        shade = tuple(max(0, c - rng.randint(10, 50)) for c in background)
        draw.line((x, y, x + rng.randint(-40, 40), y + rng.randint(-40, 40)), fill=shade, width=2)
    color = tuple(rng.randint(0, 120) for _ in range(3))
    r = rng.randint(size // 5, size // 3)
    cx, cy = rng.randint(r, size - r), rng.randint(r, size - r)
    if kind == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=color)
    elif kind == "square":
        draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=color)
    else:
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=color)
    return img.filter(ImageFilter.GaussianBlur(0.6))


def write_demo_images(
    root: Path, *, per_class: int = 40, labeled_per_class: int = 6, seed: int = 7
) -> Path:
    """ImageNet-style folders: ``labeled_per_class`` images per class folder, the rest loose
    under neutral names (so a file name never gives the answer away)."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    loose: list[Image.Image] = []
    for kind in CLASSES:
        folder = root / kind
        folder.mkdir(exist_ok=True)
        for i in range(per_class):
            img = draw_shape(kind, rng)
            if i < labeled_per_class:
                img.save(folder / f"{kind}_{i:03d}.jpg", quality=90)
            else:
                loose.append(img)
    rng.shuffle(loose)
    for n, img in enumerate(loose):
        img.save(root / f"photo_{n:04d}.jpg", quality=90)
    return root
