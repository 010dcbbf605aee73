"""Screenshots of saved pages by a real headless Chromium (Debian's, installed by the set-up)."""

import subprocess
from pathlib import Path

from PIL import Image

from kernel.toolpaths import find_tool

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def screenshot(page: Path, workdir: Path, window: str = "1280,1400") -> Image.Image:
    """Render `page` offline and return the screenshot as RGB."""
    shot = workdir / "screenshot.png"
    subprocess.run(
        [
            find_tool("chromium"),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={workdir / 'chromium-profile'}",
            f"--screenshot={shot}",
            f"--window-size={window}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return Image.open(shot).convert("RGB")
