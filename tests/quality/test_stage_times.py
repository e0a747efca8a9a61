"""scripts/test's wall-time table (scripts/stage_times.py) and its stage options."""

import io
import os
import subprocess
import sys

from module_call import REPO

sys.path.insert(0, os.path.join(REPO, "scripts"))
import stage_times

# Molecule 26's lines, colours included, as scripts/test passes them through
MATRIX = ("\x1b[36mINFO    \x1b[0m \x1b[32mlab\x1b[0m \u279c \x1b[33mdiscovery\x1b[0m: scenario test matrix: destroy, "
          "create, side_effect, verify, side_effect decommission.yml, destroy\n")


def action(name, what):
    return "\x1b[36mINFO    \x1b[0m \x1b[32mlab\x1b[0m \u279c \x1b[33m%s\x1b[0m: \x1b[36m%s\x1b[0m\n" % (name, what)


def test_molecule_actions_are_timed_and_passed_through(tmp_path):
    times = tmp_path / "times.tsv"
    lines = [MATRIX, action("create", "Executing"), "  TASK [Boot]\n", action("create", "Executed: Successful"),
             action("side_effect", "Executing"), action("side_effect", "Executed: Successful"),
             action("verify", "Executing"), action("verify", "Executed: Successful"),
             action("side_effect", "Executing"), action("side_effect", "Executed: Failed")]
    ticks = iter([0, 95, 100, 130, 130, 160, 200, 209])
    out = io.StringIO()
    stage_times.molecule("lab", str(times), lines, out, clock=lambda: next(ticks))
    assert out.getvalue() == "".join(lines)
    assert times.read_text().splitlines() == [
        "  molecule lab: create\t95\tok",
        "  molecule lab: side_effect (the scenario's own)\t30\tok",
        "  molecule lab: verify\t30\tok",
        "  molecule lab: side_effect decommission.yml\t9\tFAILED",
    ]


def test_table_puts_each_stage_over_its_steps(tmp_path):
    times = tmp_path / "times.tsv"
    times.write_text("setup\t58\tok\n  lint: ruff\t4\tok\nlint\t300\tok\n  molecule lab: create\t95\tok\n"
                     "unit\t61\tFAILED\nmolecule lab\t1500\tok\ntotal\t1700\tFAILED\n")
    out = io.StringIO()
    stage_times.table(str(times), out)
    assert [line.split()[1:] for line in out.getvalue().splitlines()] == [
        ["stage", "wall", "result"], ["setup", "0:58", "ok"], ["lint", "5:00", "ok"], ["lint:", "ruff", "0:04", "ok"],
        ["unit", "1:01", "FAILED"], ["molecule", "lab", "25:00", "ok"], ["molecule", "lab:", "create", "1:35", "ok"],
        ["total", "28:20", "FAILED"]]


def test_scripts_test_refuses_an_unknown_stage_or_scenario():
    for argv in (["--stage", "everything"], ["--scenario", "nowhere"]):
        proc = subprocess.run([os.path.join(REPO, "scripts", "test")] + argv, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=60, check=False)
        assert proc.returncode == 2, proc.stdout
        assert "unknown" in proc.stdout and argv[1] in proc.stdout


def test_scripts_test_help_names_the_stages():
    proc = subprocess.run([os.path.join(REPO, "scripts", "test"), "--help"], stdout=subprocess.PIPE,
                          universal_newlines=True, timeout=60, check=True)
    for word in ("--stage unit", "--stage component -k ovs", "--scenario lab", "setup", "lint", "molecule"):
        assert word in proc.stdout, word
