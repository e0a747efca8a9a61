"""Wall times of scripts/test's stages: one tab-separated line per stage in a times file
(name, seconds, status), and the table printed at the end of a run.

    stage_times.py molecule SCENARIO TIMES     pass Molecule's output through (stdin to stdout) and
                                               record each action's wall time as "molecule SCENARIO: ACTION"
    stage_times.py table TIMES                 print the table of every recorded stage

scripts/test records its own stages; scripts/lint records each gate and ansible-test leg when
NFV_TEST_TIMES names the file.
"""

import re
import sys
import time

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# INFO     default ➜ converge: Executing / Executed: Successful / Executed: Failed
ACTION = re.compile(r"INFO\s+\S+\s+\S+\s+(\S+?):\s+(Executing|Executed: (\w+))")
SIDE_EFFECT_PLAYBOOK = re.compile(r"side_effect (\S+\.yml)")
# "  │ TASK [role : name ...]" (Molecule folds long names: the first line is enough)
TASK = re.compile(r"\bTASK \[([^\]]*)")
LONG_TASK_SECONDS = 60


def record(path, name, seconds, status):
    with open(path, "a") as handle:
        handle.write("%s\t%d\t%s\n" % (name, round(seconds), status))


def side_effect_names(matrix_line):
    """The side effects of a scenario's test matrix, in order: their playbook, or the scenario's own."""
    steps = matrix_line.split("matrix:", 1)[1].split(",")
    return [m.group(1) if m else "(the scenario's own)"
            for m in (SIDE_EFFECT_PLAYBOOK.match(step.strip()) for step in steps if "side_effect" in step)]


def molecule(scenario, path, lines=sys.stdin, out=sys.stdout, clock=time.monotonic):
    """Pass the lines through; each "ACTION: Executing" ... "Executed: STATUS" pair becomes a record, followed
    by the action's long steps: the tasks that took LONG_TASK_SECONDS or more (a task ends where the next
    task, play or recap starts). Side effects are named by their playbook when the test matrix names one."""
    started, count, long_tasks = {}, {}, []
    side_effects = []
    task = None  # (name, start) of the task running now
    for line in lines:
        out.write(line)
        out.flush()
        plain = ANSI.sub("", line)
        now = clock()
        if "scenario test matrix:" in plain:
            side_effects = side_effect_names(plain)
        boundary = TASK.search(plain)
        if task and (boundary or "PLAY RECAP" in plain or ACTION.search(plain)):
            if now - task[1] >= LONG_TASK_SECONDS:
                long_tasks.append((task[0], now - task[1]))
            task = None
        if boundary:
            task = (boundary.group(1).strip(), now)
        match = ACTION.search(plain)
        if not match:
            continue
        action = match.group(1)
        if match.group(2) == "Executing":
            started[action], long_tasks = now, []
            continue
        if action not in started:
            continue
        count[action] = count.get(action, 0) + 1
        label = action
        if action == "side_effect" and count[action] <= len(side_effects):
            label = "side_effect %s" % side_effects[count[action] - 1]
        elif count[action] > 1:
            label = "%s #%d" % (action, count[action])
        status = "ok" if match.group(3) == "Successful" else "FAILED"
        record(path, "  molecule %s: %s" % (scenario, label), now - started.pop(action), status)
        for name, seconds in long_tasks:
            record(path, "    molecule %s: %s: %s" % (scenario, label, name), seconds, "")
    return 0


def table(path, out=sys.stdout):
    """The stages in the order they ended, each followed by its own steps (indented rows whose name
    starts with the stage's: "  molecule lab: converge" under "molecule lab"); "total" last."""
    try:
        with open(path) as handle:
            rows = [line.rstrip("\n").split("\t") for line in handle if line.strip()]
    except IOError:
        rows = []
    stages = [row for row in rows if not row[0].startswith(" ") and row[0] != "total"]
    steps = [row for row in rows if row[0].startswith(" ")]
    ordered = []
    for row in stages:
        ordered.append(row)
        ordered += [step for step in steps if step[0].strip().split(":")[0] == row[0]]
    ordered += [step for step in steps if step not in ordered] + [row for row in rows if row[0] == "total"]
    width = max([len(row[0]) for row in ordered] + [5])
    out.write("[test] %-*s  %7s  %s\n" % (width, "stage", "wall", "result"))
    for name, seconds, status in ordered:
        minutes, rest = divmod(int(seconds), 60)
        out.write("[test] %-*s  %4d:%02d  %s\n" % (width, name, minutes, rest, status))
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "molecule":
        return molecule(argv[2], argv[3])
    if len(argv) == 3 and argv[1] == "table":
        return table(argv[2])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
