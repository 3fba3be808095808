"""The demo's picture: a background crop and 2-3 objects gliding on slow Lissajous paths.

Everything that costs time (resizing sprites, cropping the background, drawing captions) is done
once; a frame is the background copied and the sprites pasted at positions that are a pure function
of media time t. The sound schedule is a function of the same t, so picture and sound cannot
disagree about which object sounds, however slowly frames are produced.
"""
from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass
from typing import List, Optional, Tuple

from PIL import Image, ImageDraw, ImageFont

Box = Tuple[int, int, int, int]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


@dataclass
class Sprite:
    category: str
    image: Image.Image      # RGBA at its on-screen size
    lane_x: float           # centre of its horizontal lane, pixels
    amp_x: float
    amp_y: float
    period_x: float         # seconds
    period_y: float
    phase_x: float
    phase_y: float


def crop_background(bg: Image.Image, width: int, height: int, rng: random.Random) -> Image.Image:
    """A random crop with the output's aspect ratio (40-100 % of the largest that fits), resized once."""
    ar = width / height
    w_max = min(bg.width, bg.height * ar)
    cw = w_max * rng.uniform(0.4, 1.0)
    ch = cw / ar
    x0, y0 = rng.uniform(0, bg.width - cw), rng.uniform(0, bg.height - ch)
    crop = bg.crop((round(x0), round(y0), round(x0 + cw), round(y0 + ch))).resize((width, height), Image.BILINEAR)
    return crop.transpose(Image.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else crop


def make_sprites(pictures: List[Tuple[str, Image.Image]], width: int, height: int,
                 rng: random.Random) -> List[Sprite]:
    """One horizontal lane per object: neighbours pass close by, covering at most ~30 % of each other.

    Size: sqrt(box area) ~ 40 % of the frame height — after the service squashes the frame to the
    model's square input, about the object sizes of the training scenes.
    """
    n = len(pictures)
    lane = width / n
    out = []
    for i, (cat, pic) in enumerate(pictures):
        k = 0.40 * height / math.sqrt(pic.width * pic.height)
        k = min(k, 0.62 * height / pic.height, 0.9 * lane / pic.width)
        im = pic.resize((max(8, round(pic.width * k)), max(8, round(pic.height * k))), Image.LANCZOS)
        if rng.random() < 0.5:
            im = im.transpose(Image.FLIP_LEFT_RIGHT)
        out.append(Sprite(cat, im, lane_x=(i + 0.5) * lane,
                          amp_x=max(0.0, min(0.32 * lane, (lane - im.width) / 2 + 0.15 * im.width)),
                          amp_y=max(0.0, (height - im.height) / 2 * 0.92),
                          period_x=rng.uniform(7, 13), period_y=rng.uniform(4.5, 8),
                          phase_x=rng.uniform(0, 2 * math.pi), phase_y=rng.uniform(0, 2 * math.pi)))
    return out


def make_caption(text: str, height: int) -> Image.Image:
    """A small label drawn once per category: which object sounds now (the viewer has no audio)."""
    size = max(10, round(height / 22))
    font = ImageFont.truetype(FONT, size) if os.path.exists(FONT) else ImageFont.load_default()
    x0, y0, x1, y1 = ImageDraw.Draw(Image.new("RGBA", (1, 1))).textbbox((0, 0), text, font=font)
    pad = size // 3
    im = Image.new("RGBA", (x1 - x0 + 2 * pad, y1 - y0 + 2 * pad), (0, 0, 0, 150))
    ImageDraw.Draw(im).text((pad - x0, pad - y0), text, font=font, fill=(255, 230, 80, 255))
    return im


class Scene:
    def __init__(self, background: Image.Image, sprites: List[Sprite]):
        self.background = background.convert("RGB")
        self.sprites = sprites
        self.width, self.height = background.size

    def boxes(self, t: float) -> List[Box]:
        out = []
        for s in self.sprites:
            cx = s.lane_x + s.amp_x * math.sin(2 * math.pi * t / s.period_x + s.phase_x)
            cy = self.height / 2 + s.amp_y * math.sin(2 * math.pi * t / s.period_y + s.phase_y)
            x0 = min(max(round(cx - s.image.width / 2), 0), self.width - s.image.width)
            y0 = min(max(round(cy - s.image.height / 2), 0), self.height - s.image.height)
            out.append((x0, y0, x0 + s.image.width, y0 + s.image.height))
        return out

    def render(self, t: float, caption: Optional[Image.Image] = None) -> bytes:
        """rgb24 bytes of the frame at media time t."""
        frame = self.background.copy()
        for s, b in zip(self.sprites, self.boxes(t)):
            frame.paste(s.image, b[:2], s.image)
        if caption is not None:
            m = max(4, self.height // 60)
            frame.paste(caption, (m, self.height - caption.height - m), caption)
        return frame.tobytes()
