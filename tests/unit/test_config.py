"""Templates, overrides, validation and the frozen config file (fusion_jupyter.engine.config)."""

from __future__ import annotations

import configparser
import json
import os
import random
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fusion_jupyter.engine import config as cfg
from fusion_jupyter.engine.errors import Conflict, NotFound, Problem, ValidationFailed
from tests.support.fusion_source import FUSION_SOURCE

TEMPLATE_MIX = {"25": 0.10, "50": 0.10, "100": 0.50, "200": 0.20, "400": 0.10}

SHARED_VALUES = {
    ("general_settings", "holding_time"): "0.2",
    ("general_settings", "guard_slots"): "1",
    ("general_settings", "max_segments"): "4",
    ("general_settings", "print_step"): "15",
    ("general_settings", "save_step"): "10",
    ("general_settings", "mod_assumption"): "DEFAULT",
    ("spectrum_settings", "c_band"): "320",
    ("general_settings", "allocation_method"): "first_fit",
    ("topology_settings", "cores_per_link"): "3",
    ("topology_settings", "network"): "NSFNet",
    ("topology_settings", "bw_per_slot"): "12.5",
    ("general_settings", "route_method"): "k_shortest_path",
    ("general_settings", "is_grooming_enabled"): "False",
    ("snr_settings", "snr_recheck"): "False",
    ("snr_settings", "snr_type"): "None",
}

TEMPLATE_VALUES = {
    "minimal": {
        ("general_settings", "erlang_start"): "300",
        ("general_settings", "erlang_stop"): "500",
        ("general_settings", "erlang_step"): "100",
        ("general_settings", "max_iters"): "2",
        ("general_settings", "num_requests"): "100",
        ("routing_settings", "k_paths"): "3",
        ("rl_settings", "is_training"): "False",
    },
    "default": {
        ("general_settings", "erlang_start"): "300",
        ("general_settings", "erlang_stop"): "1200",
        ("general_settings", "erlang_step"): "300",
        ("general_settings", "max_iters"): "4",
        ("general_settings", "num_requests"): "500",
        ("routing_settings", "k_paths"): "4",
        ("rl_settings", "is_training"): "True",
    },
}

FUSION_SECTIONS = [
    "general_settings",
    "topology_settings",
    "routing_settings",
    "spectrum_settings",
    "snr_settings",
    "file_settings",
    "ml_settings",
    "rl_settings",
]


@pytest.fixture(scope="module")
def library() -> cfg.TemplateLibrary:
    return cfg.TemplateLibrary()


@pytest.fixture
def minimal(library: cfg.TemplateLibrary) -> cfg.Config:
    return library.load("minimal")


def with_overrides(base: cfg.Config, overrides: dict[str, Any]) -> cfg.Config:
    return cfg.merge(base, overrides)


def problems_at(problems: list[Problem], section: str, key: str) -> list[str]:
    return [p.message for p in problems if (p.section, p.key) == (section, key)]


# --------------------------------------------------------------------------- templates


def test_shipped_templates_are_listed_with_their_descriptions(library):
    infos = {info.name: info for info in library.list()}
    assert {"minimal", "default"} <= set(infos)
    assert infos["minimal"].description.startswith("Quick check on NSFNet")
    assert infos["default"].description.startswith("FUSION's default")
    assert infos["minimal"].path == cfg.SHIPPED_TEMPLATES_DIR / "minimal.ini"
    assert infos["minimal"].to_dict() == {
        "name": "minimal",
        "description": infos["minimal"].description,
        "path": str(cfg.SHIPPED_TEMPLATES_DIR / "minimal.ini"),
    }
    assert [i.name for i in library.list()] == sorted(infos)


@pytest.mark.parametrize("name", ["minimal", "default"])
def test_templates_validate_clean_and_hold_the_spec_values(library, name):
    config = library.load(name)
    result = cfg.validate(config)
    assert result.errors == []
    assert result.warnings == []
    assert list(config) == FUSION_SECTIONS
    for (section, key), value in {**SHARED_VALUES, **TEMPLATE_VALUES[name]}.items():
        assert config[section][key] == value, f"{name}: {section}.{key}"
    assert json.loads(config["general_settings"]["request_distribution"]) == TEMPLATE_MIX
    # FUSION's spectrum module reads guard_slots from here last: it must match.
    assert config["spectrum_settings"]["guard_slots"] == "1"


def test_templates_start_with_their_description_line(library):
    for info in library.list():
        first = library.text(info.name).splitlines()[0]
        assert first == f"# description: {info.description}"


@pytest.mark.parametrize("name", ["minimal", "default"])
def test_every_template_key_has_its_own_comment(library, name):
    text = library.text(name)
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if line and not line.startswith(("#", "[")):
            above = lines[number - 1]
            assert above.startswith("# "), f"{name}: no comment above {line!r}"
    described = library.describe(name)["sections"]
    assert described["routing_settings"]["k_paths"]["description"] == (
        "Candidate shortest paths tried per request."
    )
    assert all(entry["description"] for keys in described.values() for entry in keys.values())


def test_describe_gives_value_type_and_help(library):
    described = library.describe("default")
    assert described["name"] == "default"
    assert described["description"].startswith("FUSION's default")
    general = described["sections"]["general_settings"]
    assert general["erlang_start"] == {
        "value": "300",
        "type": "float",
        "description": "First traffic load to simulate, in Erlang.",
        "required": True,
    }
    assert general["num_requests"]["type"] == "int"
    assert general["request_distribution"]["type"] == "dict"
    assert general["request_distribution"]["required"] is False
    assert described["sections"]["rl_settings"]["is_training"]["type"] == "bool"
    assert described["sections"]["rl_settings"]["is_training"]["value"] == "True"
    assert described["sections"]["topology_settings"]["network"]["type"] == "str"
    assert list(described["sections"]) == FUSION_SECTIONS


