"""BlurHash placeholders (the `blurhash` field clients paint before a file loads).

The `blurhash` package is pure Python, so the image is first shrunk to a few dozen pixels:
the hash only carries 4x4 components, and encoding a thumbnail that small takes milliseconds.
"""

from __future__ import annotations

import blurhash as _blurhash
from PIL import Image

# Mastodon's component counts.
X_COMPONENTS = 4
Y_COMPONENTS = 4
_SAMPLE = 32


def encode(image: Image.Image) -> str:
    """The BlurHash of `image` (any mode; transparency is flattened onto white)."""
    if image.mode in ("RGBA", "LA", "PA", "P"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    else:
        image = image.convert("RGB")
    width, height = image.size
    scale = _SAMPLE / max(width, height, 1)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    data = small.tobytes()
    w = small.width
    rows = [
        [list(data[(y * w + x) * 3 : (y * w + x) * 3 + 3]) for x in range(w)] for y in range(small.height)
    ]
    return str(_blurhash.encode(rows, X_COMPONENTS, Y_COMPONENTS))
