# SPDX-License-Identifier: GPL-2.0-or-later
"""TAP for a test program: check() each point as it is seen, finish() prints
the plan and the results (a failed one with the last lines of its detail),
runs the cleanups and exits 1 when anything failed."""
import sys
import traceback


class Tap:
    def __init__(self):
        self.results = []

    def check(self, name, cond, detail=""):
        self.results.append((name, bool(cond), detail))

    def failed(self):
        return any(not good for _, good, _ in self.results)

    def run(self, *steps, cleanup=(), epilogue=None):
        """Run the steps in order, then finish(). A step that raises ends the
        run and fails it, its traceback on stderr."""
        crashed = False
        for step in steps:
            try:
                step()
            except Exception:  # noqa: BLE001 (any error of the test is a failure)
                traceback.print_exc()
                crashed = True
                break
        self.finish(cleanup, epilogue, crashed)

    def finish(self, cleanup=(), epilogue=None, crashed=False):
        """epilogue: a callable whose text is printed as comments after the
        results when a check failed (a daemon's log, say)."""
        print("1..%d" % len(self.results))
        for i, (name, good, detail) in enumerate(self.results, 1):
            print("%s %d - %s" % ("ok" if good else "not ok", i, name))
            if not good:
                for line in str(detail).splitlines()[-12:]:
                    print("# " + line)
        failed = crashed or self.failed()
        if failed and epilogue is not None:
            for line in str(epilogue()).splitlines():
                print("# " + line)
        for c in cleanup:
            c()
        sys.exit(1 if failed else 0)
