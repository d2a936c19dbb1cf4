"""``make test``: the suite, with the full-length outage tests (marker ``long``) in a second
pytest process beside it.

The long tests spend minutes waiting out outages on their own stacks and use little CPU, so
running them beside the rest costs the wall time once instead of adding it. Their output is
printed after the main run's; the exit status is the worse of the two. With test paths or a
``-k``/``-m`` selection in the arguments only the main run happens (a developer's focused run).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

SELECTING = ("-k", "-m")


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
            [*pytest, "-m", "long", *args, str(Path(__file__).parent / "chaos" / "test_chaos_full.py")],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            main_rc = subprocess.call([*pytest, *args])
            print("\n== long tests (full-length outages), run beside the suite ==", flush=True)
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
