"""`PixelizeRequest`: what a caller asks of the pixelize use case, checked in one place.

Every adapter (CLI, MCP, ZMQ) sends these plain values; `to_options` turns them into the
pixel core's `PixelizeOptions` or raises `InvalidRequest` naming the field (the CLI maps a
field to its flag, so the same refusal reads `--palette / --colors` there and
`palette/colors` over MCP). Importing this module loads nothing heavy: the pixel core is
imported when a request is checked.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from orchestrator.errors import InvalidRequest

if TYPE_CHECKING:
    from comfy_nodes.pixel.palette import Palette
    from comfy_nodes.pixel.pipeline import PixelizeOptions

__all__ = ["PixelizeRequest"]

MAX_PREVIEW_SCALE = 64


@dataclass(frozen=True, kw_only=True)
class PixelizeRequest:
    """How to pixelize pictures (field names are the names adapters show in errors).

    Attributes:
        size: Sprite size prior `"WxH"`, or `"auto"` to detect the grid.
        palette: A built-in palette name or a palette file to lock to; None builds one.
        colors: Size of the palette to build (2..256), or `"auto"`/None to pick it from
            each picture (or the shared set). A number is not allowed with `palette`.
        dither: A dither mode (`none`, `floyd-steinberg`, `bayer-4` …).
        background: `auto`, `border`, `key` (with `key_color`) or `none` (keep it).
        key_color: `#RRGGBB` background colour for `background="key"`.
        outline: Add a 1-px outline, in a colour of the sprite's palette.
        outline_color: `#RRGGBB` outline wish; with a palette, its nearest palette colour.
        cleanup: Remove orphan (lone) pixels.
        seed: Palette k-means seed (same seed, same palette).
        preview_scale: Preview `NAME@Nx.png` factor; None picks one (~256 px), 0 or 1 none.
        compare: Also write `NAME_compare.png`: input | sprite | palette swatch.
    """

    size: str = "auto"
    palette: str | None = None
    colors: int | str | None = None
    dither: str = "none"
    background: str = "auto"
    key_color: str | None = None
    outline: bool = False
    outline_color: str | None = None
    cleanup: bool = False
    seed: int = 0
    preview_scale: int | None = None
    compare: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The request as JSON (what the sidecar records); `colors` a number when it is one
        (the CLI hands over text)."""
        text = str(self.colors).strip()
        return dict(asdict(self), colors=int(text) if text.isdigit() else self.colors)

    def to_options(self, resolve: Any = None) -> PixelizeOptions:
        """The pixel core's options, every field checked before any file is touched.

        Args:
            resolve: Turns a palette name into a `Palette` (the service's palette policy);
                default: the pixel core's `resolve_palette`.

        Raises:
            InvalidRequest: Naming the field (`palette/colors` for the contradiction).
        """
        from comfy_nodes.pixel.pipeline import PixelizeOptions

        # 1. contradictions, 2. each field, 3. the modes the pixel core checks itself
        self._check_combinations()
        options = PixelizeOptions(
            size=self._size(),
            palette=self._palette(resolve),
            n_colors=self._colors(),
            dither=self.dither,
            remove_background=self.background,
            key_color=self._color("key_color", self.key_color),
            outline=self.outline,
            outline_color=self._color("outline_color", self.outline_color),
            cleanup=self.cleanup,
            seed=self._seed(),
        )
        self._check_modes(options)
        return options

    def _check_combinations(self) -> None:
        if self.palette is not None and self._colors() is not None:
            raise InvalidRequest(
                "palette/colors",
                (self.palette, self.colors),
                "contradict: a locked palette brings its own colours; give one of them",
            )
        if self.background == "key" and not self.key_color:
            raise InvalidRequest("key_color", self.key_color, "background 'key' needs '#RRGGBB'")
        scale = self.preview_scale
        if scale is not None and not 0 <= scale <= MAX_PREVIEW_SCALE:
            raise InvalidRequest("preview_scale", scale, f"must be in 0..{MAX_PREVIEW_SCALE}")

    def _size(self) -> tuple[int, int] | None:
        from comfy_nodes.pixel.errors import PixelArtError
        from comfy_nodes.pixel.pipeline import parse_size

        try:
            return parse_size(self.size)
        except PixelArtError as exc:
            raise InvalidRequest("size", self.size, _reason(exc)) from exc

    def _palette(self, resolve: Any) -> Palette | None:
        if self.palette is None:
            return None
        from comfy_nodes.pixel.palette import resolve_palette

        try:
            palette: Palette = (resolve or resolve_palette)(self.palette)
        except InvalidRequest:
            raise
        except (ValueError, OSError) as exc:
            raise InvalidRequest("palette", self.palette, _reason(exc)) from exc
        return palette

    def _colors(self) -> int | None:
        from comfy_nodes.pixel.errors import PixelArtError
        from comfy_nodes.pixel.modes import PALETTE_SIZES

        if str(self.colors).strip() == str(PALETTE_SIZES.widget_auto):  # the node's auto only
            raise InvalidRequest("colors", 0, f"is not a size; choose {PALETTE_SIZES.describe()}")
        try:
            return PALETTE_SIZES.parse(self.colors)
        except PixelArtError as exc:
            text = str(self.colors).strip()
            shown = int(text) if text.removeprefix("-").isdigit() else self.colors
            raise InvalidRequest("colors", shown, _reason(exc)) from exc

    @staticmethod
    def _color(field: str, text: str | None) -> tuple[int, int, int] | None:
        if not text:
            return None
        from comfy_nodes.pixel.errors import PixelArtError
        from comfy_nodes.pixel.palette import parse_hex_color

        try:
            return parse_hex_color(text)
        except PixelArtError as exc:
            raise InvalidRequest(field, text, _reason(exc)) from exc

    def _seed(self) -> int:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InvalidRequest("seed", self.seed, "must be an int >= 0")
        return self.seed

    @staticmethod
    def _check_modes(options: PixelizeOptions) -> None:
        """Dither and background against the pixel core's one registry of each."""
        from comfy_nodes.pixel.errors import PixelArtError
        from comfy_nodes.pixel.modes import BACKGROUND_MODES, DITHER_MODES

        checks = (
            ("dither", options.dither, DITHER_MODES),
            ("background", options.background_mode(), BACKGROUND_MODES),
        )
        for field, value, vocabulary in checks:
            try:
                vocabulary.parse(value)
            except PixelArtError as exc:
                raise InvalidRequest(field, value, _reason(exc)) from exc


def _reason(exc: Exception) -> str:
    """The pixel core's message (it names its own argument; the field leads ours)."""
    return str(exc) or type(exc).__name__
