"""Small charts rendered on the server as inline SVG: no script, no CDN, readable without colour."""

from __future__ import annotations

from markupsafe import Markup, escape


def bar_chart(values: list[float], labels: list[str], *, title: str, width: int = 320, height: int = 80) -> Markup:
    """A bar chart with a text title and a tooltip (``<title>``) per bar naming its label and value.

    Every label and the title are escaped; ``values`` are numbers."""
    n = max(len(values), 1)
    top = max(max(values, default=0.0), 1.0)
    gap = 2
    bar_w = max((width - gap * (n - 1)) / n, 1.0)
    plot_h = height - 14
    bars = []
    for i, (v, label) in enumerate(zip(values, labels, strict=True)):
        h = plot_h * (float(v) / top)
        x = i * (bar_w + gap)
        bars.append(
            f'<rect x="{x:.1f}" y="{plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" class="bar">'
            f"<title>{escape(label)}: {v:g}</title></rect>"
        )
    first, last = (escape(labels[0]), escape(labels[-1])) if labels else ("", "")
    axis = (
        f'<line x1="0" y1="{plot_h}" x2="{width}" y2="{plot_h}" class="axis"/>'
        f'<text x="0" y="{height - 2}" class="tick">{first}</text>'
        f'<text x="{width}" y="{height - 2}" text-anchor="end" class="tick">{last}</text>'
    )
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" height="{height}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="none">'
        f"<title>{escape(title)}</title>{''.join(bars)}{axis}</svg>"
    )
