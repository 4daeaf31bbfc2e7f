"""What the packaging must agree with, read from lightflusd's sources.

The Dockerfile, the Helm chart and the systemd unit name flags, routes and paths of
`lightflusd serve`; docker_test.py and helm_test.py check them against these facts, so that a
renamed flag or route fails a test instead of a deployment.
"""

import re
from pathlib import Path


class ServerFacts:
    def __init__(self, root: Path):
        serve = (root / "server" / "serve_command.cpp").read_text()
        usage = re.search(r"serveUsage\(\) noexcept \{\s*return (.*?);\n\}", serve, re.S)
        if not usage:
            raise SystemExit("server/serve_command.cpp: serveUsage() not found")
        usage_text = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', usage.group(1)))
        # Every flag of `lightflusd serve --help` ("[--port N]").
        self.serve_flags = set(re.findall(r"\[(--[a-z-]+)", usage_text))
        self.token_env = "LIGHTFLUS_TOKEN" if 'getenv("LIGHTFLUS_TOKEN")' in serve else None

        routes = (root / "server" / "routes.cpp").read_text()
        # The routing table: {http::verb::get, "/healthz", false, ...}: method, path, needs token.
        self.routes = {
            (method, path): needs_token == "true"
            for method, path, needs_token in re.findall(
                r'\{http::verb::(\w+), "([^"]+)", (true|false),', routes)
        }

        unit = (root / "packaging" / "debian" / "lightflusd.service").read_text()
        data_dir = re.search(r"^ExecStart=.* --data-dir (\S+)", unit, re.M)
        self.unit_data_dir = data_dir.group(1) if data_dir else None

    def route(self, path: str, method: str = "get"):
        """True/False: the route exists and needs (or not) the token; None: no such route."""
        return self.routes.get((method, path))

    def check_serve_args(self, args, where: str):
        """Fails unless every --flag in args is a flag of `lightflusd serve`."""
        unknown = [a for a in args if a.startswith("--") and a not in self.serve_flags]
        if unknown:
            raise AssertionError(f"{where}: {unknown} are not flags of `lightflusd serve` "
                                 f"(it has {sorted(self.serve_flags)})")