def test_describe_guesses_types_of_unknown_keys_and_falls_back_to_schema_help(tmp_path):
    (tmp_path / "mine.ini").write_text(
        "# description: mine\n"
        "[general_settings]\n"
        "# first line of help\n"
        "# second line\n"
        "erlang_start = 10\n"
        "\n"
        "erlang_stop = 20\n"
        "[extra]\n"
        'a = None\nb = True\nc = 3\nd = 2.5\ne = {"x": 1}\nf = [1, 2]\ng = hello\nh =\ni = {oops\n'
    )
    described = cfg.TemplateLibrary([tmp_path]).describe("mine")
    general = described["sections"]["general_settings"]
    assert general["erlang_start"]["description"] == "first line of help second line"
    # A blank line breaks "directly above": the schema's own description is used.
    assert general["erlang_stop"]["description"] == "Last traffic load (included), in Erlang."
    types = {key: entry["type"] for key, entry in described["sections"]["extra"].items()}
    assert types == {
        "a": "none",
        "b": "bool",
        "c": "int",
        "d": "float",
        "e": "json",
        "f": "json",
        "g": "str",
        "h": "str",
        "i": "str",
    }
    assert described["sections"]["extra"]["c"]["description"] == ""


def test_user_directories_come_first_and_shadow_shipped_templates(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "minimal.ini").write_text("# description: my minimal\n[general_settings]\nx = 1\n")
    (second / "minimal.ini").write_text("# description: hidden\n[general_settings]\nx = 2\n")
    (second / "extra.ini").write_text("[general_settings]\nx = 3\n")
    (second / "notes.txt").write_text("not a template")
    library = cfg.TemplateLibrary([first, str(second), tmp_path / "missing"])
    infos = {info.name: info for info in library.list()}
    assert set(infos) == {"blocking", "default", "extra", "minimal"}
    assert infos["minimal"].description == "my minimal"
    assert infos["minimal"].path == first / "minimal.ini"
    assert infos["extra"].description == ""
    assert library.load("minimal") == {"general_settings": {"x": "1"}}
    assert library.get("default").path == cfg.SHIPPED_TEMPLATES_DIR / "default.ini"
    assert library.search_path[-1] == cfg.SHIPPED_TEMPLATES_DIR


def test_unknown_template_is_not_found_and_lists_what_exists(library):
    with pytest.raises(NotFound) as caught:
        library.get("nope")
    assert "'nope'" in caught.value.message
    assert "blocking, default, minimal" in caught.value.message
    assert caught.value.details == {
        "template": "nope",
        "available": ["blocking", "default", "minimal"],
    }


@pytest.mark.parametrize("name", ["", "../etc/passwd", "a/b", "..", ".hidden", "x y", "a\x00b"])
def test_template_names_that_are_not_plain_are_refused(library, name):
    with pytest.raises(ValidationFailed) as caught:
        library.get(name)
    assert caught.value.problems[0].section == "template"
    assert "not a template name" in caught.value.problems[0].message


def test_a_broken_user_template_names_itself(tmp_path):
    (tmp_path / "broken.ini").write_text("[general_settings]\nkey = 1\nkey = 2\n")
    with pytest.raises(ValidationFailed) as caught:
        cfg.TemplateLibrary([tmp_path]).load("broken")
    assert "template 'broken'" in caught.value.message
    assert caught.value.problems[0] == Problem(
        "general_settings", "key", "key given twice (line 3)"
    )


# --------------------------------------------------------------------------- parse_ini


def test_parse_ini_keeps_raw_strings_case_and_order():
    text = "[b]\nZeta = 50%\nalpha = %(x)s\n[a]\nk = v ; not a comment\n"
    assert cfg.parse_ini(text) == {
        "b": {"Zeta": "50%", "alpha": "%(x)s"},
        "a": {"k": "v ; not a comment"},
    }
    assert list(cfg.parse_ini(text)) == ["b", "a"]
    assert list(cfg.parse_ini(text)["b"]) == ["Zeta", "alpha"]


def test_parse_ini_keeps_a_default_section_as_an_ordinary_one():
    parsed = cfg.parse_ini("[DEFAULT]\nx = 1\n[a]\ny = 2\n")
    assert parsed == {"DEFAULT": {"x": "1"}, "a": {"y": "2"}}
    errors = cfg.validate(parsed).errors
    assert problems_at(errors, "DEFAULT", "") == ["[DEFAULT] would apply its keys to every section"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key = 1\n", Problem("", "", "line 1: a key before any [section] header")),
        ("[a]\n[a]\n", Problem("a", "", "section given twice (line 2)")),
        ("[a]\nx = 1\nx = 2\n", Problem("a", "x", "key given twice (line 3)")),
        ("[a]\njust words\n", Problem("", "", "line 2: cannot read 'just words'")),
    ],
)
def test_parse_ini_errors_are_validation_problems(text, expected):
    with pytest.raises(ValidationFailed) as caught:
        cfg.parse_ini(text)
    assert caught.value.problems == [expected]


# --------------------------------------------------------------------------- validation


RANGE_CASES = [
    ("general_settings", "erlang_start", "-1", "greater than 0"),
    ("general_settings", "erlang_start", "0", "greater than 0"),
    ("general_settings", "erlang_start", "abc", "must be a number"),
    ("general_settings", "erlang_start", "nan", "finite"),
    ("general_settings", "erlang_start", "1e308", "at most 1e+07"),
    ("general_settings", "erlang_stop", "200", "at least erlang_start (300)"),
    ("general_settings", "erlang_step", "0", "greater than 0"),
    ("general_settings", "erlang_step", "-100", "greater than 0"),
    ("general_settings", "erlang_step", "0.001", "more than 10000 traffic loads"),
    ("general_settings", "erlang_step", "1e-308", "more than 10000 traffic loads"),
    ("general_settings", "max_iters", "0", "between 1 and"),
    ("general_settings", "max_iters", "2.5", "whole number"),
    ("general_settings", "num_requests", "0", "between 1 and"),
    ("general_settings", "holding_time", "0", "between 1e-06 and"),
    ("general_settings", "holding_time", "1e-320", "makes no progress"),
    ("general_settings", "guard_slots", "-1", "between 0 and"),
    ("general_settings", "max_segments", "0", "between 1 and"),
    ("general_settings", "print_step", "0", "between 1 and"),
    ("general_settings", "save_step", "0", "between 1 and"),
    ("routing_settings", "k_paths", "0", "between 1 and"),
    ("spectrum_settings", "c_band", "0", "between 1 and"),
    ("topology_settings", "cores_per_link", "0", "between 1 and"),
    ("topology_settings", "bw_per_slot", "0", "greater than 0"),
    ("topology_settings", "network", "Atlantis", "unknown network 'Atlantis'"),
    ("topology_settings", "network", "topo.txt", "a topology file's path"),
    ("topology_settings", "network", "/etc/shadow", "outside the directories"),
    ("snr_settings", "phi", '{"QPSK": "high"}', "must be numbers"),
    ("snr_settings", "requested_xt", "[1, 2]", "must be a dictionary"),
    ("snr_settings", "phi", "{" * 5000 + "}" * 5000, "nested more than 16 levels"),
]


