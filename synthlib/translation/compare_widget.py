"""Chapter 3's comparison viewer: held-out inputs beside each model's translation, searchable by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor

from synthlib.ui import side_by_side, to_png


class ComparisonViewer:
    """What several models made of the same inputs, per direction, looked up by name.

    ``columns[direction]`` maps a column title ("input", "L1", "Pix2Pix", ..., "true") to images
    (N, C, H, W) in [-1, 1], row i belonging to ``names[i]``. Everything is computed once, so
    moving a control only looks images up. The plain functions the widget calls:

    * :meth:`matches` -- indices whose name contains a query (case-insensitive), or equal its code;
    * :meth:`render`  -- the row of one item in one direction, side by side (C, H, W);
    * :meth:`scores`  -- per-item numbers to print under the picture (optional ``scores`` input).
    """

    def __init__(
        self,
        names: Sequence[str],
        columns: dict[str, dict[str, Tensor]],
        *,
        codes: Sequence[str] | None = None,
        scores: dict[str, dict[str, Tensor]] | None = None,
    ) -> None:
        if not columns:
            raise ValueError("ComparisonViewer needs at least one direction of columns")
        for direction, cols in columns.items():
            for title, imgs in cols.items():
                if len(imgs) != len(names):
                    raise ValueError(f"{direction}/{title}: {len(imgs)} images for {len(names)} names")
        self.names, self.columns = list(names), columns
        self.codes = list(codes) if codes is not None else None
        self.score_table = scores or {}

    @property
    def directions(self) -> list[str]:
        return list(self.columns)

    def titles(self, direction: str) -> list[str]:
        return list(self.columns[direction])

    def matches(self, query: str, limit: int = 200) -> list[int]:
        q = query.strip().lower()
        if not q:
            return list(range(min(limit, len(self.names))))
        hits = [i for i, n in enumerate(self.names) if q in n.lower()]
        if self.codes is not None:
            hits += [i for i, c in enumerate(self.codes) if c.lower() == q and i not in hits]
        return hits[:limit]

    def render(self, index: int, direction: str) -> Tensor:
        if direction not in self.columns:
            raise ValueError(f"direction {direction!r}; this viewer has {self.directions}")
        return side_by_side([imgs[index] for imgs in self.columns[direction].values()])

    def scores(self, index: int, direction: str) -> dict[str, float]:
        return {title: float(v[index]) for title, v in self.score_table.get(direction, {}).items()}


class ComparisonUI:
    """The widgets of :func:`comparison_ui`: a search box, a dropdown of the matching items, a
    direction toggle, the picture and a caption. Set ``search.value``, ``choice.value`` (an index)
    or ``direction.value`` and read ``image.value`` (PNG bytes); every change calls :meth:`update`."""

    def __init__(self, viewer: ComparisonViewer, *, scale: int = 3, score_name: str = "PSNR dB") -> None:
        import ipywidgets as W

        self.viewer, self.scale, self.score_name = viewer, scale, score_name
        self.search = W.Text(value="", placeholder="search by name, e.g. cat", description="search",
                             continuous_update=True)
        self.choice = W.Dropdown(options=self._options(""), description="emoji", layout=W.Layout(width="420px"))
        self.direction = W.ToggleButtons(options=viewer.directions, value=viewer.directions[0], description="direction")
        self.image = W.Image(format="png")
        self.caption = W.HTML()
        self.search.observe(self._on_search, names="value")
        self.choice.observe(self._on_change, names="value")
        self.direction.observe(self._on_change, names="value")
        self.widget = W.VBox([W.HBox([self.search, self.choice]), self.direction, self.image, self.caption])
        self.update()

    def _options(self, query: str) -> list[tuple[str, int]]:
        return [(self.viewer.names[i], i) for i in self.viewer.matches(query)]

    def set_query(self, query: str) -> None:
        """Filter the dropdown to the items matching ``query`` and show the first (no match: keep the current)."""
        options = self._options(query)
        if options:
            self.choice.options = options
            self.choice.value = options[0][1]

    def caption_text(self) -> str:
        index, direction = self.choice.value, self.direction.value
        titles = " | ".join(self.viewer.titles(direction))
        scores = self.viewer.scores(index, direction)
        numbers = ", ".join(f"{t} {v:.1f}" for t, v in scores.items())
        return f"<b>{self.viewer.names[index]}</b> ({direction}): {titles}" + (
            f"<br>{self.score_name} against the true image: {numbers}" if numbers else "")

    def render_current(self) -> Tensor:
        return self.viewer.render(self.choice.value, self.direction.value)

    def update(self) -> None:
        if self.choice.value is None:
            return
        self.image.value = to_png(self.render_current(), self.scale)
        self.caption.value = self.caption_text()

    def _on_search(self, change: dict[str, Any]) -> None:
        self.set_query(change["new"])

    def _on_change(self, change: dict[str, Any]) -> None:
        self.update()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def comparison_ui(viewer: ComparisonViewer, *, scale: int = 3, score_name: str = "PSNR dB") -> ComparisonUI:
    """Pick an item by name (search box + dropdown), toggle the direction, see every column side by side."""
    return ComparisonUI(viewer, scale=scale, score_name=score_name)
