"""The preview pane picks its drawing by graphics mode: half-cell or a textual-image widget."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from textual.app import App, ComposeResult

from orchestrator.adapters.tui.graphics import GraphicsMode
from orchestrator.adapters.tui.halfcell import HalfCellImage
from orchestrator.adapters.tui.widgets import PreviewPane


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (4, 4), (0, 255, 0, 255)).save(buf, format="PNG")
    return buf.getvalue()


class _Host(App[None]):
    def __init__(self, mode: GraphicsMode) -> None:
        super().__init__()
        self.mode = mode

    def compose(self) -> ComposeResult:
        yield PreviewPane(self.mode)


async def test_half_cell_mode_draws_a_half_cell_image() -> None:
    app = _Host(GraphicsMode.HALFCELL)
    async with app.run_test():
        pane = app.query_one(PreviewPane)
        await pane.show("sprite", _png())
        assert isinstance(pane.image, HalfCellImage)
        assert pane.image.rgba[0, 0].tolist() == [0, 255, 0, 255]


@pytest.mark.parametrize(
    ("mode", "widget"), [(GraphicsMode.SIXEL, "SixelImage"), (GraphicsMode.KITTY, "TGPImage")]
)
async def test_terminal_graphics_modes_mount_a_textual_image_widget(
    mode: GraphicsMode, widget: str
) -> None:
    app = _Host(mode)
    async with app.run_test() as pilot:
        pane = app.query_one(PreviewPane)
        await pane.show("sprite", _png())
        await pilot.pause()
        graphics = list(pane.query(".preview-graphic"))
        import textual_image.widget

        assert [type(w) for w in graphics] == [getattr(textual_image.widget, widget)]
        await pane.show("nothing", None)  # switching away removes it
        assert not list(pane.query(".preview-graphic"))


async def test_unreadable_image_shows_why_instead_of_crashing() -> None:
    app = _Host(GraphicsMode.HALFCELL)
    async with app.run_test():
        pane = app.query_one(PreviewPane)
        await pane.show("broken", b"not a png")
        assert pane.image is None
        assert "cannot be decoded" in str(pane.query_one(".preview-body").render())