@pytest.mark.parametrize(("section", "key", "value", "expected"), RANGE_CASES)
def test_each_rule_refuses_a_bad_value(minimal, section, key, value, expected):
    result = cfg.validate(with_overrides(minimal, {section: {key: value}}))
    messages = problems_at(result.errors, section, key)
    assert len(messages) == 1, result.errors
    assert expected in messages[0]
    assert not result.valid


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("general_settings", "guard_slots", "0"),
        ("general_settings", "max_iters", "1"),
        ("general_settings", "erlang_stop", "300"),
        ("general_settings", "erlang_start", "0.5"),
        ("general_settings", "erlang_step", "0.5"),
        ("routing_settings", "k_paths", "1"),
        ("topology_settings", "cores_per_link", "7"),
        ("rl_settings", "is_training", "True"),
        ("general_settings", "num_requests", "1000"),
    ],
)
def test_boundary_values_are_accepted(minimal, section, key, value):
    overrides = {section: {key: value}}
    if key == "guard_slots":
        overrides["spectrum_settings"] = {"guard_slots": value}
    result = cfg.validate(with_overrides(minimal, overrides))
    assert result.errors == []


@pytest.mark.parametrize(
    ("value", "as_fusion_reads_it", "warned"),
    [
        ("True", True, False),
        ("true", True, False),
        ("yes", True, False),
        ("1", True, False),
        ("False", False, False),
        ("no", False, False),
        ("0", False, False),
        ("maybe", False, True),
        ("'request'", False, True),
    ],
)
def test_booleans_read_as_fusion_reads_them(minimal, value, as_fusion_reads_it, warned):
    config = with_overrides(minimal, {"rl_settings.is_training": value})
    result = cfg.validate(config)
    assert result.errors == []
    assert cfg.typed(config)["is_training"] is as_fusion_reads_it
    messages = problems_at(result.warnings, "rl_settings", "is_training")
    assert bool(messages) is warned
    if warned:
        assert messages == [f"FUSION reads {value!r} as False (only true, yes and 1 are True)"]


@pytest.mark.parametrize(
    ("l_band", "bw_per_slot", "c_band", "warned"),
    [
        ("57", "112.5", "10", False),
        ("58", "112.5", "10", True),  # 6,525 GHz: past the C band's start, 6,508 GHz up
        ("520", "12.5", "320", False),
        ("521", "12.5", "320", True),
        ("100", "112.5", "0", False),  # no C band to overlap
    ],
)
def test_an_l_band_reaching_into_the_c_band_is_a_warning(
    minimal, l_band, bw_per_slot, c_band, warned
):
    """FUSION runs such a config until lightpaths of the two bands overlap, which
    depends on the traffic: a warning, not an error."""
    overrides = {
        "spectrum_settings.l_band": l_band,
        "spectrum_settings.c_band": c_band,
        "topology_settings.bw_per_slot": bw_per_slot,
    }
    result = cfg.validate(with_overrides(minimal, overrides))
    messages = problems_at(result.warnings, "spectrum_settings", "l_band")
    assert bool(messages) is warned
    if warned:
        (message,) = messages
        assert message.startswith(f"the L band ({l_band} slots of {float(bw_per_slot):g} GHz)")
        assert "over the C band, which starts at 191.693 THz" in message
        assert "FUSION's multi-band GSNR raises 'math domain error'" in message


def test_network_may_be_a_topology_file_in_an_allowed_directory(minimal, tmp_path):
    topology = tmp_path / "net.txt"
    topology.write_text("0\t1\t100\n")
    allowed = cfg.DataPaths(allowed=(tmp_path,))
    ok = with_overrides(minimal, {"topology_settings.network": str(topology)})
    assert cfg.validate(ok, allowed).valid
    missing = with_overrides(minimal, {"topology_settings.network": str(tmp_path / "nope.txt")})
    assert problems_at(cfg.validate(missing, allowed).errors, "topology_settings", "network") == [
        f"{str(tmp_path / 'nope.txt')!r} is not a file"
    ]
    # Outside the allowed directories, existence is never revealed.
    for outside in ("/etc/shadow", "/nonexistent/x.txt", str(tmp_path / ".." / "x")):
        config = with_overrides(minimal, {"topology_settings.network": outside})
        (message,) = problems_at(
            cfg.validate(config, allowed).errors, "topology_settings", "network"
        )
        assert message.endswith(
            "is outside the directories configs may read files from "
            "(FUSION's root and c.FusionJupyter.data_paths)"
        )


def test_a_sibling_sharing_the_prefix_or_a_link_out_is_outside(minimal, tmp_path):
    """Confinement compares whole path components of resolved paths (os.path, as the
    simulator's start-up does without pathlib)."""
    allowed, sibling = tmp_path / "data", tmp_path / "database"
    for directory in (allowed, sibling):
        directory.mkdir()
        (directory / "net.txt").write_text("0\t1\t100\n")
    (allowed / "link.txt").symlink_to(sibling / "net.txt")
    paths = cfg.DataPaths(allowed=(allowed,))
    verdicts = {}
    for name in ("data/net.txt", "database/net.txt", "data/link.txt", "data/../data/net.txt"):
        config = with_overrides(minimal, {"topology_settings.network": str(tmp_path / name)})
        verdicts[name] = problems_at(
            cfg.validate(config, paths).errors, "topology_settings", "network"
        )
    assert verdicts["data/net.txt"] == verdicts["data/../data/net.txt"] == []
    for name in ("database/net.txt", "data/link.txt"):
        assert "is outside the directories" in verdicts[name][0], name
    inside = str(allowed / "net.txt")
    assert cfg.DataPaths(allowed=("/",)).locate(inside) == (os.path.realpath(inside), None)


