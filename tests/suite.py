"""``make test``: the suite, with the long tests (marker ``long``: the full-length outages and
every service twice on a 3-node cluster) in a second pytest process beside it.

The long tests spend minutes on their own stacks, mostly waiting out outages, so running them
beside the rest costs the wall time once instead of adding it. Their output is printed after
the main run's, with what each passing test printed (its figures: ``-rP``); the exit status is
the worse of the two. With test paths or a ``-k``/``-m`` selection in the arguments only the
main run happens (a developer's focused run).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

SELECTING = ("-k", "-m")
# The tests marked long: the full-length outages, and every service twice on a 3-node cluster.
LONG = ("chaos/test_chaos_full.py", "integration/test_cluster.py")


def _selects(args: list[str]) -> bool:
    """Whether the arguments pick particular tests (paths, node ids, -k or -m)."""
    return any(a in SELECTING or not a.startswith("-") for a in args)


def main(args: list[str]) -> int:
    """Run the suite (and, for a whole run, the long tests beside it); the worse exit status."""
    pytest = [sys.executable, "-m", "pytest"]
    if _selects(args):
        return subprocess.call([*pytest, *args])
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out:
        long = subprocess.Popen(
            [*pytest, "-m", "long", "-rP", *args, *(str(Path(__file__).parent / path) for path in LONG)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            main_rc = subprocess.call([*pytest, *args])
            print("\n== long tests (full-length outages, the cluster), run beside the suite ==", flush=True)
            long_rc = long.wait()
        finally:
            if long.poll() is None:
                long.kill()
        out.seek(0)
        sys.stdout.write(out.read())
    # pytest's 5 ("no tests collected") from one half is not a failure of the whole run.
    return max((rc for rc in (main_rc, long_rc) if rc != 5), default=5)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
