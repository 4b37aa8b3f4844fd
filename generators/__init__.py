"""scenegym.generators: turning scenes into samples.

Rendering: ``render`` (a ``Scene`` and a ``RenderConfig`` to a ``Rendering``: semantic map,
instance mask, RGB picture, boxes), ``render_many`` (many scenes, road geometry prepared
together), ``SEMANTIC_CLASSES``, ``PALETTE``, ``view_transform``.
Files: ``render_to_folder``, ``write_rendering``, ``contact_sheet``, ``encode_png``.
"""

from .files import contact_sheet, encode_png, render_to_folder, write_rendering
from .render import (
    PALETTE,
    SEMANTIC_CLASSES,
    RenderConfig,
    Rendering,
    render,
    render_many,
    view_transform,
)

__all__ = [
    "PALETTE",
    "SEMANTIC_CLASSES",
    "RenderConfig",
    "Rendering",
    "contact_sheet",
    "encode_png",
    "render",
    "render_many",
    "render_to_folder",
    "view_transform",
    "write_rendering",
]
