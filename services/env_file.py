"""Shell-sourceable ``KEY=value`` files: ``.lawlink/stack.env``, ``.lawlink/secrets.env`` and the
secrets a deployment generates (``lawlink deploy init``).

Every line is ``export KEY='value'`` (shell-quoted), so ``source FILE`` in bash or sh exports
exactly the values Lawlink reads back: a JSON value or a base64 key with ``+``/``=`` survives the
shell unchanged. Reading takes a line without ``export`` as an older unquoted ``KEY=value``
(its value verbatim), so a ``secrets.env`` written before keeps its credentials.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path


def read_env_file(path: Path) -> dict[str, str]:
    """The variables of ``path`` (missing file: none), unquoted the way a shell would."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        exported = line.startswith("export ")
        key, raw = line.removeprefix("export ").split("=", 1)
        if not exported:  # an older line: the value verbatim, as it was written
            values[key.strip()] = raw.strip()
            continue
        try:
            words = shlex.split(raw, comments=False, posix=True)
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: {key.strip()}: {exc}") from None
        if len(words) > 1:
            raise ValueError(f"{path}:{number}: {key.strip()}: the value must be one quoted word")
        values[key.strip()] = words[0] if words else ""
    return values


def write_env_file(path: Path, values: Mapping[str, str], header: str, *, private: bool) -> None:
    """Write ``values`` as ``export KEY='value'`` lines after ``header`` (one comment line or more).

    ``private`` files (secrets) are created readable by their owner only, before any secret is
    written into them.
    """
    text = "".join(f"# {line}\n" for line in header.splitlines())
    text += "".join(f"export {key}={shlex.quote(value)}\n" for key, value in values.items())
    if private:
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")


STACK_ENV = Path(".lawlink/stack.env")


def load_stack_env(path: Path = STACK_ENV, only: tuple[str, ...] | None = None) -> None:
    """Fill unset variables from ``stack.env`` (the shell's own values win), so a command works
    in a fresh shell beside a running ``make run``."""
    for key, value in read_env_file(path).items():
        if only is None or key in only:
            os.environ.setdefault(key, value)


def load_dev_env() -> None:
    """The dev stack's endpoints, and from ``secrets.env`` beside them (readable by its owner
    only) the service password, the content key, without which no Temporal client may exist
    (services/temporal_codec.py) and no webhook secret can be sealed or opened, and the key that
    seals agency keys (``lawlink agencies issue-key``), and the service token the registry asks
    for (services/service_auth.py)."""
    load_stack_env()
    load_stack_env(
        STACK_ENV.with_name("secrets.env"),
        only=("NATS_PASSWORD", "LAWLINK_CONTENT_KEY", "LAWLINK_CREDENTIAL_KEK", "LAWLINK_SERVICE_TOKEN"),
    )
