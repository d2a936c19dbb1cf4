"""Wait until servers answer, then run a command (used by the dev Procfile).

``python -m services.wait_for HOST:PORT ... [--timeout S] -- CMD ARGS...`` execs CMD once every
address accepts TCP connections, so a service never starts before what it depends on.
``--banner`` prints the stack's URLs and then idles (the supervisor would restart it if it exited).
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time


def wait(addresses: list[str], timeout: float) -> None:
    """Block until each ``host:port`` accepts a connection, or exit with a clear message."""
    deadline = time.monotonic() + timeout
    for address in addresses:
        host, _, port = address.rpartition(":")
        while True:
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex((host, int(port))) == 0:
                    break
            if time.monotonic() > deadline:
                print(f"wait_for: {address} did not answer within {timeout:.0f}s", file=sys.stderr)
                sys.exit(1)
            time.sleep(0.2)


def banner() -> None:
    """Print where everything is, then stay up quietly."""
    env = os.environ
    print("=" * 64)
    print("Lawlink is up.  Lawlink 已启动。")
    print(f"  控制台 Console      {env.get('CONSOLE_URL')}")
    print(f"  Temporal Web UI     {env.get('TEMPORAL_UI_URL')}  (console sign-in; operators, admins)")
    print(f"  Intake (HTTP)       {env.get('INTAKE_URL')}/v1/events")
    print(f"  Registry API        {env.get('REGISTRY_URL')}/api/cases")
    print(f"  NATS                {env.get('NATS_URL')}")
    print("  In another shell:   source .lawlink/stack.env && .venv/bin/lawlink --help")
    print("=" * 64, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(3600)


def main(argv: list[str]) -> None:
    if argv == ["--banner"]:
        banner()
        return
    timeout = 120.0
    if "--" not in argv:
        print("usage: python -m services.wait_for HOST:PORT... [--timeout S] -- CMD...", file=sys.stderr)
        sys.exit(2)
    split = argv.index("--")
    head, cmd = argv[:split], argv[split + 1 :]
    addresses: list[str] = []
    i = 0
    while i < len(head):
        if head[i] == "--timeout":
            timeout = float(head[i + 1])
            i += 2
            continue
        addresses.append(head[i])
        i += 1
    wait(addresses, timeout)
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main(sys.argv[1:])
