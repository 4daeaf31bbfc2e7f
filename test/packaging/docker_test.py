#!/usr/bin/python3
"""packaging/docker/Dockerfile, checked without Docker (no daemon runs on our machines).

Checks that the image is Debian 12 slim with the .deb installed by apt (which resolves its
Depends), that it runs as a fixed non-root uid, that the port, the volume and the data dir agree
with each other and with the systemd unit, that every flag of its CMD is a flag of
`lightflusd serve`, and that the HEALTHCHECK asks /healthz, a route of lightflusd that needs no
token. packaging/debian/chroot_test.sh runs the Dockerfile's RUN steps in a real Debian 12 root.

    docker_test.py SOURCE_DIR
"""

import json
import re
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_facts import ServerFacts  # noqa: E402


def instructions(text: str):
    """(INSTRUCTION, arguments) pairs of a Dockerfile: continuations joined, comments dropped."""
    result, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):  # a comment inside a continued instruction
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, rest = current.partition(" ")
        result.append((keyword.upper(), rest.strip()))
        current = ""
    if current:
        raise AssertionError(f"the Dockerfile ends inside a continued line: {current!r}")
    return result


def exec_form(arguments: str, what: str):
    try:
        value = json.loads(arguments)
    except json.JSONDecodeError:
        raise AssertionError(f"{what} is not in exec form (a JSON array): {arguments}")
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), arguments
    return value


def main() -> None:
    root = Path(sys.argv[1])
    facts = ServerFacts(root)
    dockerfile = root / "packaging" / "docker" / "Dockerfile"
    steps = instructions(dockerfile.read_text())
    by_name = {}
    for name, args in steps:
        by_name.setdefault(name, []).append(args)

    def single(name):
        values = by_name.get(name, [])
        assert len(values) == 1, f"expected one {name}, found {values}"
        return values[0]

    # Base image: Debian 12 slim, and the only stage.
    assert single("FROM") in ("debian:12-slim", "debian:bookworm-slim"), single("FROM")

    # The .deb, copied in and installed with apt-get (so that its Depends are resolved).
    copies = by_name.get("COPY", [])
    assert any(re.match(r"lightflus_\*\.deb /tmp/$", c) for c in copies), copies
    runs = " ; ".join(by_name.get("RUN", []))
    assert re.search(r"apt-get install -y --no-install-recommends\s+/tmp/lightflus_\*\.deb", runs), \
        "no `apt-get install -y --no-install-recommends /tmp/lightflus_*.deb`"
    assert "apt-get update" in runs and "rm -rf /var/lib/apt/lists/*" in runs
    # build.sh puts the .deb into the context under the name COPY expects.
    build_sh = (root / "packaging" / "docker" / "build.sh").read_text()
    assert 'lightflus_$(dpkg-deb --field "${deb}" Version)_' in build_sh

    # A fixed, non-root uid and gid, created before the package (whose postinst keeps it).
    uid = re.search(r'ARG LIGHTFLUS_UID=(\d+)', dockerfile.read_text())
    assert uid, "no ARG LIGHTFLUS_UID"
    uid = uid.group(1)
    user = single("USER")
    assert re.fullmatch(r"\d+:\d+", user) and user.split(":")[0] != "0", \
        f"USER {user}: not a numeric non-root uid:gid (Kubernetes' runAsNonRoot needs numbers)"
    assert user == f"{uid}:{uid}", f"USER {user} is not the uid created, {uid}"
    first_useradd = runs.find("useradd")
    assert 0 <= first_useradd < runs.find("apt-get install"), "the user is not created before the package"
    assert "--system" in runs and "lightflus" in runs

    # The daemon: ENTRYPOINT lightflusd, CMD serve with flags that exist.
    entrypoint = exec_form(single("ENTRYPOINT"), "ENTRYPOINT")
    cmd = exec_form(single("CMD"), "CMD")
    assert entrypoint == ["lightflusd"], entrypoint
    assert cmd[0] == "serve", cmd
    facts.check_serve_args(cmd[1:], "CMD")

    def flag(name):
        assert name in cmd, f"CMD has no {name}: {cmd}"
        return cmd[cmd.index(name) + 1]

    # Outside loopback the daemon wants a token: the image takes it from the environment.
    assert flag("--bind") == "0.0.0.0"
    assert facts.token_env == "LIGHTFLUS_TOKEN" and "--token" not in cmd, \
        "the token must come from LIGHTFLUS_TOKEN, not from the image"
    port = flag("--port")
    assert single("EXPOSE") == port, f"EXPOSE {single('EXPOSE')} but --port {port}"
    data_dir = flag("--data-dir")
    assert data_dir == facts.unit_data_dir, \
        f"--data-dir {data_dir} differs from the systemd unit's {facts.unit_data_dir}"
    assert single("VOLUME") == data_dir, f"VOLUME {single('VOLUME')} is not the data dir {data_dir}"
    assert single("WORKDIR") == data_dir

    # HEALTHCHECK: /healthz on the daemon's port, a route that needs no token.
    healthcheck = single("HEALTHCHECK")
    options, _, command = healthcheck.partition("CMD ")
    probe = exec_form(command, "HEALTHCHECK CMD")
    url = next((a for a in probe if a.startswith("http://")), None)
    assert url == f"http://127.0.0.1:{port}/healthz", f"HEALTHCHECK asks {url}"
    assert probe[0] == "curl" and "-f" in "".join(a for a in probe if a.startswith("-")), probe
    assert "curl" in runs.split("apt-get install", 1)[1], "curl is not installed for the HEALTHCHECK"
    needs_token = facts.route("/healthz")
    assert needs_token is False, \
        "GET /healthz is not a route of lightflusd that works without a token (server/routes.cpp)"
    for option in shlex.split(options):
        assert re.fullmatch(r"--(interval|timeout|start-period|retries)=\w+", option), option

    print(f"ok: {dockerfile.relative_to(root)}: debian 12 slim, uid {uid}, port {port}, "
          f"volume {data_dir}, HEALTHCHECK {url}")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
