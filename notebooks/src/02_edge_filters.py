# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # 02 Edge filters and what a CNN can see
#
# Long before deep learning, computer-vision researchers designed small kernels by hand to find
# edges, corners and blobs in images. A convolutional network *learns* its kernels instead, and the
# first layer of a trained CNN ends up with filters that look remarkably like those classic
# designs. This notebook starts from a tiny step image where you can check every number by hand,
# applies the classic kernels (Sobel, Prewitt, Laplacian, blur, sharpen) to real photos, lets you
# edit a kernel live, shows that gradient descent rediscovers the Sobel kernel on its own, and
# finally looks inside a small trained CNN: its filters, its feature maps layer by layer, and the
# input patterns that excite its channels most.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Learning goals
# - Compute the output of a 3x3 edge kernel on a small image by hand and with `F.conv2d`.
# - Know the classic kernels (vertical/horizontal edges, Sobel, Prewitt, two Laplacians, the
#   diagonal kernel, blur, sharpen) and predict what each one highlights.
# - Compute the gradient magnitude and orientation of an image from two Sobel responses.
# - Explain why a single conv layer trained to imitate Sobel converges to the Sobel kernel, and
#   why it converges faster on noise than on photos.
# - Inspect a trained CNN: first-layer filters, feature maps, activation maximisation.
#
# ## You should already know
# - 2-D cross-correlation as computed by `F.conv2d` (notebook 01).
# - Tensors of shape `(N, C, H, W)` and `nn.Conv2d`.
# - Gradient descent with an optimizer (`zero_grad`, `backward`, `step`).

# %% slideshow={"slide_type": "skip"}
# Set-up: on Google Colab this first installs the course; everywhere it prints the settings.
import sys

if "google.colab" in sys.modules:
    import subprocess

    COURSE = "cnn-rnn-course[colab] @ git+https://github.com/cnn-rnn-course/cnn-rnn-course"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", COURSE], check=True)

import helpers

helpers.print_banner()

# %%
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

helpers.seed_everything()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. A vertical edge on an 8x11 step image
#
# The slides' example: an image that is dark (0) on the left six columns and bright (1) on the
# right five. `F.conv2d` computes the cross-correlation
#
# $$y[i, j] = \sum_{a=0}^{2} \sum_{b=0}^{2} x[i + a, j + b]\, w[a, b],$$
#
# so the kernel `[[1, 0, -1]] * 3` computes, for every 3x3 window, *(sum of the left column) minus
# (sum of the right column)*. That is zero on flat regions and large in size where the brightness
# changes from left to right: negative where it goes from dark to bright, positive the other way.

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** The step image is 0 on its left six columns and 1 on its right five (8x11). What does
# the kernel `[[1, 0, -1]] * 3` give: which shape, and which values along one row?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** Shape `(6, 9)` (valid: $8 - 2$ by $11 - 2$), and every row reads `0 0 0 0 -3 -3 0 0
# 0`: only the two windows that straddle the edge see a dark left and a bright right column.

# %% slideshow={"slide_type": "fragment"}
step_demo = torch.zeros(8, 11)
step_demo[:, 6:] = 1.0
edge_demo = F.conv2d(step_demo[None, None], torch.tensor([[1.0, 0.0, -1.0]] * 3)[None, None])
helpers.check_equal(
    edge_demo[0, 0], torch.tensor([0.0, 0, 0, 0, -3, -3, 0, 0, 0]).expand(6, 9), "edge response"
)

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
step = torch.zeros(8, 11)
step[:, 6:] = 1.0  # (8, 11): dark left, bright right
vertical = torch.tensor([[1.0, 0.0, -1.0]] * 3)  # (3, 3)
horizontal = vertical.T  # [[1, 1, 1], [0, 0, 0], [-1, -1, -1]]

edges_v = F.conv2d(step[None, None], vertical[None, None])[0, 0]  # (6, 9): valid conv
edges_h = F.conv2d(step[None, None], horizontal[None, None])[0, 0]  # (6, 9)
print(horizontal.int())
print(edges_v.int())

# %% [markdown]
# Every row of the result reads `0 0 0 0 -3 -3 0 0 0`: only the two windows that straddle the
# edge see different left and right columns (3 dark pixels minus 3 bright ones = -3). The
# horizontal kernel sees nothing, because the image does not change from top to bottom.
# **Self-check:** the formula above, written as loops, equals `F.conv2d`, and the values are the
# ones we predicted.


