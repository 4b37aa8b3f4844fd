"""scenegym.bridges: scenes in and out of the tools users already have.

May import ``scenegym.scene`` and the utilities. The libraries themselves (commonroad-io,
highway-env) load when a bridge is used, not with ``import scenegym``.

- CommonRoad XML: ``read_commonroad`` / ``import_commonroad`` (recorded scenarios to scenes,
  ``CommonRoadImport``), ``write_commonroad`` / ``export_commonroad`` (scenes to scenarios).
- highway-env: ``to_highway``, ``from_highway``, ``highway_network``.
- OpenSCENARIO 1.0-1.3 with OpenDRIVE roads (through scenariogeneration):
  ``write_openscenario`` / ``export_openscenario`` (``STORYBOARDS``,
  ``OPENSCENARIO_VERSIONS``), ``read_openscenario`` (the files it writes, back to scenes);
  ``scenegym.bridges.openscenario.validate`` checks files against the official schemas.
- The naturalistic reference: ``naturalistic_reference`` (highway-env IDM/MOBIL traffic,
  simulated and cached) with its ``ReferenceConfig``.
- Any reference a user names: ``load_reference`` (``NATURALISTIC``, a scenes file, or
  CommonRoad files and folders) returning ``LoadedReference``; ``NATURALISTIC_SCENES``;
  ``load_roads``, the distinct roads of a scenes file or of CommonRoad maps (traffic on
  given roads).
"""

from scenegym.bridges.commonroad import (
    CommonRoadImport,
    export_commonroad,
    import_commonroad,
    read_commonroad,
    write_commonroad,
)
from scenegym.bridges.highway import from_highway, highway_network, to_highway
from scenegym.bridges.openscenario import (
    OPENSCENARIO_VERSIONS,
    STORYBOARDS,
    export_openscenario,
    read_openscenario,
    write_openscenario,
)
from scenegym.bridges.reference import (
    NATURALISTIC,
    NATURALISTIC_SCENES,
    LoadedReference,
    ReferenceConfig,
    load_reference,
    load_roads,
    naturalistic_reference,
    reference_cached,
)

__all__ = [
    "NATURALISTIC",
    "NATURALISTIC_SCENES",
    "OPENSCENARIO_VERSIONS",
    "STORYBOARDS",
    "CommonRoadImport",
    "LoadedReference",
    "ReferenceConfig",
    "export_commonroad",
    "export_openscenario",
    "from_highway",
    "highway_network",
    "import_commonroad",
    "load_reference",
    "load_roads",
    "naturalistic_reference",
    "read_commonroad",
    "read_openscenario",
    "reference_cached",
    "to_highway",
    "write_commonroad",
    "write_openscenario",
]
