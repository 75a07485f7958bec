"""FUSION INI configs: the schema FUSION's loader applies, validation, overrides, templates.

A run's config is what the simulator, the run record and the user all have to agree
on, so it is kept as raw INI strings (exactly what lands in the frozen file) and
checked against one declarative table of the keys FUSION reads before anything is
written. The modules, by concern:

- :mod:`.ini`: INI text in and out, and the safe, frozen ``config.ini``;
- :mod:`.values`: values read as FUSION reads them, Python values written as INI;
- :mod:`.schema`: the keys FUSION reads, per section, with their ranges;
- :mod:`.paths`: where topology and modulation files may be;
- :mod:`.overrides`: a user's changes in any shape clients send;
- :mod:`.validation`: errors and warnings, typed values, Erlang points;
- :mod:`.templates`: named templates, a lab's own first.

Names are imported lazily: the simulator's command line checks every config with
:mod:`.validation` and should not pay for the template library.
"""

from __future__ import annotations

from fusion_jupyter._lazy import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from fusion_jupyter.engine.config.ini import (
        Config,
        check_values_safe,
        flush_to_disk,
        make_durable,
        parse_ini,
        render_ini,
        write_frozen,
    )
    from fusion_jupyter.engine.config.overrides import merge, normalize_overrides
    from fusion_jupyter.engine.config.paths import DataPaths, names_a_file
    from fusion_jupyter.engine.config.schema import FUSION_NETWORKS, GENERAL, SCHEMA, SchemaEntry
    from fusion_jupyter.engine.config.templates import (
        SHIPPED_TEMPLATES_DIR,
        TemplateInfo,
        TemplateLibrary,
    )
    from fusion_jupyter.engine.config.validation import (
        MAX_ERLANG_POINTS,
        ValidationResult,
        erlang_points,
        general_values,
        typed,
        validate,
        validate_for,
    )

_EXPORTS = {
    "Config": "ini",
    "check_values_safe": "ini",
    "flush_to_disk": "ini",
    "make_durable": "ini",
    "parse_ini": "ini",
    "render_ini": "ini",
    "write_frozen": "ini",
    "merge": "overrides",
    "normalize_overrides": "overrides",
    "DataPaths": "paths",
    "names_a_file": "paths",
    "FUSION_NETWORKS": "schema",
    "GENERAL": "schema",
    "SCHEMA": "schema",
    "SchemaEntry": "schema",
    "SHIPPED_TEMPLATES_DIR": "templates",
    "TemplateInfo": "templates",
    "TemplateLibrary": "templates",
    "MAX_ERLANG_POINTS": "validation",
    "ValidationResult": "validation",
    "erlang_points": "validation",
    "general_values": "validation",
    "typed": "validation",
    "validate": "validation",
    "validate_for": "validation",
}

__all__ = [
    "FUSION_NETWORKS",
    "GENERAL",
    "MAX_ERLANG_POINTS",
    "SCHEMA",
    "SHIPPED_TEMPLATES_DIR",
    "Config",
    "DataPaths",
    "SchemaEntry",
    "TemplateInfo",
    "TemplateLibrary",
    "ValidationResult",
    "check_values_safe",
    "erlang_points",
    "flush_to_disk",
    "general_values",
    "make_durable",
    "merge",
    "names_a_file",
    "normalize_overrides",
    "parse_ini",
    "render_ini",
    "typed",
    "validate",
    "validate_for",
    "write_frozen",
]

__getattr__ = lazy_exports(__name__, _EXPORTS)
