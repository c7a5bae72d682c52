"""The figure of a scan: the intensity image with the dots found, the lifetime image and the
phasor plot of its pixels."""

from __future__ import annotations

import math
from os import PathLike

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .dots import DotSearch
from .dots_psf import background_counts
from .plots_axes import remark
from .scan_image import MIN_LIFETIME_COUNTS, ScanImage


def image_figure(image: ScanImage, dots: DotSearch | None = None, title: str = "") -> Figure:
    """Intensity (with the dots circled and numbered), lifetime and phasor panels."""
    fig = Figure(figsize=(15, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3)
    if title:
        fig.suptitle(title)
    plot_intensity(axes[0], image, dots)
    background = background_counts(image.counts, np.broadcast_to(image.scanned[:, None],
                                                                 image.shape))  # fmt: skip
    tau, note = image.lifetime_image(max(MIN_LIFETIME_COUNTS,
                                         round(background + 5 * math.sqrt(background))))
    phase0, _ = image.pulse_phase()
    plot_lifetime(axes[1], image, tau, note)
    plot_phasor(axes[2], image, phase0, note)
    return fig


def save_image_figure(image: ScanImage, path: str | PathLike, dots: DotSearch | None = None,
                      title: str = "", dpi: int = 150) -> None:  # fmt: skip
    """Write :func:`image_figure` to ``path``."""
    image_figure(image, dots, title).savefig(path, dpi=dpi)


def _extent(image: ScanImage) -> tuple[list[float], str]:
    ny, nx = image.shape
    size = image.settings.pixel_size_um
    if size is None:
        return [-0.5, nx - 0.5, ny - 0.5, -0.5], "pixels"
    x0, y0 = image.settings.origin_um
    return [x0, x0 + nx * size, y0 + ny * size, y0], "µm"


def plot_intensity(ax: Axes, image: ScanImage, dots: DotSearch | None) -> Axes:
    """Count rate per pixel (kcps), the dots circled with their numbers."""
    extent, unit = _extent(image)
    shown = np.ma.masked_invalid(image.rate_cps / 1e3) if image.pixel_time_s > 0 else image.counts
    label = "kcps" if image.pixel_time_s > 0 else "photons"
    art = ax.imshow(shown, extent=extent, origin="upper", cmap="magma", interpolation="nearest")
    ax.figure.colorbar(art, ax=ax, label=label, shrink=0.85)
    ax.set_xlabel(f"x ({unit})")
    ax.set_ylabel(f"y ({unit})")
    ax.set_title(f"intensity: {image.placed} photons, {image.frames or 1} frame(s)",
                 fontsize="medium")  # fmt: skip
    if dots is not None:
        scale = image.settings.pixel_size_um or 1.0
        r = 0.75 * dots.fwhm_px * scale
        for i, d in enumerate(dots.dots):
            x, y = (d.x_um, d.y_um) if d.x_um is not None else (d.x, d.y)
            ax.add_patch(_circle(x, y, r))
            ax.annotate(str(i), (x + r, y - r), color="cyan", fontsize="x-small")
        ax.set_title(f"{ax.get_title()}; {len(dots.dots)} dots", fontsize="medium")
    remark(ax, image.notes, top=False)
    return ax


def _circle(x: float, y: float, r: float):
    from matplotlib.patches import Circle

    return Circle((x, y), r, fill=False, color="cyan", lw=0.8)


def plot_lifetime(ax: Axes, image: ScanImage, tau_ps: np.ndarray, note: str | None) -> Axes:
    """Phase lifetime per pixel (ns)."""
    extent, unit = _extent(image)
    ax.set_xlabel(f"x ({unit})")
    ax.set_ylabel(f"y ({unit})")
    if note or not np.isfinite(tau_ps).any():
        ax.text(0.5, 0.5, note or "no pixel has a lifetime", ha="center", wrap=True,
                transform=ax.transAxes)  # fmt: skip
        ax.set_title("lifetime: none", fontsize="medium")
        return ax
    shown = np.ma.masked_invalid(tau_ps / 1e3)
    lo, hi = np.nanpercentile(tau_ps / 1e3, [1, 99])
    art = ax.imshow(shown, extent=extent, origin="upper", cmap="viridis", vmin=lo, vmax=hi,
                    interpolation="nearest")  # fmt: skip
    ax.figure.colorbar(art, ax=ax, label="phase lifetime (ns)", shrink=0.85)
    ax.set_title("phase lifetime of the pixels 5σ above the background", fontsize="medium")
    return ax


def plot_phasor(ax: Axes, image: ScanImage, phase0: float | None, note: str | None) -> Axes:
    """Pixel phasors, turned by the pulse's phase, against the semicircle of single
    exponentials."""
    ax.set_xlabel("g")
    ax.set_ylabel("s")
    ax.set_aspect("equal")
    angle = np.linspace(0, math.pi, 200)
    ax.plot(0.5 + 0.5 * np.cos(angle), 0.5 * np.sin(angle), color="0.5", lw=0.8)
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.05, 0.6)
    if phase0 is None:
        ax.text(0.5, 0.3, note or "no phasors", ha="center", wrap=True)
        ax.set_title("phasor: none", fontsize="medium")
        return ax
    g, s = image.phasor()
    z = (g + 1j * s) * np.exp(-1j * phase0)
    keep = image.counts >= MIN_LIFETIME_COUNTS
    ax.hist2d(z.real[keep], z.imag[keep], bins=70, range=[[-0.05, 1.05], [-0.05, 0.6]],
              cmin=1, cmap="Blues", weights=image.counts[keep])  # fmt: skip
    ax.set_title(f"phasor at {1e6 / image.period_ps:.4g} MHz (weighted by photons)",
                 fontsize="medium")  # fmt: skip
    remark(ax, ["the IRF's width and the background pull the phasors inside the semicircle"],
           top=True)  # fmt: skip
    return ax
