"""report.png: the report page as one image, for chat apps — a screenshot by headless Chromium.

Debian's `chromium` (installed by `brain stack install`), with a fresh profile per call and
everything that would reach the network switched off (this must work on a closed network). The
page's height is not known before layout, so the window is made tall enough and the blank
bottom is cropped (Pillow, which matplotlib brings); if the page reaches the bottom edge the
window is doubled and the shot taken again.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

WIDTH = 1200
BACKGROUND = (244, 246, 248)  # the page's background colour (#f4f6f8)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--default-background-color=f4f6f8ff",
)


class ChromiumError(RuntimeError):
    """Chromium is missing or failed: the message says how to install it or what it printed."""


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise ChromiumError(
        "headless Chromium is needed for report.png and was not found: run `brain stack install` "
        "(as root: apt-get install chromium fonts-noto-cjk)"
    )


ROW_PX, TABLE_PX, BASE_PX = 24, 120, 3000  # generous: the blank bottom is cropped


def window_height(model: dict) -> int:
    """A window height the page fits in at once, from the model's table rows: a 500-machine
    plant's page is ~15,000 px, and each doubling from 3,000 px was one more Chromium run (four
    runs, ~30 s of a 500-machine day report; docs/BENCHMARKS.md "Reports")."""
    tables = model.get("tables", [])
    rows = sum(len(t.get("rows", [])) for t in tables) + len(model.get("alerts", []))
    return BASE_PX + ROW_PX * rows + TABLE_PX * len(tables)


def screenshot(html_path: Path, out: Path, height: int = 3000, timeout_s: float = 60.0) -> tuple[int, int]:
    """Screenshot of the page at `html_path` into `out` (PNG); returns (width, height)."""
    from PIL import Image

    browser = chromium_path()
    for _ in range(4):
        with tempfile.TemporaryDirectory(prefix="brain-chromium-") as profile:
            shot = Path(profile) / "shot.png"
            cmd = [
                browser,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={WIDTH},{height}",
                f"--screenshot={shot}",
                html_path.resolve().as_uri(),
            ]
            try:
                result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
            except subprocess.TimeoutExpired:
                raise ChromiumError(f"chromium did not finish within {timeout_s:.0f} s") from None
            if result.returncode != 0 or not shot.exists():
                raise ChromiumError(f"chromium failed (exit {result.returncode}): {result.stderr[-800:]}")
            image = Image.open(shot).convert("RGB")
        bottom = _content_bottom(image)
        if bottom < image.height - 8:
            image = image.crop((0, 0, image.width, bottom + 16))
            buf = io.BytesIO()
            image.save(buf, format="PNG", optimize=True)
            out.write_bytes(buf.getvalue())
            return image.size
        height *= 2
    raise ChromiumError(f"the page is taller than {height // 2} px")


def _content_bottom(image: object) -> int:
    """The last row that is not plain background."""
    import numpy as np

    pixels = np.asarray(image)
    differs = np.any(np.abs(pixels.astype(int) - BACKGROUND) > 3, axis=(1, 2))
    rows = np.nonzero(differs)[0]
    return int(rows[-1]) if rows.size else 0


def jpeg_under(png_bytes: bytes, limit: int) -> tuple[bytes, str]:
    """The image as it may be sent where size is capped (WeCom: 2 MB): PNG if small enough, else
    JPEG at the highest quality that fits. Returns (bytes, 'png'|'jpeg')."""
    if len(png_bytes) <= limit:
        return png_bytes, "png"
    from PIL import Image

    image = Image.open(io.BytesIO(png_bytes)).convert("RGB")
    for quality in (90, 80, 70, 60, 50, 40):
        buf = io.BytesIO()
        image.save(buf, format="JPEG", quality=quality, optimize=True)
        if buf.tell() <= limit:
            return buf.getvalue(), "jpeg"
    raise ValueError(f"the report image does not fit in {limit} bytes even as a JPEG at quality 40")
