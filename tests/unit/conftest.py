"""The phase contract of every state-changing module, checked in every unit test that runs one.

PlannedModule.run is read -> plan -> apply -> report; plan() works on what read() returned and must not touch the
host, so that check mode and the real run plan from one reading. During plan() the handler's HostFS and Runner
are replaced by stand-ins that fail the test on any use.
"""

import pytest

from ansible_collections.nfv.dpdk.plugins.module_utils.core.plan import PlannedModule


class HostAccessInPlan(BaseException):
    """A BaseException, so that no `except Exception` in the module hides it."""


class NoHost:
    def __init__(self, what):
        self.what = what

    def __getattr__(self, name):
        raise HostAccessInPlan("plan() touched the host: %s.%s" % (self.what, name))


@pytest.fixture(autouse=True)
def plan_without_host(monkeypatch):
    run = PlannedModule.run

    def guarded_run(handler):
        plan = handler.plan

        def plan_from_what_was_read(current):
            fs, runner = handler.fs, handler.runner
            handler.fs, handler.runner = NoHost("fs"), NoHost("runner")
            try:
                return plan(current)
            finally:
                handler.fs, handler.runner = fs, runner

        handler.plan = plan_from_what_was_read
        return run(handler)

    monkeypatch.setattr(PlannedModule, "run", guarded_run)
