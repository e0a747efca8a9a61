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


def test_molecule_actions_and_their_long_tasks_are_timed_and_passed_through(tmp_path):
    times = tmp_path / "times.tsv"
    # (line, seconds on the clock when it is read)
    timeline = [(MATRIX, 0), (action("create", "Executing"), 0), ("  \u2502 TASK [Boot the lab VM and wait\n", 1),
                ("  \u2502   for SSH (minutes)] ***\n", 1), ("  \u2502 TASK [Write the instance config]\n", 91),
                ("  \u2502 PLAY RECAP\n", 93), (action("create", "Executed: Successful"), 95),
                (action("side_effect", "Executing"), 100), (action("side_effect", "Executed: Successful"), 130),
                (action("verify", "Executing"), 130), ("  \u2502 TASK [short]\n", 131),
                (action("verify", "Executed: Successful"), 160),
                (action("side_effect", "Executing"), 200), (action("side_effect", "Executed: Failed"), 209)]
    ticks = iter([entry[1] for entry in timeline])
    out = io.StringIO()
    lines = [entry[0] for entry in timeline]
    stage_times.molecule("lab", str(times), lines, out, clock=lambda: next(ticks))
    assert out.getvalue() == "".join(lines)
    assert times.read_text().splitlines() == [
        "  molecule lab: create\t95\tok",
        "    molecule lab: create: Boot the lab VM and wait\t90\t",
        "  molecule lab: side_effect (the scenario's own)\t30\tok",
        "  molecule lab: verify\t30\tok",
        "  molecule lab: side_effect decommission.yml\t9\tFAILED",
    ]


def test_table_puts_each_stage_over_its_steps(tmp_path):
    times = tmp_path / "times.tsv"
    times.write_text("setup\t58\tok\n  lint: ruff\t4\tok\nlint\t300\tok\n  molecule lab: create\t95\tok\n"
                     "    molecule lab: create: Boot\t90\t\nunit\t61\tFAILED\nmolecule lab\t1500\tok\n"
                     "total\t1700\tFAILED\n")
    out = io.StringIO()
    stage_times.table(str(times), out)
    assert [line.split()[1:] for line in out.getvalue().splitlines()] == [
        ["stage", "wall", "result"], ["setup", "0:58", "ok"], ["lint", "5:00", "ok"], ["lint:", "ruff", "0:04", "ok"],
        ["unit", "1:01", "FAILED"], ["molecule", "lab", "25:00", "ok"], ["molecule", "lab:", "create", "1:35", "ok"],
        ["molecule", "lab:", "create:", "Boot", "1:30"],
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