@pytest.mark.parametrize(
    ("path", "root"),
    [("/a/b", "/a"), ("/a", "/a"), ("/ab", "/a"), ("/a", "/a/b"), ("/", "/"), ("/x", "/")],
)
def test_within_is_pathlibs_is_relative_to(path, root):
    from fusion_jupyter.engine.config.paths import _within

    assert _within(path, root) == Path(path).is_relative_to(root)


def test_fusion_takes_only_its_named_networks(minimal, tmp_path):
    topology = tmp_path / "net.txt"
    topology.write_text("0\t1\t100\n")
    fusion = cfg.DataPaths(allowed=(tmp_path,), topology_files=False)
    for name in cfg.FUSION_NETWORKS:
        config = with_overrides(minimal, {"topology_settings.network": name})
        assert cfg.validate(config, fusion).valid, name
    config = with_overrides(minimal, {"topology_settings.network": str(topology)})
    (message,) = problems_at(cfg.validate(config, fusion).errors, "topology_settings", "network")
    assert message.startswith(f"Unknown network name: '{topology}' (FUSION's networks: USNet")


def test_modulation_file_resolves_against_fusion_root_and_stays_inside(minimal, tmp_path):
    root = tmp_path / "fusion"
    (root / "data").mkdir(parents=True)
    (root / "data" / "mods.json").write_text("{}")
    paths = cfg.DataPaths(fusion_root=root)

    def errors_for(value: str) -> list[str]:
        config = with_overrides(minimal, {"general_settings.mod_assumption_path": value})
        return problems_at(
            cfg.validate(config, paths).errors, "general_settings", "mod_assumption_path"
        )

    assert errors_for("data/mods.json") == []
    assert errors_for(str(root / "data" / "mods.json")) == []
    assert errors_for("data/other.json") == ["'data/other.json' is not a file"]
    assert "outside the directories" in errors_for("../../../etc/passwd")[0]
    # Without FUSION's root a relative path is the simulator's to resolve.
    config = with_overrides(minimal, {"general_settings.mod_assumption_path": "data/x.json"})
    assert cfg.validate(config).errors == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("not json", "must be a dictionary"),
        ('["25"]', "must be a dictionary"),
        ("{}", "at least one bandwidth"),
        ('{"25": 0.5, "50": 0.4}', "must sum to 1, they sum to 0.9"),
        ('{"25": 0.5, "50": 0.5000001}', "must sum to 1"),
        ('{"25": 1.5, "50": -0.5}', "share of 50 must be a number from 0 to 1"),
        ('{"25": true}', "must be a dictionary"),
        ("{'25': True}", "share of 25 must be a number from 0 to 1"),
        ('{"25": "1"}', "share of 25 must be a number from 0 to 1"),
        ("{'25': 1, 25: 0}", "bandwidth 25 must be a positive whole number"),
        ('{"abc": 1}', "bandwidth 'abc' must be a positive whole number"),
        ('{"0": 1}', "bandwidth '0' must be a positive whole number"),
        ('{"-25": 1}', "bandwidth '-25' must be a positive whole number"),
        ('{"2.5": 1}', "bandwidth '2.5' must be a positive whole number"),
        ('{"25": float("nan")}', "must be a dictionary"),
        ('{"25": 1e999}', "infinite or NaN"),
    ],
)
def test_request_distribution_rules(minimal, value, expected):
    config = with_overrides(minimal, {"general_settings": {"request_distribution": value}})
    messages = problems_at(cfg.validate(config).errors, "general_settings", "request_distribution")
    assert len(messages) == 1
    assert expected in messages[0]


def test_request_distribution_tolerates_float_rounding(minimal):
    thirds = json.dumps({"100": 1 / 3, "200": 1 / 3, "400": 1 / 3})
    config = with_overrides(
        minimal, {"general_settings": {"request_distribution": thirds, "num_requests": 3}}
    )
    assert cfg.validate(config).errors == []


def test_num_requests_must_split_exactly_by_the_distribution(minimal):
    config = with_overrides(minimal, {"general_settings.num_requests": 105})
    messages = problems_at(cfg.validate(config).errors, "general_settings", "num_requests")
    assert len(messages) == 1
    assert "105 requests do not split exactly" in messages[0]
    assert "103 in all" in messages[0]
    assert "110 would" in messages[0]
    for good in (100, 110, 500, 1000):
        config = with_overrides(minimal, {"general_settings.num_requests": good})
        assert cfg.validate(config).errors == [], good


def test_all_problems_are_reported_at_once(minimal):
    config = with_overrides(
        minimal,
        {
            "general_settings": {"erlang_step": "0", "max_iters": "x", "holding_time": "-1"},
            "routing_settings.k_paths": "0",
            "rl_settings.is_training": "maybe",
            "topology_settings.network": "Nowhere",
            "mystery.key": "1",
        },
    )
    del config["spectrum_settings"]["c_band"]
    result = cfg.validate(config)
    where = {(p.section, p.key) for p in result.errors}
    assert where == {
        ("general_settings", "erlang_step"),
        ("general_settings", "max_iters"),
        ("general_settings", "holding_time"),
        ("routing_settings", "k_paths"),
        ("topology_settings", "network"),
        ("spectrum_settings", "c_band"),
    }
    assert [(p.section, p.key) for p in result.warnings] == [
        ("rl_settings", "is_training"),
        ("mystery", "key"),
    ]


def test_missing_required_keys_use_fusions_words(minimal):
    del minimal["general_settings"]["is_grooming_enabled"]
    del minimal["snr_settings"]["recheck_crossband"]
    del minimal["general_settings"]["request_distribution"]  # FUSION's loader: optional
    del minimal["routing_settings"]
    del minimal["rl_settings"]["is_training"]  # optional: FUSION treats it as False
    errors = {(p.section, p.key): p.message for p in cfg.validate(minimal).errors}
    assert errors == {
        ("general_settings", "is_grooming_enabled"): "Missing required option "
        "'is_grooming_enabled' in section [general_settings] (FUSION refuses the file without it)",
        ("snr_settings", "recheck_crossband"): "Missing required option 'recheck_crossband' in "
        "section [snr_settings] (FUSION refuses the file without it)",
        ("general_settings", "request_distribution"): "required: FUSION fails with KeyError "
        "when it generates requests",
        ("routing_settings", "k_paths"): "required: FUSION fails with KeyError when it routes",
    }


