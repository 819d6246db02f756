"""A batch loader that keeps a whole (small) data set as one tensor on the device.

A CIFAR-sized training set is 150 MB as uint8: it fits on any GPU. Keeping it there and doing
the augmentation (random crop + horizontal flip) on whole batches at once removes the usual
bottleneck of small-image training, the per-image PIL transforms in DataLoader workers. The
idea comes from fast CIFAR-10 trainers such as `airbench`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from .arguments import check_choice, check_flag, check_int, check_seed
from .data.sets import channel_stats
from .devices import resolve_device
from .distributed import local_device
from .settings import get_settings

Stats = Sequence[float] | Tensor  # per-channel mean or std


def pad_for_crops(images: Tensor, padding: int, mode: str = "zeros") -> Tensor:
    """(N, C, H, W) -> (N, C, H + 2p + 1, W + 2p), padded by p on every side (zeros or a
    mirror image of the border) plus one spare zero row at the bottom, so that every crop window
    starts at one flat position and spans `H` whole padded rows (see `crop_flip`). Keeps the dtype.
    """
    n, c, h, w = images.shape
    if mode == "zeros":
        return F.pad(images, (padding, padding, padding, padding + 1))

    def mirrored(size: int) -> Tensor:  # source index of each padded position: 2 1 | 0 1 .. | ..
        src = (torch.arange(size + 2 * padding, device=images.device) - padding).abs()
        return torch.where(src > size - 1, 2 * (size - 1) - src, src)

    out = images.index_select(2, mirrored(h)).index_select(3, mirrored(w))
    return F.pad(out, (0, 0, 0, 1))


def crop_flip(
    padded: Tensor, index: Tensor, dy: Tensor, dx: Tensor, flip: Tensor, height: int, width: int
) -> Tensor:
    """Cut image `index[k]` of `padded` (from `pad_for_crops`) at top-left corner (dy[k], dx[k])
    to `height` x `width`, mirrored left-right where `flip[k]`; all k at once, no Python loop.

    Trick: in memory, the window's `height` rows are one run of `height * padded_width` values
    starting at `dy * padded_width + dx` (each row carries some padding we cut off afterwards);
    `unfold` lists all such runs as a view, and one indexing call copies the chosen ones.
    """
    n, c, hp, wp = padded.shape
    runs = padded.flatten(2).unfold(2, height * wp, 1)  # (N, C, starts, height*wp): a view
    out = runs[index, :, dy * wp + dx]  # (B, C, height*wp): only the chosen windows are copied
    out = out.view(-1, c, height, wp)[..., :width]  # (B, C, height, width)
    return torch.where(flip.view(-1, 1, 1, 1), out.flip(-1), out)


def random_crop_flip(
    images: Tensor, dy: Tensor, dx: Tensor, flip: Tensor, padding: int, mode: str = "zeros"
) -> Tensor:
    """Pad `images` (B, C, H, W) by `padding`, cut each at (dy, dx) to H x W, flip where `flip`.

    The same as torchvision's RandomCrop(padding=p) + RandomHorizontalFlip, with the random
    numbers given; handy to test and to look at. DeviceLoader pads its whole set once instead.
    """
    b, _, h, w = images.shape
    padded = pad_for_crops(images, padding, mode)
    return crop_flip(padded, torch.arange(b, device=images.device), dy, dx, flip, h, w)


class DeviceLoader:
    """Iterate `(x, y)` batches of a data set held as one tensor on `device`.

    inputs: images (N, C, H, W) uint8 (kept as uint8 on the device; each batch becomes float in
        [0, 1], then `(x - mean) / std` when mean/std are given) or float; or any other tensor,
        e.g. int64 token ids (N, T), which is batched as it is (uint8 of any shape is divided by
        255 like images, so keep token ids int64).
    targets: (N, ...) labels, batched alongside.
    augment: per-image random crop (`crop_padding` pixels of zero or reflect padding) and random
        horizontal flip, done on the device for the whole batch (4-D inputs only).
    seed: the order and the augmentation repeat for the same seed (default: the course seed);
        `fit(seed=...)` starts them afresh from its seed (`manual_seed`).
    device: where the data is kept (default: `best_device()`); one this machine lacks, such as
        "cuda" without a GPU, is refused with a message saying what to use instead. Under
        torchrun, "cuda" is this process's own GPU (cuda:LOCAL_RANK).
    Each pass over the loader is one epoch with a new random order when `shuffle` is True.
    `shard(rank, world_size)` gives one process's part, for distributed training.

    Used by notebooks 02, 03, 04, 05, 06, 08, 09.
    """

    def __init__(
        self,
        inputs: Tensor,
        targets: Tensor,
        batch_size: int = 256,
        shuffle: bool = True,
        augment: bool = False,
        crop_padding: int = 4,
        mean: Sequence[float] | Tensor | None = None,
        std: Sequence[float] | Tensor | None = None,
        device: torch.device | str | None = None,
        drop_last: bool = False,
        seed: int | None = None,
        padding_mode: str = "zeros",
    ) -> None:
        inputs, targets = _as_tensor(inputs, "inputs"), _as_tensor(targets, "targets")
        shuffle, augment = (
            bool(check_flag(shuffle, "shuffle")),
            bool(check_flag(augment, "augment")),
        )
        drop_last = bool(check_flag(drop_last, "drop_last"))
        padding_mode = check_choice(padding_mode, "padding_mode", ("zeros", "reflect"))
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        crop_padding = check_int(crop_padding, "crop_padding", minimum=0)
        seed = get_settings().seed if seed is None else check_seed(seed)
        self._validate(inputs, targets, augment, crop_padding, mean, std, padding_mode)
        self.device = local_device(resolve_device(device))  # refuses "cuda" without a GPU
        try:
            self.inputs = inputs.to(self.device)  # (N, ...) one tensor on the device, dtype kept
            self.targets = targets.to(self.device)  # (N, ...)
        except torch.cuda.OutOfMemoryError:  # the same class as torch.OutOfMemoryError
            size = inputs.numel() * inputs.element_size() / 2**20
            raise MemoryError(
                f"the data set ({size:,.0f} MiB as {inputs.dtype}) does not fit on {self.device}: "
                "keep images as uint8 (not float), take a subset, or use a torch DataLoader."
            ) from None
        self.batch_size = batch_size
        self.shuffle, self.augment, self.drop_last = shuffle, augment, drop_last
        self.crop_padding, self.padding_mode = crop_padding, padding_mode
        self.scale, self.shift = self._affine(inputs, mean, std)
        # augmenting: pad the whole set once, (N, C, H + 2p + 1, W + 2p), instead of every batch
        self.padded = (
            pad_for_crops(self.inputs, self.crop_padding, padding_mode) if augment else None
        )
        self.seed = seed
        self.generator = torch.Generator().manual_seed(self.seed)  # CPU: same stream everywhere
        self.rank, self.world_size, self.pad = 0, 1, False  # the whole set (see `shard`)

    def __len__(self) -> int:
        n = self._shard_size()
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def shard(self, rank: int, world_size: int, pad: bool = True) -> DeviceLoader:
        """Process `rank`'s part of this loader when `world_size` processes train together.

        Every process draws the same permutation of the whole set each epoch (same seed, same
        generator state, so the same random numbers) and keeps the positions rank,
        rank + world_size, rank + 2 world_size, ... of it, as torch's DistributedSampler
        does: the parts never overlap and together cover the set. With batch size B, batch k
        of all processes together is then exactly batch k of one process with batch size
        B x world_size. pad: repeat the first positions so that every process gets the same
        number of samples (training needs that: every process must take the same number of
        steps); without padding every sample is scored once (validation).
        The part shares the data and the random generator with this loader.
        """
        world_size = check_int(world_size, "world_size", minimum=1)
        rank = check_int(rank, "rank", minimum=0)
        if rank >= world_size:
            raise ValueError(f"rank must be below world_size={world_size}, got {rank}.")
        part = copy.copy(self)
        part.rank, part.world_size, part.pad = rank, world_size, bool(pad)
        return part

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        order, plan = self._epoch_plan()  # drawn for the whole set, also when sharded
        if self.world_size > 1:  # keep this process's positions
            p = self._shard_positions()
            mine = torch.arange(p.start, p.stop, p.step, device=self.device) % len(self.inputs)
            order, plan = order[mine], None if plan is None else plan[mine]
        for i in range(len(self)):
            part = slice(i * self.batch_size, (i + 1) * self.batch_size)
            x = self._batch(order[part], None if plan is None else plan[part])
            yield x, self.targets[order[part]]

    def manual_seed(self, seed: int) -> DeviceLoader:
        """Start the random order (and augmentation) afresh from `seed`, as a new loader made
        with that seed would; `fit(seed=...)` calls this. Returns the loader."""
        self.seed = check_seed(seed)
        self.generator.manual_seed(self.seed)  # in place: shards share this generator
        return self

    def state_dict(self) -> dict:
        """The random state, so a resumed training run continues the same sequence of epochs."""
        return {"generator": self.generator.get_state(), "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        """Continue from a `state_dict`: the same seed, and the random state where it was."""
        self.generator.set_state(state["generator"])
        self.seed = state.get("seed", self.seed)

    def __repr__(self) -> str:
        return (
            f"DeviceLoader({len(self.inputs)} samples of {tuple(self.inputs.shape[1:])} "
            f"{str(self.inputs.dtype).replace('torch.', '')}, batch_size={self.batch_size}, "
            f"{len(self)} batches, shuffle={self.shuffle}, augment={self.augment}, "
            f"device={self.device}"
            + (f", part {self.rank} of {self.world_size}" if self.world_size > 1 else "")
            + ")"
        )

    @staticmethod
    def _validate(
        inputs: Tensor,
        targets: Tensor,
        augment: bool,
        crop_padding: int,
        mean: Stats | None,
        std: Stats | None,
        padding_mode: str,
    ) -> None:
        if inputs.dim() == 0 or len(inputs) == 0:
            raise ValueError(
                "DeviceLoader got an empty input tensor: it needs at least one sample."
            )
        if inputs.dtype == torch.uint8 and inputs.dim() == 4 and inputs.shape[-1] in (1, 3):
            if inputs.shape[1] not in (1, 3):  # (N, H, W, C), as NumPy and PIL store images
                raise ValueError(
                    f"the images have shape {tuple(inputs.shape)}, channels last; DeviceLoader "
                    "needs (N, C, H, W): pass images.permute(0, 3, 1, 2)."
                )
        if targets.dim() == 0 or len(targets) != len(inputs):
            n_t = "a scalar" if targets.dim() == 0 else f"{len(targets)} targets"
            raise ValueError(
                f"inputs and targets must have the same length: {len(inputs)} inputs but {n_t}."
            )
        if augment and inputs.dim() != 4:
            raise ValueError(
                f"augment=True needs images of shape (N, C, H, W); got shape {tuple(inputs.shape)}. "
                "Use augment=False for sequences and other non-image data."
            )
        if augment and not 0 <= crop_padding <= min(inputs.shape[-2:]):
            raise ValueError(
                f"crop_padding must be between 0 and the image size, got {crop_padding}."
            )
        if augment and padding_mode == "reflect" and crop_padding >= min(inputs.shape[-2:]):
            raise ValueError("reflect padding must be smaller than the image size.")
        images = inputs.dim() == 4 and inputs.shape[1] in (1, 3)  # not feature maps
        if images and inputs.is_floating_point() and looks_like_0_to_255(inputs):
            raise ValueError(
                f"these float images hold whole numbers up to {inputs.amax().item():.4g}, as "
                "0-255 pixels do; DeviceLoader divides uint8 images by 255 itself: pass the uint8 "
                "images, or divide by 255 first."
            )
        if (mean is None) != (std is None):
            raise ValueError("give both mean and std (to normalise) or neither.")
        big_mean = mean is not None and torch.as_tensor(mean, dtype=torch.float32).abs().max() > 1
        if big_mean and (inputs.dtype == torch.uint8 or images):
            raise ValueError(
                f"mean and std are in [0, 1] units (CIFAR-10: mean 0.4914, ...), got mean "
                f"{mean}: divide them by 255."
            )
        if mean is not None and inputs.dim() != 4:
            raise ValueError("mean/std normalise images (N, C, H, W); these inputs are not images.")

    def _affine(
        self, inputs: Tensor, mean: Stats | None, std: Stats | None
    ) -> tuple[Tensor | None, Tensor | None]:
        """x_float = x * scale + shift does both /255 (uint8) and (x - mean) / std in one step."""
        is_uint8 = inputs.dtype == torch.uint8
        if mean is None and not is_uint8:
            return None, None
        channels = inputs.shape[1] if inputs.dim() == 4 else 1
        scale = torch.full((1, channels, 1, 1), 1 / 255 if is_uint8 else 1.0)
        shift = torch.zeros(1, channels, 1, 1)
        if mean is not None and std is not None:  # both or neither: see _validate
            m, s = channel_stats(mean, std, channels)
            scale, shift = scale / s, -m / s  # normalize, folded into one multiply-add
        if inputs.dim() != 4:  # uint8 non-image data: only /255
            scale, shift = scale.flatten()[:1], shift.flatten()[:1]
        return scale.to(self.device), shift.to(self.device)

    def _shard_positions(self) -> range:
        """The positions of an epoch's order this process takes (all of them when not sharded)."""
        n = len(self.inputs)
        total = -(-n // self.world_size) * self.world_size if self.pad else n  # padded: equal parts
        return range(self.rank, total, self.world_size)  # a position p >= n stands for p - n

    def _shard_size(self) -> int:
        return len(self._shard_positions())

    def _epoch_plan(self) -> tuple[Tensor, Tensor | None]:
        """One epoch's order (N,) and, when augmenting, per-sample (dy, dx, flip) as (N, 3)."""
        n = len(self.inputs)
        g = self.generator
        order = torch.randperm(n, generator=g) if self.shuffle else torch.arange(n)
        if not self.augment:
            return order.to(self.device), None
        shifts = torch.randint(0, 2 * self.crop_padding + 1, (n, 2), generator=g)
        flips = torch.randint(0, 2, (n, 1), generator=g)
        return order.to(self.device), torch.cat([shifts, flips], 1).to(self.device)

    def _batch(self, idx: Tensor, aug: Tensor | None) -> Tensor:
        """Inputs `idx` (B,), cropped and flipped as `aug` (B, 3) says, as float if images."""
        if aug is None or self.padded is None:
            x = self.inputs[idx]
        else:
            h, w = self.inputs.shape[-2:]
            x = crop_flip(self.padded, idx, aug[:, 0], aug[:, 1], aug[:, 2].bool(), h, w)
        if self.scale is not None and self.shift is not None:
            x = x.float().mul_(self.scale).add_(self.shift)  # (x / 255 - mean) / std
        return x


def looks_like_0_to_255(x: Tensor) -> bool:
    """Float values that are whole numbers from 0 up to more than 10: pixels in 0-255 units
    (DeviceLoader and show_images refuse them: both expect floats in [0, 1])."""
    return bool(x.amin() >= 0 and x.amax() > 10 and torch.equal(x, x.round()))


def _as_tensor(values: object, name: str) -> Tensor:
    """`values` (a tensor, NumPy array or nested list of numbers) as one tensor; a list of
    tensors (one per sample) or None is refused with what to do instead."""
    if isinstance(values, (list, tuple)) and values and isinstance(values[0], Tensor):
        if values[0].dim() == 0:  # one number per sample: fine
            return torch.stack(list(values))
        raise TypeError(
            f"{name} is a {type(values).__name__} of {len(values)} tensors; DeviceLoader needs "
            f"one tensor with the samples along dim 0: pass torch.stack({name})."
        )
    try:
        return torch.as_tensor(values)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(
            f"{name} must be a tensor or a NumPy array with the samples along dim 0, got "
            f"{type(values).__name__} ({str(exc).splitlines()[0][:80]})."
        ) from None
