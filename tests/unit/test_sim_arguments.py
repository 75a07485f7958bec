"""The command line's arguments: read directly when plain, by argparse otherwise, and
always as argparse reads them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fusion_jupyter.sim import argparser, cli
from fusion_jupyter.sim.arguments import RunArgs, read_plain
from tests.support.fresh import run_fresh


def _by_argparse(argv: list[str], keys: set[str] | None = None) -> RunArgs | None:
    """What argparse reads (with every key's flag, or ``keys``'), or None where it exits."""
    try:
        return argparser.run_args(argparser.build_parser(keys).parse_args(argv))
    except SystemExit:
        return None


BASE = ["run_sim", "--config_path", "c.ini", "--run_id", "r"]
PLAIN = [
    BASE,
    [*BASE, "--k_paths", "4", "--output_dir", "out", "--progress_file", "p/q.jsonl"],
    [*BASE, "--fusion_root", "/opt/fusion", "--runner", "network_simulator"],
    [*BASE, "--dynamic_lps", "--max_iters", "1"],
    [*BASE, "--max_iters", "1", "--dynamic_lps"],
    [*BASE, "--dynamic_lps", "False", "--k_paths", "2"],
    [*BASE, "--k_paths", "2", "--k_paths", "3"],
    [*BASE, "--request_distribution", '{"100": 1.0}', "--network", "my net.txt"],
    [*BASE, "--output_dir", "", "--k_paths", "x y"],
    ["run_sim", "--run_id", "r", "--erlang_start", "5", "--config_path", "c.ini"],
]
NOT_PLAIN = [
    [],
    ["-h"],
    ["run"],
    ["run_sim"],
    [*BASE, "-h"],
    [*BASE, "--help"],
    [*BASE, "--he"],
    [*BASE, "--k_pat", "4"],
    [*BASE, "--k_paths=4"],
    [*BASE, "--e", "3"],
    [*BASE, "--k_pathz", "3"],
    [*BASE, "--k_paths"],
    [*BASE, "--k_paths", "-4"],
    [*BASE, "--k_paths", "--max_iters", "1"],
    [*BASE, "--dynamic_lps", "-1"],
    [*BASE, "--dynamic_lps", "--k_pat", "1"],
    [*BASE, "--runner", "elsewhere"],
    [*BASE, "--", "--k_paths", "4"],
    [*BASE, "extra"],
    ["run_sim", "--config_path", "c.ini"],
    ["run_sim", "--run_id", "r"],
]


@pytest.mark.parametrize("argv", PLAIN)
def test_a_plain_command_line_is_read_as_argparse_reads_it(argv):
    found = read_plain(argv)
    assert found is not None
    assert found == _by_argparse(argv) == _by_argparse(argv, argparser.named_keys(argv))


@pytest.mark.parametrize("argv", NOT_PLAIN)
def test_any_other_command_line_is_left_to_argparse(argv, capsys):
    assert read_plain(argv) is None
    if _by_argparse(argv) is None:
        with pytest.raises(SystemExit):
            cli.parse_args(argv)
    else:
        assert cli.parse_args(argv) == _by_argparse(argv)


TOKENS = [
    "--config_path", "--run_id", "--output_dir", "--progress_file", "--fusion_root",
    "--runner", "--k_paths", "--dynamic_lps", "--is_grooming_enabled", "--max_iters",
    "--k_pat", "--k_paths=2", "--", "-", "-h", "-1", "--nope", "run_sim",
    "network_simulator", "c.ini", "r", "4", "True", "", "a b", "x=y",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=10))
def test_whatever_the_plain_reader_reads_argparse_reads_alike(tokens):
    argv = [*BASE, *tokens]
    found = read_plain(argv)
    if found is not None:
        assert found == _by_argparse(argv)


def test_a_plain_command_line_imports_no_argparse():
    overrides, imported = run_fresh(
        "from fusion_jupyter.sim.cli import parse_args\n"
        f"print(parse_args({[*BASE, '--k_paths', '4', '--dynamic_lps']!r}).overrides)",
        "argparse",
    )
    assert overrides == "{'k_paths': '4', 'dynamic_lps': 'True'}"
    assert not imported


def _parsed(parser, argv, capsys) -> object:
    """What ``parser`` makes of ``argv``: its values (unset overrides left out), or its
    exit code and error line (the usage above it lists only the flags it was given)."""
    try:
        values = vars(parser.parse_args(argv))
    except SystemExit as exit:
        return exit.code, capsys.readouterr().err.splitlines()[-1]
    return {key: value for key, value in values.items() if value is not None}


@pytest.mark.parametrize(
    "flags",
    [
        ["--k_paths", "4", "--output_dir", "out"],
        ["--k_pat=4", "--erlang_start", "5", "--erlang_stop", "7"],
        ["--dynamic_lps", "--max_iters", "1"],
        ["--max_iters", "1", "--dynamic_lps", "False"],
        ["--e", "3"],  # ambiguous
        ["--k_pathz", "3"],  # no such key
        ["--runner", "elsewhere"],
        ["--", "--k_paths", "4"],
    ],
)
def test_a_parser_with_the_named_keys_only_parses_as_the_whole_one(flags, capsys):
    """The command line builds flags only for the keys its arguments can name."""
    argv = ["run_sim", "--config_path", "c.ini", "--run_id", "r", *flags]
    whole = _parsed(argparser.build_parser(), argv, capsys)
    assert _parsed(argparser.build_parser(argparser.named_keys(argv)), argv, capsys) == whole


def test_help_lists_every_key(capsys):
    for argv in (["run_sim", "-h"], ["run_sim", "--he"], ["-h"]):
        assert argparser.named_keys(argv) is None
    with pytest.raises(SystemExit):
        cli.main(["run_sim", "--help"])
    shown = capsys.readouterr().out
    assert all(f"--{key} " in shown for key in ("k_paths", "dynamic_lps", "erlang_start"))
    assert argparser.named_keys(["run_sim", "--config_path", "c.ini", "--run_id", "r"]) == set()