def test_a_config_without_general_settings_is_refused_as_fusion_refuses_it():
    errors = cfg.validate({"topology_settings": {"network": "NSFNet"}}).errors
    assert errors[0] == Problem(
        "general_settings",
        "",
        "Missing required 'general_settings' section in config file (FUSION refuses the file)",
    )


def test_unknown_keys_and_sections_are_warnings_that_say_what_fusion_does(minimal):
    config = with_overrides(
        minimal,
        {
            "general_settings": {"my_note": "hello", "k_paths": "5"},
            "routing_settings": {"route_method": "least_congested"},
            "s2": {"erlang_start": "1"},
            "notes": {"who": "me"},
        },
    )
    result = cfg.validate(config)
    assert result.errors == []
    by_key = {(p.section, p.key): p.message for p in result.warnings}
    assert by_key == {
        ("general_settings", "my_note"): "not a key FUSION reads in [general_settings]; ignored",
        ("general_settings", "k_paths"): "not a key FUSION reads in [general_settings]; ignored "
        "(it reads k_paths from [routing_settings])",
        ("routing_settings", "route_method"): "is 'least_congested' but FUSION uses "
        "general_settings.route_method = 'k_shortest_path'; set both alike",
        ("s2", ""): "FUSION runs [s2] as a further simulation process with these keys over "
        "the others'",
        ("notes", "who"): "FUSION does not read section [notes]; ignored",
    }


def test_percent_signs_in_keys_fusion_reads_are_refused(minimal):
    config = with_overrides(
        minimal,
        {"general_settings.mod_assumption_path": "data/50%/m.json", "notes.text": "100%"},
    )
    result = cfg.validate(config)
    assert problems_at(result.errors, "general_settings", "mod_assumption_path") == [
        "contains '%', which FUSION's INI reader takes for an interpolation and refuses or changes"
    ]
    assert [(p.section, p.key) for p in result.errors] == [
        ("general_settings", "mod_assumption_path")
    ]


def test_validation_result_json_shape(minimal):
    config = with_overrides(minimal, {"routing_settings.k_paths": "0", "x.y": "1"})
    result = cfg.validate(config)
    assert result.to_dict() == {
        "valid": False,
        "errors": [
            {
                "section": "routing_settings",
                "key": "k_paths",
                "message": "must be between 1 and 1000 (paths), got 0",
            }
        ],
        "warnings": [
            {"section": "x", "key": "y", "message": "FUSION does not read section [x]; ignored"}
        ],
    }


# --------------------------------------------------------------------------- typed


def test_typed_flattens_known_keys_to_python_values(library):
    values = cfg.typed(library.load("default"))
    assert values["erlang_start"] == 300.0
    assert isinstance(values["erlang_start"], float)
    assert values["num_requests"] == 500
    assert isinstance(values["num_requests"], int)
    assert values["k_paths"] == 4
    assert values["is_training"] is True
    assert values["const_link_weight"] is False
    assert values["request_distribution"] == TEMPLATE_MIX
    assert values["guard_slots"] == 1
    assert values["network"] == "NSFNet"
    assert values["snr_type"] == "None"
    assert values["phi"]["QPSK"] == 1
    assert "general_settings" not in values


def test_typed_fills_defaults_for_absent_optional_keys(minimal):
    del minimal["rl_settings"]["is_training"]
    del minimal["spectrum_settings"]["guard_slots"]
    del minimal["ml_settings"]["test_size"]
    values = cfg.typed(minimal)
    assert values["is_training"] is False
    assert values["guard_slots"] == 1  # from general_settings, not the absent duplicate
    assert values["test_size"] is None
    assert set(values) == {entry.key for entry in cfg.SCHEMA}


def test_typed_refuses_an_invalid_config_with_every_error(minimal):
    config = with_overrides(
        minimal, {"routing_settings.k_paths": "0", "general_settings.max_iters": "0"}
    )
    with pytest.raises(ValidationFailed) as caught:
        cfg.typed(config)
    assert {(p.section, p.key) for p in caught.value.problems} == {
        ("routing_settings", "k_paths"),
        ("general_settings", "max_iters"),
    }


# --------------------------------------------------------------------------- erlang points


def test_erlang_points_of_the_templates(library):
    assert cfg.erlang_points(library.load("minimal")) == [300.0, 400.0, 500.0]
    default = library.load("default")
    assert cfg.erlang_points(default) == [300.0, 600.0, 900.0, 1200.0]
    assert cfg.erlang_points(cfg.typed(default)) == [300.0, 600.0, 900.0, 1200.0]
    assert all(isinstance(point, float) for point in cfg.erlang_points(default))


@pytest.mark.parametrize(
    ("start", "stop", "step", "expected"),
    [
        (0.1, 0.3, 0.1, [0.1, 0.2, 0.3]),
        (0.1, 0.7, 0.1, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]),
        (100, 100, 50, [100.0]),
        (100, 149, 50, [100.0]),
        (100, 150, 50, [100.0, 150.0]),
        (1, 2, 0.25, [1.0, 1.25, 1.5, 1.75, 2.0]),
    ],
)
def test_erlang_points_include_stop_without_float_drift(start, stop, step, expected):
    flat = {"erlang_start": start, "erlang_stop": stop, "erlang_step": step}
    assert cfg.erlang_points(flat) == expected
    nested = {"general_settings": {key: str(value) for key, value in flat.items()}}
    assert cfg.erlang_points(nested) == expected


