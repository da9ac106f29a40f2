"""batch's two charts, the histogram of totals and each test's pass rate, written as SVG.

Two bar charts need no plotting library: written directly they cost a millisecond, where importing matplotlib
and drawing two PNGs cost a batch about a second of CPU, taken from the grading jobs. Every text in them (test
numbers, titles) is escaped for XML; the pages embed them as images, in which no browser runs a script.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

_WIDTH = 700
_LEFT, _RIGHT, _TOP, _BOTTOM = 60, 20, 40, 55  # margins around the plotting area
_BAR, _AXIS, _TEXT = "#4c72b0", "#333", "#222"


def bin_counts(values: list[float], edges: list[float]) -> list[int]:
    """How many values fall in each bin [edges[i], edges[i+1]); the last bin also holds its upper edge (full
    marks), as numpy's and matplotlib's histograms count."""
    counts = [0] * (len(edges) - 1)
    for value in values:
        for i in range(len(counts)):
            last = i == len(counts) - 1
            if edges[i] <= value < edges[i + 1] or (last and value == edges[-1]):
                counts[i] += 1
                break
    return counts


def histogram(values: list[float], edges: list[float], *, title: str, xlabel: str) -> str:
    """A histogram with the bins given by their edges (at least two), the counts on a y axis from 0."""
    counts = bin_counts(values, edges)
    height = 400
    plot_w, plot_h = _WIDTH - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    top = max(max(counts, default=0), 1)
    span = (edges[-1] - edges[0]) or 1.0
    parts = [_axes(plot_w, plot_h, title, xlabel, "submissions", height)]
    for count, low, high in zip(counts, edges, edges[1:]):
        x = _LEFT + (low - edges[0]) / span * plot_w
        w = (high - low) / span * plot_w
        h = count / top * plot_h
        parts.append(f'<rect class="bar" x="{x + 1:.1f}" y="{_TOP + plot_h - h:.1f}" width="{max(w - 2, 1):.1f}" '
                     f'height="{h:.1f}" fill="{_BAR}"><title>{_number(low)} to {_number(high)}: {count}</title>'
                     "</rect>")
    for edge in edges if len(edges) <= 21 else edges[::2]:
        x = _LEFT + (edge - edges[0]) / span * plot_w
        parts.append(_text(x, _TOP + plot_h + 18, _number(edge), anchor="middle"))
    for tick in _ticks(top):
        y = _TOP + plot_h - tick / top * plot_h
        parts.append(_text(_LEFT - 8, y + 4, str(tick), anchor="end"))
    return _svg(height, parts)


def horizontal_bars(labels: list[str], percents: list[float], *, title: str, xlabel: str) -> str:
    """One horizontal bar per label, from 0 to 100 %, the first label at the top."""
    height = _TOP + _BOTTOM + 24 * max(len(labels), 1)
    plot_w, plot_h = _WIDTH - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    parts = [_axes(plot_w, plot_h, title, xlabel, "", height)]
    for row, (label, percent) in enumerate(zip(labels, percents)):
        y = _TOP + row * 24 + 4
        w = max(0.0, min(percent, 100.0)) / 100 * plot_w
        parts.append(f'<rect class="bar" x="{_LEFT}" y="{y}" width="{w:.1f}" height="16" fill="#55a868">'
                     f"<title>{escape(label)}: {percent:.0f}%</title></rect>")
        parts.append(_text(_LEFT - 8, y + 13, label, anchor="end"))
    for tick in range(0, 101, 20):
        parts.append(_text(_LEFT + tick / 100 * plot_w, _TOP + plot_h + 18, str(tick), anchor="middle"))
    return _svg(height, parts)


def _axes(plot_w: float, plot_h: float, title: str, xlabel: str, ylabel: str, height: int) -> str:
    """The two axis lines, the title above and the axis labels."""
    parts = [f'<path d="M{_LEFT},{_TOP} V{_TOP + plot_h} H{_LEFT + plot_w}" fill="none" stroke="{_AXIS}"/>',
             _text(_WIDTH / 2, 24, title, anchor="middle", size=15),
             _text(_LEFT + plot_w / 2, height - 14, xlabel, anchor="middle")]
    if ylabel:
        parts.append(f'<text x="16" y="{_TOP + plot_h / 2:.1f}" transform="rotate(-90 16 {_TOP + plot_h / 2:.1f})" '
                     f'text-anchor="middle" font-size="13" fill="{_TEXT}">{escape(ylabel)}</text>')
    return "".join(parts)


def _ticks(top: int) -> list[int]:
    """Whole-number ticks from 0 to top, at most about six of them."""
    step = max(1, -(-top // 5))
    return list(range(0, top + 1, step))


def _text(x: float, y: float, text: str, *, anchor: str, size: int = 12) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor={quoteattr(anchor)} font-size="{size}" '
            f'fill="{_TEXT}">{escape(text)}</text>')


def _number(value: float) -> str:
    return f"{value:g}"


def _svg(height: int, parts: list[str]) -> str:
    """A whole SVG document, white behind, in the sans-serif font of the page around it."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
            f'viewBox="0 0 {_WIDTH} {height}" font-family="system-ui, sans-serif">'
            f'<rect width="100%" height="100%" fill="white"/>{"".join(parts)}</svg>\n')
