"""Per-factory MQTT credentials, the ACL that ties a factory to its own topics, and a local TLS CA.

A factory's MQTT user name is its site id: the ACL lets it publish only under
`brain/v1/{site}/...` and its Sparkplug group `spBv1.0/{site}/...`. Service users (the bridge,
the notifier, the simulator in tests) have their own rules. Passwords are hashed by
`mosquitto_passwd`; nothing here writes a secret into the repository.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
from pathlib import Path

from brain.stack.process import StackError

SERVICE_USERS = ("brain-bridge", "brain-notify")
_USER_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

ACL = """# written by `brain stack up --secure`; edits are overwritten
# The bridge reads every factory's telemetry and may ask Sparkplug nodes to rebirth.
user brain-bridge
topic read brain/v1/#
topic read spBv1.0/#
topic write spBv1.0/+/NCMD/#

# The notifier publishes alerts (retained while firing).
user brain-notify
topic readwrite brain/v1/alerts/#

# Every other user is a factory whose user name is its site id.
pattern write brain/v1/%u/#
pattern write spBv1.0/%u/#
pattern read spBv1.0/%u/NCMD/#
pattern read spBv1.0/%u/DCMD/#
pattern read brain/v1/alerts/%u/#
"""


def validate_user(name: str) -> None:
    if not _USER_RE.match(name) or name in ("+", "#"):
        raise StackError(f"user name {name!r}: expected a site id of letters, digits, '_', '.', '-' (≤ 64)")


def add_user(passwd_file: Path, name: str, password: str | None = None) -> str:
    """Add or replace a user in Mosquitto's password file; returns the (generated) password."""
    validate_user(name)
    tool = shutil.which("mosquitto_passwd")
    if not tool:
        raise StackError("mosquitto_passwd is missing: apt-get install mosquitto")
    password = password or secrets.token_urlsafe(18)
    passwd_file.parent.mkdir(parents=True, exist_ok=True)
    if not passwd_file.exists():
        passwd_file.touch(mode=0o600)
    result = subprocess.run(
        [tool, "-b", str(passwd_file), name, password], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise StackError(f"mosquitto_passwd failed for {name!r}: {result.stderr.strip()}")
    passwd_file.chmod(0o600)
    return password


def remove_user(passwd_file: Path, name: str) -> bool:
    if name not in list_users(passwd_file):
        return False
    result = subprocess.run(
        ["mosquitto_passwd", "-D", str(passwd_file), name], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise StackError(f"mosquitto_passwd -D failed for {name!r}: {result.stderr.strip()}")
    return True


def list_users(passwd_file: Path) -> list[str]:
    if not passwd_file.exists():
        return []
    return [line.split(":", 1)[0] for line in passwd_file.read_text().splitlines() if ":" in line]


def tls_init(directory: Path, hosts: list[str], *, days: int = 825) -> dict[str, Path]:
    """A local CA and a server certificate for `hosts` (names and IPs), made with openssl.

    Idempotent: an existing CA is kept, so clients that trust it keep working.
    """
    openssl = shutil.which("openssl")
    if not openssl:
        raise StackError("openssl is missing: apt-get install openssl")
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        name: directory / name for name in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt")
    }

    def run(*args: str) -> None:
        result = subprocess.run([openssl, *args], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise StackError(f"openssl {args[0]} failed: {result.stderr.strip()}")

    if not files["ca.crt"].exists():
        run(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-sha256",
            "-days",
            str(days * 2),
            "-subj",
            "/CN=Industrial Brain local CA",
            "-keyout",
            str(files["ca.key"]),
            "-out",
            str(files["ca.crt"]),
        )
    san = ",".join(f"IP:{h}" if re.match(r"^[0-9.]+$|:", h) else f"DNS:{h}" for h in hosts)
    ext = directory / "server.ext"
    ext.write_text(f"subjectAltName={san}\nextendedKeyUsage=serverAuth\n")
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-sha256",
        "-subj",
        f"/CN={hosts[0]}",
        "-keyout",
        str(files["server.key"]),
        "-out",
        str(files["server.csr"]),
    )
    run(
        "x509",
        "-req",
        "-sha256",
        "-days",
        str(days),
        "-in",
        str(files["server.csr"]),
        "-CA",
        str(files["ca.crt"]),
        "-CAkey",
        str(files["ca.key"]),
        "-CAcreateserial",
        "-extfile",
        str(ext),
        "-out",
        str(files["server.crt"]),
    )
    for key in ("ca.key", "server.key"):
        files[key].chmod(0o600)
    return files