def test_erlang_points_refuse_a_bad_range():
    with pytest.raises(ValidationFailed) as caught:
        cfg.erlang_points({"erlang_start": 500, "erlang_stop": 300, "erlang_step": 0})
    assert {(p.key, p.message) for p in caught.value.problems} == {
        ("erlang_step", "must be greater than 0 and at most 1e+07 (a load in Erlang), got 0"),
    }
    with pytest.raises(ValidationFailed) as caught:
        cfg.erlang_points({"erlang_start": 500, "erlang_stop": 300, "erlang_step": 10})
    assert caught.value.problems[0].key == "erlang_stop"
    with pytest.raises(ValidationFailed) as caught:
        cfg.erlang_points({"erlang_start": 1, "erlang_stop": 1e6, "erlang_step": 1})
    assert "at most 10000" in caught.value.problems[0].message
    with pytest.raises(ValidationFailed) as caught:
        cfg.erlang_points({"erlang_stop": 3})
    assert {p.key for p in caught.value.problems} == {"erlang_start", "erlang_step"}


# --------------------------------------------------------------------------- overrides


def test_nested_flat_and_mixed_overrides_become_ini_strings():
    normalized = cfg.normalize_overrides(
        {
            "general_settings": {"max_iters": 4, "holding_time": 0.25, "erlang_start": 300.0},
            "routing_settings.k_paths": np.int64(2),
            "rl_settings.is_training": True,
            "snr_settings": {"snr_type": None, "xt_noise": np.bool_(False)},
            "general_settings.request_distribution": {"100": 0.5, "400": 0.5},
            "extra.values": [1, 2.5, "a"],
            "extra.text": "as is",
        }
    )
    assert normalized == {
        "general_settings": {
            "max_iters": "4",
            "holding_time": "0.25",
            "erlang_start": "300.0",
            "request_distribution": '{"100":0.5,"400":0.5}',
        },
        "routing_settings": {"k_paths": "2"},
        "rl_settings": {"is_training": "True"},
        "snr_settings": {"snr_type": "None", "xt_noise": "False"},
        "extra": {"values": '[1,2.5,"a"]', "text": "as is"},
    }


@pytest.mark.parametrize(
    ("overrides", "section", "key", "expected"),
    [
        ({"a.b": object()}, "a", "b", "must be a string, number, boolean"),
        ({"a.b": {1, 2}}, "a", "b", "got set"),
        ({"a.b": float("nan")}, "a", "b", "finite"),
        ({"a.b": float("inf")}, "a", "b", "finite"),
        ({"a.b": {"x": float("nan")}}, "a", "b", "cannot be written as JSON"),
        ({"a.b": [object()]}, "a", "b", "cannot be written as JSON"),
        ({"a.b.c": 1}, "a", "b.c", "key name 'b.c'"),
        ({"a b": {"k": 1}}, "a b", "", "section name 'a b'"),
        ({"a": {"k=v": 1}}, "a", "k=v", "key name 'k=v'"),
        ({"a": {"": 1}}, "a", "", "key name ''"),
        ({"1a.b": 1}, "1a", "", "section name '1a'"),
        ({"DEFAULT": {"k": 1}}, "DEFAULT", "", "every section"),
        ({"k_paths": 3}, "k_paths", "", "expected {section: {key: value}}"),
        ({"a.b": "x\ny"}, "a", "b", "line feed"),
        ({"a.b": " x"}, "a", "b", "leading or trailing whitespace"),
    ],
)
def test_overrides_that_cannot_be_written_are_refused(overrides, section, key, expected):
    with pytest.raises(ValidationFailed) as caught:
        cfg.normalize_overrides(overrides)
    assert len(caught.value.problems) == 1
    problem = caught.value.problems[0]
    assert (problem.section, problem.key) == (section, key)
    assert expected in problem.message


def test_overrides_report_every_problem_and_conflicting_duplicates():
    with pytest.raises(ValidationFailed) as caught:
        cfg.normalize_overrides(
            {"a": {"k": 1, "bad key": 2}, "a.k": 2, "b.x": object(), "b": {"y": 1}}
        )
    assert {(p.section, p.key) for p in caught.value.problems} == {
        ("a", "bad key"),
        ("a", "k"),
        ("b", "x"),
    }
    # Saying the same thing twice is fine.
    assert cfg.normalize_overrides({"a": {"k": 1}, "a.k": "1"}) == {"a": {"k": "1"}}


def test_merge_returns_a_new_config_and_creates_unknown_sections(minimal):
    before = json.dumps(minimal)
    merged = cfg.merge(minimal, {"routing_settings": {"k_paths": 2}, "brand_new.key": "v"})
    assert json.dumps(minimal) == before
    assert merged["routing_settings"] == {"k_paths": "2"}
    assert merged["brand_new"] == {"key": "v"}
    assert list(merged)[-1] == "brand_new"
    assert list(merged["general_settings"]) == list(minimal["general_settings"])
    merged["general_settings"]["max_iters"] = "9"
    assert minimal["general_settings"]["max_iters"] == "2"


# --------------------------------------------------------------------------- injection


INJECTED_VALUES = [
    ("x\n[evil]\nkey=1", "line feed"),
    ("x\nkey2 = 1", "line feed"),
    ("a\rb", "carriage return"),
    ("a\r\n[evil]", "carriage return"),
    ("a\x00b", "NUL byte"),
    ("a\x0bb", "U+000B"),
    ("a\x0cb", "U+000C"),
    ("a\x1cb", "U+001C"),
    ("a\x85b", "U+0085"),
    ("a\u2028b", "U+2028"),
    ("a\u2029b", "U+2029"),
    ("a\ud800b", "U+D800"),
    (" leading", "leading or trailing whitespace"),
    ("trailing ", "leading or trailing whitespace"),
    ("\tx", "leading or trailing whitespace"),
    ("\xa0x", "leading or trailing whitespace"),
    ("   ", "leading or trailing whitespace"),
]


