"""The `omni` command line: its commands, and how it refuses to run without sources."""

from __future__ import annotations

import pytest

from orchestration.cli import EXIT_USAGE, build_parser, main


def test_omni_offers_run_bench_and_sandbox():
    commands = build_parser()._subparsers._group_actions[0].choices
    assert {"run", "bench", "sandbox"} <= set(commands)


def test_run_without_sources_explains_how_to_get_them(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["run", "--sources", str(missing)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert str(missing) in err and "--generate-if-missing" in err
    assert not (tmp_path / "published").exists()


def test_sandbox_subcommands_come_from_the_sandbox_package():
    with pytest.raises(SystemExit) as exit_info:
        main(["sandbox", "generate", "--help"])
    assert exit_info.value.code == 0
