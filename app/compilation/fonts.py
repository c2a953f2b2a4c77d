"""The CJK font of every compiled PDF: Noto Sans SC (TrueType outlines, SIL OFL 1.1),
installed by the setup command (scripts/assets.py, from the npm registry) into
app/static/vendor/fonts, never committed. Without it compiling fails with a Chinese
message that says how to install it."""
from __future__ import annotations

import os
import threading

from flask import current_app

REGULAR = "NotoSansSC"
BOLD = "NotoSansSC-Bold"
FILES = {REGULAR: "NotoSansSC-Regular.ttf", BOLD: "NotoSansSC-Bold.ttf"}
# Shown instead of a character the font lacks (an emoji, a rare ideograph); the compile
# reports how many it replaced.
REPLACEMENT = "〓"
MISSING_MESSAGE = ("未安装 PDF 中文字体（Noto Sans SC），无法生成 PDF。请运行安装命令 "
                   "make setup（或 bash scripts/setup.sh）后重试")

_lock = threading.Lock()
_registered: set[str] = set()
_cmaps: dict[str, frozenset[int]] = {}


class FontMissing(RuntimeError):
    """The CJK font is not installed (fresh machine before setup)."""

    def __init__(self, message: str = MISSING_MESSAGE):
        super().__init__(message)


def font_dir() -> str:
    configured = current_app.config.get("CJK_FONT_DIR") if current_app else None
    return configured or os.path.join(current_app.static_folder, "vendor", "fonts")


def font_path(name: str = REGULAR) -> str:
    return os.path.join(font_dir(), FILES[name])


def available() -> bool:
    return all(os.path.isfile(font_path(name)) for name in FILES)


def register() -> tuple[str, str]:
    """Register both weights with reportlab once per process; (regular, bold) font names."""
    if not available():
        raise FontMissing()
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    with _lock:
        for name in FILES:
            path = font_path(name)
            if path not in _registered:
                pdfmetrics.registerFont(TTFont(name, path))
                _registered.add(path)
        addMapping(REGULAR, 0, 0, REGULAR)
        addMapping(REGULAR, 1, 0, BOLD)
        addMapping(REGULAR, 0, 1, REGULAR)
        addMapping(REGULAR, 1, 1, BOLD)
    return REGULAR, BOLD


def codepoints(name: str = REGULAR) -> frozenset[int]:
    """The characters the font has a glyph for (its cmap)."""
    path = font_path(name)
    if not os.path.isfile(path):
        raise FontMissing()
    with _lock:
        if path not in _cmaps:
            from fontTools.ttLib import TTFont as FTFont

            font = FTFont(path, lazy=True)
            try:
                _cmaps[path] = frozenset(font.getBestCmap().keys())
            finally:
                font.close()
        return _cmaps[path]


def missing_glyphs(text: str, name: str = REGULAR) -> set[str]:
    have = codepoints(name)
    return {ch for ch in text if not ch.isspace() and ord(ch) not in have}


class GlyphGuard:
    """Replaces characters the font lacks (so nothing renders as an empty box) and counts them."""

    def __init__(self):
        self.have = codepoints(REGULAR) & codepoints(BOLD)
        self.replaced: set[str] = set()

    def __call__(self, text) -> str:
        text = "" if text is None else str(text)
        if all(ord(ch) in self.have or ch in "\n\t " for ch in text):
            return text
        out = []
        for ch in text:
            if ch in "\n\t " or ord(ch) in self.have:
                out.append(ch)
            else:
                self.replaced.add(ch)
                out.append(REPLACEMENT)
        return "".join(out)