@pytest.mark.parametrize(("value", "expected"), INJECTED_VALUES)
def test_injected_values_are_refused_everywhere(minimal, tmp_path, value, expected):
    with pytest.raises(ValidationFailed) as caught:
        cfg.normalize_overrides({"general_settings": {"mod_assumption": value}})
    assert caught.value.problems[0].key == "mod_assumption"
    assert expected in caught.value.problems[0].message

    config = {
        **minimal,
        "general_settings": {**minimal["general_settings"], "mod_assumption": value},
    }
    messages = problems_at(cfg.validate(config).errors, "general_settings", "mod_assumption")
    assert any(expected in message for message in messages)
    with pytest.raises(ValidationFailed):
        cfg.check_values_safe(config)
    target = tmp_path / "config.ini"
    with pytest.raises(ValidationFailed):
        cfg.write_frozen(config, target)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("config", "section", "key", "expected"),
    [
        ({"a": {"k=v": "1"}}, "a", "k=v", "key name"),
        ({"a": {"k:v": "1"}}, "a", "k:v", "key name"),
        ({"a": {"k]": "1"}}, "a", "k]", "key name"),
        ({"a": {"[evil]": "1"}}, "a", "[evil]", "key name"),
        ({"a": {"": "1"}}, "a", "", "key name"),
        ({"a": {" k": "1"}}, "a", " k", "key name"),
        ({"a": {"#k": "1"}}, "a", "#k", "key name"),
        ({"a": {"= value": "1"}}, "a", "= value", "key name"),
        ({"a": {"k\nx": "1"}}, "a", "k\nx", "key name"),
        ({"a]b": {"k": "1"}}, "a]b", "", "section name"),
        ({"": {"k": "1"}}, "", "", "section name"),
        ({"x\n[y": {"k": "1"}}, "x\n[y", "", "section name"),
        ({"DEFAULT": {"k": "1"}}, "DEFAULT", "", "every section"),
        ({"a": {"k": 1}}, "a", "k", "must be a string, got int"),
        ({"a": {"Key": "1", "key": "2"}}, "a", "key", "only in case"),
        ({"a": "not a mapping"}, "a", "", "must map keys to values"),
    ],
)
def test_unsafe_names_are_refused(tmp_path, config, section, key, expected):
    with pytest.raises(ValidationFailed) as caught:
        cfg.check_values_safe(config)
    messages = problems_at(caught.value.problems, section, key)
    assert messages and expected in messages[0]
    assert problems_at(cfg.validate(config).errors, section, key)
    with pytest.raises(ValidationFailed):
        cfg.write_frozen(config, tmp_path / "config.ini")
    assert not (tmp_path / "config.ini").exists()


ODD_BUT_SAFE_VALUES = [
    "= value",
    "== x",
    ": colon",
    "k = v",
    "[not a section]",
    "# not a comment",
    "; not a comment",
    "a ; b # c",
    "50% and %(name)s and %%",
    "tab\tinside",
    "ünïcödé ✓ 光",
    '{"a": [1, 2], "b": "c = d"}',
    "",
    "None",
    "\\n literally",
    "trailing backslash \\",
    "x" * 10_000,
]


def test_odd_values_round_trip_exactly_through_the_frozen_file(minimal, tmp_path):
    extra = {f"v{index}": value for index, value in enumerate(ODD_BUT_SAFE_VALUES)}
    config = cfg.merge(minimal, {"odd": extra})
    target = tmp_path / "config.ini"
    cfg.write_frozen(config, target)
    text = target.read_text(encoding="utf-8")
    assert cfg.parse_ini(text) == config
    assert [(s, list(e.items())) for s, e in cfg.parse_ini(text).items()] == [
        (s, list(e.items())) for s, e in config.items()
    ]
    # FUSION reads with a stock ConfigParser (keys lowercased): values must match too.
    stock = configparser.RawConfigParser()
    stock.read_string(text)
    assert {s: dict(stock[s]) for s in stock.sections()} == config
    assert stat.S_IMODE(target.stat().st_mode) == 0o444
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.ini"]


def test_random_values_are_either_refused_or_round_trip_exactly(tmp_path):
    alphabet = "ab =:;#[]%\\\"'{}\t\n\r\x00\x0b\x85\xa0\u2028é "
    rng = random.Random(20260101)
    accepted = 0
    for index in range(400):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        try:
            normalized = cfg.normalize_overrides({"s": {"k": value}})
        except ValidationFailed:
            unsafe = any(ch in value for ch in "\n\r\x00\x0b\x85\u2028") or value != value.strip()
            assert unsafe, repr(value)
            continue
        accepted += 1
        target = tmp_path / f"c{index}.ini"
        cfg.write_frozen(normalized, target)
        assert cfg.parse_ini(target.read_text(encoding="utf-8")) == {"s": {"k": value}}
    assert accepted > 50


def test_render_ini_is_plain_fusion_ini(minimal):
    text = cfg.render_ini({"general_settings": {"a": "1", "b": ""}, "rl_settings": {"c": "x"}})
    assert text.splitlines()[2:] == [
        "[general_settings]",
        "a = 1",
        "b =",
        "",
        "[rl_settings]",
        "c = x",
    ]
    assert text.splitlines()[0].startswith("# ")
    assert text.splitlines()[1] == ""
    assert cfg.parse_ini(cfg.render_ini(minimal)) == minimal