# %% slideshow={"slide_type": "subslide"}
def correlate_loops(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """y[i, j] = sum_a sum_b x[i + a, j + b] * w[a, b] (valid, stride 1)."""
    kh, kw = w.shape
    out = torch.zeros(x.shape[0] - kh + 1, x.shape[1] - kw + 1)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (x[i : i + kh, j : j + kw] * w).sum()
    return out


helpers.check_close(correlate_loops(step, vertical), edges_v, "loop formula vs F.conv2d")
expected_row = torch.tensor([0.0, 0, 0, 0, -3, -3, 0, 0, 0])
helpers.check_equal(edges_v, expected_row.expand(6, 9), "vertical-edge response")
helpers.check_equal(edges_h, torch.zeros(6, 9), "horizontal-edge response on a vertical edge")
helpers.check_equal(
    F.conv2d(step.T[None, None], horizontal[None, None])[0, 0],
    expected_row.expand(6, 9).T,
    "horizontal kernel on the transposed (horizontal) edge",
)

# %% slideshow={"slide_type": "subslide"}
fig, axes = plt.subplots(1, 3, figsize=(11, 3), layout="constrained")
for ax, img, title in zip(
    axes,
    [step, edges_v, edges_h],
    ["step image (8x11)", "vertical kernel (6x9)", "horizontal kernel (6x9)"],
):
    im = ax.imshow(img, cmap="gray", vmin=-3, vmax=3)
    ax.set_title(title)
    ax.set_xlabel("column")
    ax.set_ylabel("row")
fig.colorbar(im, ax=axes, shrink=0.8, label="value")
fig.suptitle("The slides' step image and two edge kernels (mid-grey = 0)")
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. Classic kernels on real photos
#
# From now on we filter whole photos, so we want an output of the same size as the input. Our
# own `filter2d` pads the image by repeating its border pixels (so the border does not look like
# an edge) and then cross-correlates. The course's kernel editor below will use exactly this
# function.


# %%
def filter2d(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Cross-correlate a gray image (H, W) with a 3x3 kernel; same-size output (H, W)."""
    x = F.pad(image[None, None], (1, 1, 1, 1), mode="replicate")  # (1, 1, H+2, W+2)
    return F.conv2d(x, kernel[None, None].to(image.dtype))[0, 0]  # (H, W)


size = helpers.pick(256, 512)
photos = {}
for name in ["camera", "astronaut", "chelsea"]:
    photo = helpers.load_photo(name, gray=True)  # (1, H, W) in [0, 1]
    scale = size / max(photo.shape[-2:])  # keep the aspect ratio, longest side = size
    photo = F.interpolate(photo[None], scale_factor=scale, mode="area")[0, 0]  # (H, W)
    photos[name] = photo
print({name: tuple(p.shape) for name, p in photos.items()})

# %% [markdown] slideshow={"slide_type": "subslide"}
# The kernels, written down once. Edge and Laplacian kernels sum to 0 (a flat image gives 0);
# blur and sharpen sum to 1 (a flat image stays as it is).
#
# | kernel | what it finds |
# |---|---|
# | Sobel x / y | left-right / top-bottom brightness change, smoothed across the edge (weights 1, 2, 1) |
# | Prewitt x / y | the same with equal weights (1, 1, 1) |
# | Laplacian 4 / 8 | blobs and thin lines in every direction (minus a second derivative, see below) |
# | diagonal | changes along both diagonals (a corner / saddle detector) |
# | blur | a weighted average: removes fine detail and noise |
# | sharpen | identity + Laplacian 4: the image minus its second derivative, which boosts fine detail |

# %% slideshow={"slide_type": "subslide"}
KERNELS = {
    "vertical (slides)": [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
    "horizontal (slides)": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
    "Sobel x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "Sobel y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "Prewitt x": [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
    "Prewitt y": [[-1, -1, -1], [0, 0, 0], [1, 1, 1]],
    "Laplacian 4": [[0, -1, 0], [-1, 4, -1], [0, -1, 0]],
    "Laplacian 8": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "diagonal": [[1, 0, -1], [0, 0, 0], [-1, 0, 1]],
    "blur (Gaussian)": [
        [1 / 16, 2 / 16, 1 / 16],
        [2 / 16, 4 / 16, 2 / 16],
        [1 / 16, 2 / 16, 1 / 16],
    ],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
}
KERNELS = {name: torch.tensor(k, dtype=torch.float32) for name, k in KERNELS.items()}

# %% [markdown]
# **Self-check** of the claims in the table: the sums, and that Sobel is a smoothing column
# `[1, 2, 1]` times a difference row `[-1, 0, 1]` (an outer product), while Prewitt smooths with
# `[1, 1, 1]`; sharpen is identity + Laplacian 4.

# %% slideshow={"slide_type": "subslide"}
for name, k in KERNELS.items():
    target = 1.0 if name in {"blur (Gaussian)", "sharpen", "identity"} else 0.0
    helpers.check_close(k.sum(), torch.tensor(target), f"sum of the {name} kernel", atol=1e-6)
diff_row = torch.tensor([-1.0, 0.0, 1.0])
helpers.check_equal(
    torch.outer(torch.tensor([1.0, 2.0, 1.0]), diff_row), KERNELS["Sobel x"], "Sobel x"
)
helpers.check_equal(torch.outer(torch.ones(3), diff_row), KERNELS["Prewitt x"], "Prewitt x")
helpers.check_equal(KERNELS["identity"] + KERNELS["Laplacian 4"], KERNELS["sharpen"], "sharpen")
helpers.check_equal(KERNELS["Sobel x"].T, KERNELS["Sobel y"], "Sobel y is Sobel x transposed")


# %% [markdown]
# One small helper draws a row of filtered versions of a photo. Signed results (edges) are shown
# with mid-grey = 0, dark = negative, bright = positive.


# %% slideshow={"slide_type": "subslide"}
def show_filtered(photo_name: str, names: list[str], title: str) -> None:
    """The photo and its responses to the kernels `names`, side by side."""
    photo = photos[photo_name]
    fig, axes = plt.subplots(1, len(names) + 1, figsize=(3.2 * (len(names) + 1), 3.4))
    axes[0].imshow(photo, cmap="gray")
    axes[0].set_title(f"{photo_name} (input)")
    for ax, name in zip(axes[1:], names):
        out = filter2d(photo, KERNELS[name])
        m = out.abs().max().item()
        ax.imshow(
            out, cmap="gray", vmin=-m if out.min() < 0 else None, vmax=m if out.min() < 0 else None
        )
        ax.set_title(name)
    for ax in axes:
        ax.set_axis_off()
    fig.suptitle(title)
    plt.show()


show_filtered(
    "camera", ["vertical (slides)", "horizontal (slides)"], "The slides' edge kernels on a photo"
)

# %% slideshow={"slide_type": "subslide"}
show_filtered("camera", ["Sobel x", "Sobel y"], "Sobel: smoothed first derivatives")

# %% slideshow={"slide_type": "subslide"}
show_filtered(
    "astronaut", ["Prewitt x", "Prewitt y"], "Prewitt: first derivatives with equal weights"
)

# %% slideshow={"slide_type": "subslide"}
show_filtered(
    "chelsea", ["Laplacian 4", "Laplacian 8"], "Laplacians: second derivatives, no direction"
)

# %% slideshow={"slide_type": "subslide"}
show_filtered("astronaut", ["diagonal"], "The diagonal kernel [[1,0,-1],[0,0,0],[-1,0,1]]")

# %% slideshow={"slide_type": "subslide"}
show_filtered("chelsea", ["blur (Gaussian)", "sharpen"], "Blur and sharpen: kernels that sum to 1")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** What does the `Laplacian 4` kernel give on the image $f(i, j) = i^2 + j^2$, at every
# interior pixel?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** $-4$ everywhere: the discrete Laplacian of $i^2 + j^2$ is $2 + 2 = 4$ at every pixel,
# and the kernel is minus that stencil.

# %% slideshow={"slide_type": "fragment"}
grid_i, grid_j = torch.meshgrid(torch.arange(10.0), torch.arange(10.0), indexing="ij")
lap_demo = F.conv2d((grid_i**2 + grid_j**2)[None, None], KERNELS["Laplacian 4"][None, None])
helpers.check_equal(lap_demo[0, 0], torch.full((8, 8), -4.0), "Laplacian 4 on i^2 + j^2")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Why the 4-neighbour Laplacian kernel is a second derivative.** With unit pixel spacing,
#
# $$\nabla^2 f(i, j) \approx f(i{+}1, j) + f(i{-}1, j) + f(i, j{+}1) + f(i, j{-}1) - 4 f(i, j),$$
#
# which is exactly *minus* the `Laplacian 4` kernel. On $f = i^2 + j^2$ the true Laplacian is
# $2 + 2 = 4$ everywhere, so the kernel must give $-4$ at every interior pixel. **Self-check:**

# %% slideshow={"slide_type": "subslide"}
i, j = torch.meshgrid(torch.arange(10.0), torch.arange(10.0), indexing="ij")
bowl = i**2 + j**2  # (10, 10)
lap = F.conv2d(bowl[None, None], KERNELS["Laplacian 4"][None, None])[0, 0]  # (8, 8) interior
helpers.check_equal(lap, torch.full((8, 8), -4.0), "Laplacian 4 kernel on i^2 + j^2")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Predict.** Sobel x on a ramp that rises by 3 per column, $f(i, j) = 3j$: what value at every
# interior pixel?

# %% [markdown] slideshow={"slide_type": "fragment"}
# **Answer.** 24 $= 8 \cdot 3$: the central difference spans 2 pixels ($2 \cdot 3 = 6$) and the
# smoothing weights $1 + 2 + 1$ add up to 4.

# %% slideshow={"slide_type": "fragment"}
ramp_x = 3 * torch.arange(10.0).expand(10, 10)  # (10, 10): rises 3 per column
sobel_x = F.conv2d(ramp_x[None, None], KERNELS["Sobel x"][None, None])[0, 0]
helpers.check_equal(sobel_x, torch.full((8, 8), 24.0), "Sobel x on a ramp of slope 3")

# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Gradient magnitude and orientation
#
# Sobel x and Sobel y estimate the two partial derivatives (up to a factor 8: a central
# difference over 2 pixels, times the smoothing weights 1 + 2 + 1 = 4). Together they give the
# **gradient magnitude** $\sqrt{g_x^2 + g_y^2}$ (how strong the edge is) and the **orientation**
# $\theta = \operatorname{atan2}(g_y, g_x)$ (which way the brightness increases; the edge runs
# perpendicular to it). On a linear ramp $f = 3j + 2i$ ($j$ = column, $i$ = row) we know the
# answers exactly: $g_x = 8 \cdot 3 = 24$, $g_y = 8 \cdot 2 = 16$. **Self-check:**

# %%
ramp = 3 * j + 2 * i  # (10, 10): rises 3 per column, 2 per row
gx = F.conv2d(ramp[None, None], KERNELS["Sobel x"][None, None])[0, 0]  # (8, 8)
gy = F.conv2d(ramp[None, None], KERNELS["Sobel y"][None, None])[0, 0]  # (8, 8)
helpers.check_equal(gx, torch.full((8, 8), 24.0), "Sobel x on the ramp (8 * 3)")
helpers.check_equal(gy, torch.full((8, 8), 16.0), "Sobel y on the ramp (8 * 2)")
helpers.check_close(torch.hypot(gx, gy), torch.full((8, 8), math.sqrt(24**2 + 16**2)), "magnitude")
helpers.check_close(torch.atan2(gy, gx), torch.full((8, 8), math.atan2(2, 3)), "orientation")

# %% slideshow={"slide_type": "subslide"}
photo = photos["camera"]
gx, gy = filter2d(photo, KERNELS["Sobel x"]), filter2d(photo, KERNELS["Sobel y"])  # (H, W) each
magnitude = torch.hypot(gx, gy)  # (H, W)
orientation = torch.atan2(gy, gx)  # (H, W), radians in (-pi, pi]
strong = magnitude > magnitude.quantile(0.8)  # keep the strongest 20 % of edges

fig, axes = plt.subplots(1, 3, figsize=(13, 4.4), layout="constrained")
axes[0].imshow(photo, cmap="gray")
axes[0].set_title("camera (input)")
axes[1].imshow(magnitude, cmap="gray")
axes[1].set_title("gradient magnitude")
im = axes[2].imshow(
    torch.where(strong, orientation, torch.nan), cmap="hsv", vmin=-math.pi, vmax=math.pi
)
axes[2].set_title("orientation (strongest 20 %)")
for ax in axes:
    ax.set_axis_off()
fig.colorbar(im, ax=axes[2], shrink=0.8, label="atan2(gy, gx) in radians")
fig.suptitle("Gradient magnitude and orientation from Sobel x and y")
plt.show()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. Edit a kernel yourself
#
# Type numbers into the 3x3 grid, pick a preset or another photo, and the filtered image updates
# at once. The widget only handles the boxes and pictures; the convolution it applies is our
# `filter2d` from above. (In a static view of this notebook, e.g. on GitHub, you see a picture of
# all presets instead.) Things to try: make the vertical kernel asymmetric (`[[2, 0, -1], ...]`)
# and see the flat regions turn grey-ish instead of mid-grey (the kernel no longer sums to 0); scale
# the blur kernel by 2; turn Sobel x into a "left-to-right *and* top-to-bottom" detector.

# %%
editor = helpers.kernel_editor(photos, filter2d, KERNELS, preset="Sobel x")
editor

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Self-check:** the editor's output is `filter2d` of the picked image with the kernel in the
# boxes, and typing a new number in a box (here the centre) changes the result as the formula
# predicts: a centre weight of $c$ adds $c$ times the image.

# %%
before = torch.tensor(editor.output)
helpers.check_close(
    before, filter2d(photos[editor.image_picker.value], editor.kernel), "editor output"
)
editor.cells[4].value = 1.0  # centre of Sobel x: 0 -> 1
helpers.check_close(
    torch.tensor(editor.output) - before,
    photos[editor.image_picker.value],
    "centre weight adds the image",
    atol=1e-5,
)
editor.preset_picker.value = "Sobel x"  # back to the preset

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. Gradient descent rediscovers Sobel
#
# A CNN is never told which kernels to use. To see that learning can find a classic filter, we
# give a single `nn.Conv2d(1, 1, 3, bias=False)` (nine numbers) input images and, as targets, the
# Sobel x response of those images, and minimise the mean squared error. The loss is a quadratic
# function of the nine weights with its minimum (zero) at the Sobel kernel, so gradient descent
# must end there.
#
# The training loop is the lesson here, so we write it out, with plain gradient descent
# ($w \leftarrow w - \eta \nabla_w L$). We train twice: on random-noise images and on crops of a
# photo. In noise every pixel is independent, so the loss curves equally steeply in every
# direction of the nine weights and all of them are learned at the same fast rate. In a photo
# neighbouring pixels are almost equal, so the loss hardly changes when weight moves between
# neighbouring taps: along those directions gradient descent crawls (the problem is
# *ill-conditioned*).


# %% slideshow={"slide_type": "notes"}
def crops_of(photo: torch.Tensor, n: int, size: int) -> torch.Tensor:
    """n random size x size crops of a gray photo, standardised: (n, 1, size, size)."""
    rows = torch.randint(0, photo.shape[0] - size, (n,)).tolist()
    cols = torch.randint(0, photo.shape[1] - size, (n,)).tolist()
    x = torch.stack([photo[r : r + size, c : c + size] for r, c in zip(rows, cols)])[:, None]
    return (x - x.mean()) / x.std()


def learn_kernel(
    inputs: torch.Tensor, target_kernel: torch.Tensor, steps: int, lr: float = 0.1
) -> tuple[nn.Conv2d, list[float]]:
    """Fit a 3x3 conv layer so that conv(inputs) matches the target kernel's output."""
    helpers.seed_everything()
    targets = F.conv2d(inputs, target_kernel[None, None])  # (N, 1, H-2, W-2)
    conv = nn.Conv2d(1, 1, 3, bias=False)  # random start
    optimizer = torch.optim.SGD(conv.parameters(), lr=lr)  # plain gradient descent
    losses = []
    for _ in range(steps):
        loss = F.mse_loss(conv(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return conv, losses


sobel = KERNELS["Sobel x"]
steps = helpers.pick(60, 200)
noise = torch.randn(16, 1, 32, 32)  # (16, 1, 32, 32)
conv_noise, losses_noise = learn_kernel(noise, sobel, steps)
photo_crops = crops_of(photos["camera"], 16, 32)  # (16, 1, 32, 32)
conv_photo, losses_photo = learn_kernel(photo_crops, sobel, steps)

# %% slideshow={"slide_type": "subslide"}
fig, axes = plt.subplots(1, 4, figsize=(16, 4), layout="constrained")
axes[0].semilogy(losses_noise, label="noise inputs")
axes[0].semilogy(losses_photo, label="photo crops")
axes[0].set_title("training loss")
axes[0].set_xlabel("step")
axes[0].set_ylabel("MSE (log scale)")
axes[0].legend()
for ax, k, title in zip(
    axes[1:],
    [sobel, conv_noise.weight[0, 0].detach(), conv_photo.weight[0, 0].detach()],
    ["true Sobel x", "learned from noise", "learned from photo crops"],
):
    ax.imshow(k, cmap="RdBu_r", vmin=-2.2, vmax=2.2)
    for (r, c), v in zip([(r, c) for r in range(3) for c in range(3)], k.flatten().tolist()):
        ax.text(c, r, f"{v:.2f}", ha="center", va="center")
    ax.set_title(title)
    ax.set_xticks(range(3))
    ax.set_yticks(range(3))
    ax.set_xlabel("kernel column")
    ax.set_ylabel("kernel row")
fig.suptitle(f"A 3x3 conv layer trained to imitate Sobel x ({steps} gradient-descent steps)")
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Self-check:** the kernel learned from noise equals Sobel x to within 0.001 in every entry; the
# one learned from photo crops is much further away after the same number of steps (the
# ill-conditioning in action). It is still on its way: 30 times as many steps at least halve
# its largest error.

# %%
err_noise = (conv_noise.weight[0, 0] - sobel).abs().max().item()
err_photo = (conv_photo.weight[0, 0] - sobel).abs().max().item()
print(f"largest weight error: noise {err_noise:.2g}, photo crops {err_photo:.2g}")
helpers.check_close(conv_noise.weight[0, 0].detach(), sobel, "kernel learned from noise", atol=1e-3)
helpers.check_true(
    err_photo > 10 * err_noise,
    "photo crops converge much more slowly than noise",
    f"{err_photo=:.3g}, {err_noise=:.3g}",
)
conv_long, _ = learn_kernel(photo_crops, sobel, 30 * steps)
err_long = (conv_long.weight[0, 0] - sobel).abs().max().item()
print(f"photo crops after {30 * steps} steps: largest weight error {err_long:.2g}")
helpers.check_true(err_long < err_photo / 2, "more steps bring the photo kernel closer")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. What a trained CNN sees
#
# Now a real network on real data. In full mode (meant for a GPU) a small CNN learns CIFAR-10
# (32x32 colour photos of 10 classes) for 20 epochs, and its first-layer filters turn into clean
# edge and colour detectors. In fast mode (a CPU, a few seconds) it learns MNIST digits (28x28,
# gray) for one epoch instead: digits are learned much faster, so even this short run gives a
# working network. Its first-layer filters, though, have only just started to move away from
# their random start; we measure how far. The code is the same for both. We then look at three
# things:
# 1. the first-layer kernels (5x5 each, one per input channel), before and after training;
# 2. the feature maps of one image, layer by layer;
# 3. *activation maximisation*: starting from a noise image, gradient **ascent on the input**
#    (the weights stay fixed) to find a pattern that makes one channel fire strongly. Early
#    layers see small windows, so their favourite patterns are simple edges and blobs; deeper
#    layers see more of the image and prefer larger, more complex patterns.

# %% slideshow={"slide_type": "subslide"}
dataset = helpers.pick("mnist", "cifar10")
train_set = helpers.load_dataset(dataset, "train")  # uint8 (N, C, H, H)
test_set = helpers.load_dataset(dataset, "test")
C, H = train_set.images.shape[1], train_set.images.shape[2]
pixels = train_set.images.float() / 255  # (N, C, H, H) in [0, 1]
mean, std = pixels.mean(dim=(0, 2, 3)), pixels.std(dim=(0, 2, 3))  # per channel: (C,) each
stats = dict(mean=mean.tolist(), std=std.tolist())
train_loader = helpers.DeviceLoader(
    train_set.images, train_set.labels, batch_size=64, shuffle=True, **stats
)
test_loader = helpers.DeviceLoader(
    test_set.images, test_set.labels, batch_size=500, shuffle=False, **stats
)
mean, std = mean.view(1, C, 1, 1), std.view(1, C, 1, 1)  # for normalising by hand below
W = helpers.pick(8, 32)  # channels of block 1; blocks 2 and 3 have 2W and 4W


def small_cnn() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(C, W, 5, padding=2),  # (N, W, H, H)
        nn.ReLU(),  # (N, W, H, H)               "block1"
        nn.MaxPool2d(2),  # (N, W, H/2, H/2)
        nn.Conv2d(W, 2 * W, 3, padding=1),  # (N, 2W, H/2, H/2)
        nn.ReLU(),  # (N, 2W, H/2, H/2)          "block2"
        nn.MaxPool2d(2),  # (N, 2W, H/4, H/4)
        nn.Conv2d(2 * W, 4 * W, 3, padding=1),  # (N, 4W, H/4, H/4)
        nn.ReLU(),  # (N, 4W, H/4, H/4)          "block3"
        nn.MaxPool2d(2),  # (N, 4W, H/8, H/8), rounded down
        nn.Flatten(),  # (N, 4W * (H/8)^2)
        nn.Linear(4 * W * (H // 8) ** 2, 10),  # (N, 10)
    )


model = small_cnn()
initial_kernels = model[0].weight.detach().clone()  # (W, C, 5, 5), the random start
SEED = helpers.get_settings().seed  # COURSE_SEED, 0 unless set
history = helpers.fit(
    model, train_loader, test_loader, epochs=helpers.pick(1, 20), lr=3e-3, seed=SEED
)
model = model.cpu().eval()

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Self-check:** the network learned something (chance is 10 %).

# %%
val_acc = history["val_acc"][-1]  # accuracy on the test images after the last epoch
helpers.check_true(
    val_acc > 0.4,
    "the small CNN beats chance (10 %) clearly",
    f"validation accuracy {val_acc:.1%}",
)

# %% slideshow={"slide_type": "subslide"}
helpers.show_kernels(initial_kernels, title="First-layer kernels at the random start", rgb=C == 3)
plt.show()
helpers.show_kernels(
    model[0].weight,
    title=f"First-layer kernels after training on {dataset}",
    rgb=C == 3,
)
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# In fast mode (one short epoch on MNIST) the trained kernels are not yet clean edge detectors:
# they still carry much of their random start. But they have changed in a measurable way. Two
# numbers, each computed for the kernels before and after training:
# - **smoothness**: the correlation between horizontally or vertically adjacent weights of a
#   kernel. Random weights are unrelated to their neighbours (about 0); an edge or blob detector
#   changes slowly across the kernel (clearly positive).
# - **edge likeness**: how closely each kernel (minus its mean) matches the best of 8 oriented
#   5x5 edge patterns, smoothed ramps from negative to positive like a large Sobel kernel,
#   measured as the cosine similarity (1 = the same pattern up to scale, 0 = unrelated),
#   averaged over the kernels.


# %% slideshow={"slide_type": "subslide"}
def edge_patterns(size: int = 5, directions: int = 8) -> torch.Tensor:
    """(directions, size, size): a ramp across the kernel in each direction, times a Gaussian."""
    r = torch.arange(size) - (size - 1) / 2
    ys, xs = torch.meshgrid(r, r, indexing="ij")
    bell = torch.exp(-(xs**2 + ys**2) / (2 * 1.5**2))
    angles = torch.arange(directions) * math.pi / directions
    return torch.stack([(xs * math.cos(a) + ys * math.sin(a)) * bell for a in angles])


def smoothness(kernels: torch.Tensor) -> float:
    """Correlation of horizontally and vertically adjacent weights, kernels (O, I, k, k)."""
    k = kernels.detach().cpu()
    a = torch.cat([k[..., :, :-1].flatten(), k[..., :-1, :].flatten()])
    b = torch.cat([k[..., :, 1:].flatten(), k[..., 1:, :].flatten()])
    return torch.corrcoef(torch.stack([a, b]))[0, 1].item()


def edge_likeness(kernels: torch.Tensor) -> float:
    """Mean over kernels of the best |cosine similarity| with one of the oriented edge patterns."""
    k = kernels.detach().cpu().flatten(0, 1)  # (O * I, 5, 5)
    k = (k - k.mean(dim=(1, 2), keepdim=True)).flatten(1)  # (O * I, 25), mean removed
    bank = edge_patterns().flatten(1)  # (8, 25)
    cos = F.normalize(k, dim=1) @ F.normalize(bank, dim=1).T  # (O * I, 8)
    return cos.abs().max(dim=1).values.mean().item()


sobel_5x5_like = edge_patterns()[0]  # direction 0: a left-to-right ramp
helpers.check_true(
    bool((sobel_5x5_like[:, :2] < 0).all() and (sobel_5x5_like[:, 3:] > 0).all()),
    "edge pattern 0 is negative on the left and positive on the right, like Sobel x",
)
before = {
    "smoothness": smoothness(initial_kernels),
    "edge likeness": edge_likeness(initial_kernels),
}
after = {"smoothness": smoothness(model[0].weight), "edge likeness": edge_likeness(model[0].weight)}
for name in before:
    print(f"{name:13}: random start {before[name]:.2f} | after training {after[name]:.2f}")

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Self-check** (on the real images): training made the first-layer kernels clearly smoother
# and more edge-like than their random start. (On the generated stand-in images, which have
# none of the structure of real digits, the numbers are only printed.)

# %%
if train_set.real:
    helpers.check_true(
        after["smoothness"] > before["smoothness"] + 0.15,
        "trained kernels are smoother than random ones (adjacent weights correlate)",
        f"{before['smoothness']:.2f} -> {after['smoothness']:.2f}",
    )
    helpers.check_true(
        after["edge likeness"] > before["edge likeness"] + 0.1,
        "trained kernels are closer to oriented edge patterns than random ones",
        f"{before['edge likeness']:.2f} -> {after['edge likeness']:.2f}",
    )
else:
    print("(stand-in images: these numbers are not checked)")

# %% [markdown]
# Feature maps of one test image after each block (ReLU outputs). Block 1 still looks like the
# picture (edges at full resolution); deeper blocks are coarser and more abstract.

# %% slideshow={"slide_type": "subslide"}
image = (test_set.images[:1].float() / 255 - mean) / std  # (1, C, H, H), normalised
blocks = {"block1": 2, "block2": 5, "block3": 8}  # name -> number of layers up to its ReLU
with torch.no_grad():
    maps = {name: model[:end](image)[0] for name, end in blocks.items()}

plt.figure(figsize=(2.5, 2.5))
plt.imshow(test_set.images[0].permute(1, 2, 0).squeeze(), cmap="gray" if C == 1 else None)
plt.title(f"input: {test_set.classes[test_set.labels[0]]}")
plt.axis("off")
plt.show()
for name, m in maps.items():
    helpers.show_feature_maps(m, title=f"{name}: {tuple(m.shape)} (up to 16 channels)")
    plt.show()

# %% slideshow={"slide_type": "subslide"}
# NBVAL_CHECK_OUTPUT
for name, m in maps.items():
    print(name, tuple(m.shape))
helpers.check_shape(maps["block1"], (W, H, H), "block1 maps")
helpers.check_shape(maps["block3"], (4 * W, H // 4, H // 4), "block3 maps")


# %% [markdown] slideshow={"slide_type": "subslide"}
# ### Activation maximisation
#
# Take one unit: channel $c$ of a block, at the centre of its feature map. Its activation
# $a_c(x)$ depends only on the input pixels in its receptive field (notebook 03 shows how to
# compute it; `helpers.receptive_field` gives 5x5 for block 1 and 20x20 for block 3, checked
# below). We look for the input that makes it fire most, by gradient
# **ascent** on the image, $x \leftarrow x + \eta\, \nabla_x a_c(x)$ (Adam chooses the step
# sizes), keeping $x$ inside the range of real pixels (black to white) so that the answer is an
# image and not just a very bright one. We ascend on the conv output just before the ReLU: after
# the ReLU a unit that is silent at the start would have zero gradient and never wake up. Pixels
# outside the receptive field get no gradient and keep their faint starting noise.


# %% slideshow={"slide_type": "notes"}
def maximise_unit(block: str, channel: int, steps: int) -> tuple[torch.Tensor, float]:
    """An input (1, C, H, H) that makes the centre unit of `channel` in `block` fire strongly,
    and that unit's (ReLU) activation."""
    torch.manual_seed(channel)
    x = (0.1 * torch.randn(1, C, H, H)).requires_grad_()  # faint noise around the mean pixel
    optimizer = torch.optim.Adam([x], lr=0.1)
    low, high = (0 - mean) / std, (1 - mean) / std  # normalised values of black and white
    before_relu = blocks[block] - 1  # the conv output: it has a gradient even where ReLU is 0
    for _ in range(steps):
        pre = model[:before_relu](x)  # (1, channels, h, h)
        activation = pre[0, channel, pre.shape[-2] // 2, pre.shape[-1] // 2]
        optimizer.zero_grad()
        (-activation).backward()  # ascent = descent on the negative
        optimizer.step()
        with torch.no_grad():
            x.copy_(torch.maximum(torch.minimum(x, high), low))
    with torch.no_grad():
        out = model[: blocks[block]](x)  # (1, channels, h, h), after the ReLU
        return x.detach(), out[0, channel, out.shape[-2] // 2, out.shape[-1] // 2].item()


def centre(maps: torch.Tensor) -> torch.Tensor:
    """(N, C, h, w) -> (N, C): the activations at the centre position."""
    return maps[:, :, maps.shape[-2] // 2, maps.shape[-1] // 2]


# Some units of a briefly trained network stay silent on every image ("dead" ReLUs), so we pick
# the 4 channels of each block whose centre unit responds most to real test images.
with torch.no_grad():
    real = (test_set.images[:500].float() / 255 - mean) / std  # (500, C, H, H)
    real_acts = {b: centre(model[: blocks[b]](real)) for b in ("block1", "block3")}  # (500, ch)
chosen = {b: acts.mean(0).topk(4).indices.tolist() for b, acts in real_acts.items()}
ascent_steps = helpers.pick(50, 200)
found = {(b, c): maximise_unit(b, c, ascent_steps) for b, cs in chosen.items() for c in cs}

# %% slideshow={"slide_type": "subslide"}
fig, axes = plt.subplots(2, 4, figsize=(9.6, 5.2), layout="constrained")
for row, block in enumerate(["block1", "block3"]):
    for col, c in enumerate(chosen[block]):
        x, act = found[(block, c)]
        picture = (x * std + mean)[0].permute(1, 2, 0).squeeze()  # (H, H[, 3]) back in [0, 1]
        axes[row, col].imshow(picture.clamp(0, 1), cmap="gray" if C == 1 else None)
        axes[row, col].set_title(f"{block} ch {c}\nactivation {act:.2f}", fontsize=9)
        axes[row, col].set_axis_off()
fig.suptitle("Inputs that maximise a centre unit: early (block1, 5x5) vs late (block3, 20x20)")
plt.show()

# %% [markdown] slideshow={"slide_type": "subslide"}
# **Self-check:** every optimised image excites its unit more than *any* of the real test images
# does (that is the point of the method), and the block-3 patterns spread over a larger area than
# the block-1 ones (their receptive field is larger).

# %%
for (block, c), (_, act) in found.items():
    best_real = real_acts[block][:, c].max().item()
    helpers.check_true(
        act > best_real,
        f"{block} channel {c}: the optimised input beats every real image",
        f"optimised {act:.3f}, best real {best_real:.3f}",
    )


def changed_extent(x: torch.Tensor) -> int:
    """Width of the region where the optimised image differs clearly from the faint start."""
    cols = ((x[0] - x[0].median()).abs() > 0.5).any(dim=0).any(dim=0).nonzero()
    return int(cols.max() - cols.min() + 1) if len(cols) else 0


extent = {b: max(changed_extent(found[(b, c)][0]) for c in chosen[b]) for b in chosen}
print("width of the changed region:", extent)
fields = {b: helpers.receptive_field(model[: blocks[b]]) for b in chosen}
helpers.check_equal(fields, {"block1": 5, "block3": 20}, "receptive fields of the two blocks")
helpers.check_true(extent["block1"] <= 5 < extent["block3"], "block 3 uses a larger input area")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Exercises
#
# Each exercise has a task, a cell for your answer (replace `None`) and a check cell that prints
# "Right!", "Not right yet" with a hint, or "Not attempted yet"; the check never stops the
# notebook. In the lecture version of this notebook the answer cells hold a worked solution,
# marked as such; in the exercise version they are yours.
#
# **Exercise 1 (a 45-degree edge detector; code).** The derivative of the brightness along the
# diagonal direction $(1, 1)/\sqrt2$ is $(g_x + g_y)/\sqrt2$, with $g_x$, $g_y$ the Sobel
# responses. Because cross-correlation is linear, that is a single 3x3 kernel. Build it as a
# float tensor `diagonal_45`; the check filters `camera` with it and compares with
# $(g_x + g_y)/\sqrt2$.

# %% nbgrader={"grade": false, "grade_id": "ex1_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 1: your answer (a float tensor of shape (3, 3))
diagonal_45 = None
### BEGIN SOLUTION
# A linear combination of kernels is the kernel of the same combination of responses.
diagonal_45 = (KERNELS["Sobel x"] + KERNELS["Sobel y"]) / math.sqrt(2)
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex1_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
cam_gx = filter2d(photos["camera"], KERNELS["Sobel x"])  # (H, W)
cam_gy = filter2d(photos["camera"], KERNELS["Sobel y"])
ok_1 = helpers.verdict(
    diagonal_45,
    lambda k: torch.allclose(
        filter2d(photos["camera"], torch.as_tensor(k, dtype=torch.float32).view(3, 3)),
        (cam_gx + cam_gy) / math.sqrt(2),
        atol=1e-5,
    ),
    "filter2d(image, a * k1 + b * k2) = a * filter2d(image, k1) + b * filter2d(image, k2).",
)
### BEGIN HIDDEN TESTS
assert ok_1, "exercise 1 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 2 (separable blur; code).** The Gaussian blur kernel is the outer product of
# $[1, 2, 1]/4$ with itself. Blur `photos["chelsea"]` in two passes, first with that vector as
# a 3x1 kernel (a column), then as a 1x3 kernel (a row), both with `F.conv2d` and no padding.
# Store the result, of shape `(1, 1, H - 2, W - 2)`, in `column_then_row`; the check compares
# it with one pass of the 3x3 kernel `KERNELS["blur (Gaussian)"]`.

# %% nbgrader={"grade": false, "grade_id": "ex2_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 2: your answer (a tensor of shape (1, 1, H - 2, W - 2))
column_then_row = None
### BEGIN SOLUTION
g121 = torch.tensor([1.0, 2.0, 1.0]) / 4
chelsea = photos["chelsea"][None, None]  # (1, 1, H, W)
column_then_row = F.conv2d(F.conv2d(chelsea, g121.view(1, 1, 3, 1)), g121.view(1, 1, 1, 3))
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex2_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
blur_once = F.conv2d(photos["chelsea"][None, None], KERNELS["blur (Gaussian)"][None, None])
ok_2 = helpers.verdict(
    column_then_row,
    lambda a: a.shape == blur_once.shape and torch.allclose(a, blur_once, atol=1e-6),
    "a (C_out, C_in, kh, kw) kernel of shape (1, 1, 3, 1) is a column; each valid pass shrinks "
    "one direction by 2.",
)
### BEGIN HIDDEN TESTS
assert ok_2, "exercise 2 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 3 (the saving; a number).** A 7x7 Gaussian blur is separable too. How many
# multiplications per output pixel does it need when done in two passes (a 7x1 kernel, then a
# 1x7 kernel), instead of the 49 of one 7x7 pass? The check counts them with PyTorch's
# `FlopCounterMode`.

# %% nbgrader={"grade": false, "grade_id": "ex3_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 3: your answer (a whole number)
separable_mults = None
### BEGIN SOLUTION
separable_mults = 7 + 7  # k + k instead of k * k: the saving grows with the kernel size
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex3_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
from torch.utils.flop_counter import FlopCounterMode

probe = torch.zeros(1, 1, 20, 20)  # padded passes keep the size, so every pixel is an output
with FlopCounterMode(display=False) as counter:
    F.conv2d(
        F.conv2d(probe, torch.zeros(1, 1, 7, 1), padding=(3, 0)),
        torch.zeros(1, 1, 1, 7),
        padding=(0, 3),
    )
mults_per_pixel = counter.get_total_flops() // 2 // probe.numel()  # a multiply-add is 2 FLOPs
ok_3 = helpers.verdict(
    separable_mults,
    mults_per_pixel,
    "count the multiplications of each pass for one output pixel, then add the two passes.",
)
### BEGIN HIDDEN TESTS
assert ok_3, "exercise 3 is not right"
### END HIDDEN TESTS

# %% [markdown]
# **Exercise 4 (flat regions; a prediction).** Without running anything, predict which kernels
# of `KERNELS` give exactly 0 everywhere on a flat image (every pixel 0.5). Answer with a set
# of their names, e.g. `{"Sobel x", "blur (Gaussian)"}`. The check filters a flat image with
# every kernel.

# %% nbgrader={"grade": false, "grade_id": "ex4_answer", "locked": false, "schema_version": 3, "solution": true}
# Exercise 4: your prediction (a set of kernel names)
zero_on_flat = None
### BEGIN SOLUTION
# On a flat image every window is the same, so the response is 0.5 * (sum of the weights):
# every edge and Laplacian kernel sums to 0; blur, sharpen and identity sum to 1.
zero_on_flat = {name for name, k in KERNELS.items() if k.sum() == 0}
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "ex4_check", "locked": true, "points": 1, "schema_version": 3, "solution": false}
flat = torch.full((16, 16), 0.5)
measured_zero = {name for name, k in KERNELS.items() if filter2d(flat, k).abs().max() < 1e-6}
ok_4 = helpers.verdict(
    zero_on_flat,
    lambda names: set(names) == measured_zero,
    "on a flat image every 3x3 window holds the same values; what does a kernel then compute?",
)
### BEGIN HIDDEN TESTS
assert ok_4, "exercise 4 is not right"
### END HIDDEN TESTS

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
# - A 3x3 kernel computes a weighted sum of each pixel's neighbourhood; kernels that sum to 0 ignore
#   flat regions and respond to changes (edges), kernels that sum to 1 keep the brightness (blur,
#   sharpen).
# - Sobel and Prewitt estimate first derivatives (smoothed across the edge); the Laplacians estimate
#   the second derivative in every direction; magnitude $\sqrt{g_x^2 + g_y^2}$ and orientation
#   $\operatorname{atan2}(g_y, g_x)$ come from the two Sobel responses.
# - A conv layer trained to imitate a filter converges to that filter; how fast depends on how
#   varied the inputs are (noise: fast; smooth photos: slow, ill-conditioned).
# - Training turns a CNN's random first-layer kernels into smoother, more edge-like ones (after
#   long training on photos, into clear edge and colour detectors; after one short MNIST epoch,
#   only partly); deeper layers respond to larger, more complex patterns, visible through
#   feature maps and activation maximisation.
#
# ## Further reading
# - I. Sobel and G. Feldman, "A 3x3 isotropic gradient operator for image processing" (1968), and
#   J. Prewitt, "Object enhancement and extraction" (1970): the classic kernels.
# - M. D. Zeiler and R. Fergus, "Visualizing and understanding convolutional networks", ECCV 2014
#   (<https://arxiv.org/abs/1311.2901>): what each layer of a CNN responds to.
# - K. Simonyan, A. Vedaldi and A. Zisserman, "Deep inside convolutional networks: visualising image
#   classification models and saliency maps" (2013) (<https://arxiv.org/abs/1312.6034>):
#   gradient ascent on the input.
# - C. Olah, A. Mordvintsev and L. Schubert, "Feature visualization", Distill 2017
#   (<https://distill.pub/2017/feature-visualization/>).
# - PyTorch: [`torch.nn.functional.conv2d`](https://pytorch.org/docs/stable/generated/torch.nn.functional.conv2d.html);
#   scikit-image's [filters module](https://scikit-image.org/docs/stable/api/skimage.filters.html).
