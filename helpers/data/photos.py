"""Real photos bundled with scikit-image (no download needed), as float tensors in [0, 1]."""

from __future__ import annotations

import numpy as np
import torch

from ..arguments import check_flag
from .sources import DataError, announce

# Images that ship inside the scikit-image package itself (skimage/data/*), so they load
# offline. Colour ones come back as (3, H, W), gray ones as (1, H, W).
PHOTO_NAMES = ("astronaut", "camera", "cat", "chelsea", "coffee", "coins", "moon", "page", "text",
               "brick", "grass", "gravel", "rocket", "horse", "clock", "checkerboard",
               "colorwheel", "immunohistochemistry", "hubble_deep_field")  # fmt: skip
_LUMA = (0.2125, 0.7154, 0.0721)  # the ITU-R 709 weights scikit-image's rgb2gray uses


def load_photo(name: str, gray: bool = False) -> torch.Tensor:
    """Photo `name` (see PHOTO_NAMES) as float32 (C, H, W) in [0, 1]; `gray` -> (1, H, W)."""
    if not isinstance(name, str) or name not in PHOTO_NAMES:
        raise DataError(f"Unknown photo {name!r}; the known names are: {', '.join(PHOTO_NAMES)}.")
    gray = bool(check_flag(gray, "gray"))
    try:
        import skimage.data
    except ImportError as e:
        raise DataError(
            "The photos come with scikit-image; install it: pip install scikit-image"
        ) from e
    try:
        array = np.asarray(getattr(skimage.data, name)())
    except Exception as e:
        raise DataError(
            f"scikit-image could not load its bundled photo {name!r} ({type(e).__name__}: {e}); "
            "reinstall or upgrade scikit-image (pip install -U scikit-image)."
        ) from e
    if array.dtype == bool:
        x = torch.from_numpy(array.astype(np.float32))
    else:
        x = torch.from_numpy(array.astype(np.float32) / 255.0)
    x = x[None] if x.ndim == 2 else x.permute(2, 0, 1)[:3]  # (C, H, W), alpha dropped
    if gray and x.shape[0] == 3:
        x = torch.tensordot(torch.tensor(_LUMA), x, dims=1)[None]  # (1, H, W)
    x = x.contiguous()
    kind = "gray" if x.shape[0] == 1 else "colour"
    announce(
        f"Photo {name!r}: {x.shape[1]}x{x.shape[2]} {kind}, bundled with scikit-image "
        f"(skimage.data.{name})"
    )
    return x