def test_write_frozen_replaces_atomically_and_leaves_no_temporary_files(minimal, tmp_path):
    target = tmp_path / "config.ini"
    cfg.write_frozen(minimal, target)
    changed = cfg.merge(minimal, {"routing_settings.k_paths": 1})
    cfg.write_frozen(changed, target)  # over a read-only file, by rename
    assert cfg.parse_ini(target.read_text())["routing_settings"]["k_paths"] == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["config.ini"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o444


def test_write_frozen_removes_a_file_that_does_not_read_back(minimal, tmp_path, monkeypatch):
    target = tmp_path / "config.ini"
    from fusion_jupyter.engine.config import ini

    real_write = ini._write_atomically

    def corrupting_write(text: str, path: Path, *, durable: bool) -> None:
        real_write(text.replace("k_paths = 3", "k_paths = 4"), path, durable=durable)

    monkeypatch.setattr(ini, "_write_atomically", corrupting_write)
    with pytest.raises(ValidationFailed, match="did not read back as written"):
        cfg.write_frozen(minimal, target)
    assert not target.exists()


# --------------------------------------------------------------------------- FUSION's own


# FUSION's loader refuses these two templates of its own at commit 973983bc (they lack
# keys its SIM_REQUIRED_OPTIONS_DICT requires); every other template and fixture loads.
FUSION_REFUSES = {
    "policy_protection_example.ini": {
        ("general_settings", "route_method"),
        ("general_settings", "allocation_method"),
    },
    "survivability_experiment.ini": {
        ("general_settings", "is_grooming_enabled"),
        ("general_settings", "can_partially_serve"),
        ("general_settings", "transponder_usage_per_node"),
        ("general_settings", "blocking_type_ci"),
        ("general_settings", "route_method"),
        ("general_settings", "allocation_method"),
        ("snr_settings", "snr_recheck"),
        ("snr_settings", "recheck_adjacent_cores"),
        ("snr_settings", "recheck_crossband"),
    },
}


def fusion_configs() -> list[Path]:
    templates = sorted((FUSION_SOURCE / "fusion" / "configs" / "templates").glob("*.ini"))
    fixtures = sorted((FUSION_SOURCE / "tests" / "fixtures" / "expected_results").glob("*/*.ini"))
    return templates + fixtures


def test_fusions_source_is_beside_the_project():
    # shared/fusion is laid beside every checkout (CI included): its absence is a failure.
    assert len(fusion_configs()) == 7 + 21, FUSION_SOURCE


@pytest.mark.parametrize("path", fusion_configs(), ids=lambda p: p.name)
def test_fusions_own_configs_validate_or_are_refused_in_fusions_words(path):
    paths = cfg.DataPaths(fusion_root=FUSION_SOURCE, topology_files=False)
    result = cfg.validate(cfg.parse_ini(path.read_text()), paths)
    refused = FUSION_REFUSES.get(path.name, set())
    assert {(p.section, p.key) for p in result.errors} == refused, result.errors
    for problem in result.errors:
        assert problem.message.startswith(f"Missing required option '{problem.key}' in section")


def _fusion_schema_tables() -> dict[str, dict[str, set[str]]]:
    """FUSION's own SIM_REQUIRED_OPTIONS_DICT and OPTIONAL_OPTIONS_DICT, read from its source."""
    import ast

    tree = ast.parse((FUSION_SOURCE / "fusion" / "configs" / "schema.py").read_text())
    tables: dict[str, dict[str, set[str]]] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Dict):
            name = node.target.id  # type: ignore[union-attr]
            tables[name] = {
                section.value: {key.value for key in keys.keys}  # type: ignore[union-attr]
                for section, keys in zip(node.value.keys, node.value.values, strict=True)
            }
    return tables


def test_the_schema_is_fusions_loader_key_for_key():
    tables = _fusion_schema_tables()
    required = {
        (section, key)
        for section, keys in tables["SIM_REQUIRED_OPTIONS_DICT"].items()
        for key in keys
    }
    known = required | {
        (section, key) for section, keys in tables["OPTIONAL_OPTIONS_DICT"].items() for key in keys
    }
    assert {(e.section, e.key) for e in cfg.SCHEMA if e.required} == required
    assert {(e.section, e.key) for e in cfg.SCHEMA} == known


def test_a_saved_template_reads_back_and_never_shadows_by_accident(tmp_path, minimal):
    library = cfg.TemplateLibrary([tmp_path / "mine"])
    info = library.save("baseline", minimal, description="my baseline")
    assert info.path == tmp_path / "mine" / "baseline.ini"
    assert info.description == "my baseline"
    assert library.load("baseline") == minimal
    with pytest.raises(Conflict, match="exists"):
        library.save("baseline", minimal)
    with pytest.raises(Conflict):
        library.save("minimal", minimal)  # would shadow the shipped one
    library.save("minimal", minimal, replace=True)
    assert library.get("minimal").path.parent == tmp_path / "mine"
    with pytest.raises(ValidationFailed, match="not a template name"):
        library.save("x" * 101, minimal)
    with pytest.raises(ValidationFailed, match="templates_path"):
        cfg.TemplateLibrary().save("x", minimal)


def test_fusions_known_crash_is_refused_for_fusion_only():
    from fusion_jupyter.engine import simulators

    recheck = sorted(FUSION_SOURCE.glob("tests/fixtures/expected_results/*_snr_recheck/*.ini"))
    assert len(recheck) == 8
    for path in recheck:
        problems = simulators.validate("fusion", cfg.parse_ini(path.read_text()))
        assert [(p.section, p.key) for p in problems] == [("snr_settings", "snr_recheck")]
        assert "include_all_bands" in problems[0].message
    plain = cfg.parse_ini((FUSION_SOURCE / "fusion/configs/templates/minimal.ini").read_text())
    assert simulators.validate("fusion", plain) == []
    # least_congested: FUSION's router hands back path records; KeyError: 0 at once.
    plain["general_settings"]["route_method"] = "least_congested"
    (problem,) = simulators.validate("fusion", plain)
    assert (problem.section, problem.key) == ("general_settings", "route_method")
    assert "KeyError: 0" in problem.message


def test_the_string_tests_match_as_the_patterns_they_replace():
    """Names, bandwidths, process sections and unsafe characters are tested without
    compiling patterns (start-up); each test answers as its pattern does."""
    import re

    from fusion_jupyter.engine.config import ini, schema

    name, bandwidth = re.compile(r"[A-Za-z_][A-Za-z0-9_]*"), re.compile(r"[1-9][0-9]*")
    process, unsafe = re.compile(r"s\d"), re.compile(ini._UNSAFE_CHARS)
    alphabet = "sS_a9Z0 1\t\n\x00\x1f\x7f\x85\xa0\u2028\u2029\ud800é\u0663\xb2\u2177\U0001d7d9-:"
    rng = random.Random(7)
    texts = ["", "s", "s1", "s\u0663", "s\xb2", "0", "00", "100", "0100", "_x", "9a", "class"]
    texts += ["".join(rng.choices(alphabet, k=rng.randint(1, 6))) for _ in range(20_000)]
    for text in texts:
        assert (ini.name_problem("s", "k", text, "key") is None) == bool(name.fullmatch(text))
        assert schema._is_bandwidth(text) == bool(bandwidth.fullmatch(text))
        assert schema.is_process_section(text) == bool(process.match(text))
        problem = ini.value_problem("s", "k", text)
        found = unsafe.search(text)
        if found:
            assert problem is not None and f"U+{ord(found.group()):04X}" in problem.message
        elif text == text.strip():
            assert problem is None
