#!/usr/bin/python3
"""The Helm chart packaging/helm/lightflus, checked with or without helm.

CI has no helm (building it takes ~15 minutes here), so the chart is checked in three ways:
1. values.yaml (alone and with each test values file) against values.schema.json, and every
   `.Values.x.y` the templates read exists in values.yaml (helm renders a misspelt one as empty);
2. the manifests `helm template` renders, kept in test/packaging/helm/*.rendered.yaml, are
   checked as Kubernetes objects: a StatefulSet whose PVC holds the data dir, Services, the
   token from a Secret, probes on /healthz and Prometheus annotations for /metrics, each agreeing
   with lightflusd's flags and routes (server_facts.py) and with the image (uid, data dir);
3. those renders belong to the chart as it is: each records a hash of the chart's files, and a
   changed chart fails until they are rendered again. With helm on PATH the test also runs
   `helm lint --strict` and renders afresh, comparing with the kept renders.

    helm_test.py SOURCE_DIR            check
    helm_test.py SOURCE_DIR --update   render again with helm (after changing the chart)
"""

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_facts import ServerFacts  # noqa: E402

RELEASE = "demo"
NAMESPACE = "lightflus"
# name -> values file under test/packaging/helm (None: the chart's defaults)
CASES = {"defaults": None, "options": "options.values.yaml"}


def chart_hash(chart: Path, values_file) -> str:
    digest = hashlib.sha256()
    files = [(str(p.relative_to(chart)), p) for p in sorted(chart.rglob("*")) if p.is_file()]
    if values_file:
        files.append((values_file.name, values_file))
    for name, path in files:
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def render(helm: str, chart: Path, values_file) -> str:
    args = [helm, "template", RELEASE, str(chart), "--namespace", NAMESPACE]
    if values_file:
        args += ["-f", str(values_file)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    # The random token of the chart's own Secret, and the checksum of that Secret.
    out = re.sub(r"(checksum/token: )[0-9a-f]{64}", r"\1<sha256 of the Secret>", out)
    return out


def header(name: str, chart: Path, values_file, root: Path) -> str:
    command = f"helm template {RELEASE} {chart.relative_to(root)} --namespace {NAMESPACE}"
    if values_file:
        command += f" -f {values_file.relative_to(root)}"
    return (f"# {command}\n# Made by test/packaging/helm_test.py --update; chart sha256 "
            f"{chart_hash(chart, values_file)}\n")


def mask_random_token(text: str, values: dict) -> str:
    if values["token"]["existingSecret"] or values["token"]["value"]:
        return text
    key = re.escape(values["token"]["secretKey"])
    return re.sub(rf'(\n  {key}: )"[A-Za-z0-9+/=]+"', r'\1"<random>"', text, count=1)


def deep_merge(base: dict, override: dict) -> dict:
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = value
    return result


def values_paths(values, prefix=""):
    """Every dotted path into the values (maps only)."""
    paths = {prefix.rstrip(".")} if prefix else set()
    if isinstance(values, dict):
        for key, value in values.items():
            paths |= values_paths(value, f"{prefix}{key}.")
    return paths


def check_template_references(chart: Path, values: dict) -> None:
    known = values_paths(values)
    for template in sorted((chart / "templates").glob("*")):
        for path in re.findall(r"\.Values\.([A-Za-z0-9_.]+)", template.read_text()):
            assert path.rstrip(".") in known, \
                f"{template.name} reads .Values.{path}, which values.yaml does not have"


def check_manifests(objects: list, values: dict, facts: ServerFacts, dockerfile: str, case: str):
    """The rendered objects, as Kubernetes would get them."""
    where = f"{case}.rendered.yaml"
    by_kind = {}
    for obj in objects:
        assert obj.get("apiVersion") and obj.get("kind") and obj["metadata"].get("name"), \
            f"{where}: an object without apiVersion, kind or name: {obj}"
        by_kind.setdefault(obj["kind"], []).append(obj)
    for kind, items in by_kind.items():
        names = [o["metadata"]["name"] for o in items]
        assert len(names) == len(set(names)), f"{where}: two {kind}s named alike: {names}"

    (sts,) = by_kind["StatefulSet"]
    services = {s["metadata"]["name"]: s for s in by_kind["Service"]}
    spec = sts["spec"]
    pod = spec["template"]
    pod_labels = pod["metadata"]["labels"]
    for key, value in spec["selector"]["matchLabels"].items():
        assert pod_labels.get(key) == value, f"{where}: the selector {key}={value} misses the pods"
    headless = services[spec["serviceName"]]
    assert headless["spec"].get("clusterIP") == "None", f"{where}: serviceName is not headless"
    for service in services.values():
        for key, value in service["spec"]["selector"].items():
            assert pod_labels.get(key) == value, f"{where}: Service {service['metadata']['name']} selects no pod"
    assert spec["replicas"] == values["replicaCount"]

    (container,) = pod["spec"]["containers"]
    args = container["args"]
    assert args[0] == "serve", f"{where}: the container runs {args}, not `lightflusd serve`"
    facts.check_serve_args(args[1:], where)
    for flag in ("--bind", "--port", "--data-dir", "--token"):
        assert args.count(flag) <= 1, f"{where}: {flag} given twice: {args}"
    flag = lambda name: args[args.index(name) + 1]  # noqa: E731
    assert flag("--bind") == "0.0.0.0"
    port = int(flag("--port"))
    assert port == values["server"]["port"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": port}, f"{where}: container ports {ports}, --port {port}"
    for service in services.values():
        for service_port in service["spec"]["ports"]:
            assert service_port["targetPort"] in ("http", port), service_port

    # The data dir: the unit's and the image's, on the PVC (or an emptyDir without persistence).
    data_dir = flag("--data-dir")
    assert data_dir == facts.unit_data_dir, f"{where}: --data-dir {data_dir}, unit {facts.unit_data_dir}"
    assert f"VOLUME {data_dir}" in dockerfile, f"{where}: the image's volume is not {data_dir}"
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    data_volume = mounts.get(data_dir)
    assert data_volume, f"{where}: nothing is mounted on {data_dir}: {mounts}"
    pod_volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
    claims = {c["metadata"]["name"]: c for c in spec.get("volumeClaimTemplates", [])}
    if values["persistence"]["enabled"]:
        claim = claims.get(data_volume)
        assert claim and data_volume not in pod_volumes, f"{where}: {data_dir} is not on a PVC"
        assert claim["spec"]["accessModes"] == values["persistence"]["accessModes"]
        assert claim["spec"]["resources"]["requests"]["storage"] == values["persistence"]["size"]
        if values["persistence"]["storageClass"]:
            assert claim["spec"]["storageClassName"] == values["persistence"]["storageClass"]
    else:
        assert not claims and "emptyDir" in pod_volumes[data_volume], f"{where}: {pod_volumes}"
    for mount_name in mounts.values():
        assert mount_name in pod_volumes or mount_name in claims, f"{where}: no volume {mount_name}"

    # The token: LIGHTFLUS_TOKEN (what serve reads) from a Secret that holds the key.
    env = {e["name"]: e for e in container.get("env", [])}
    assert facts.token_env in env, f"{where}: no {facts.token_env} in {list(env)}"
    ref = env[facts.token_env]["valueFrom"]["secretKeyRef"]
    assert ref["key"] == values["token"]["secretKey"]
    secrets = {s["metadata"]["name"]: s for s in by_kind.get("Secret", [])}
    if values["token"]["existingSecret"]:
        assert ref["name"] == values["token"]["existingSecret"] and not secrets, \
            f"{where}: existingSecret: the pod reads {ref['name']}, the chart makes {list(secrets)}"
    else:
        secret = secrets.get(ref["name"])
        assert secret and ref["key"] in secret["data"], f"{where}: no Secret {ref} rendered"
        assert "checksum/token" in pod["metadata"]["annotations"]

    # Probes on /healthz (a route without the token), on the http port.
    assert facts.route("/healthz") is False, "GET /healthz is gone or needs the token"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == "/healthz" and get["port"] in ("http", port), f"{where}: {probe} {get}"

    # Prometheus: the annotations point at /metrics on the daemon's port.
    annotations = pod["metadata"].get("annotations", {})
    if values["metrics"]["podAnnotations"]:
        assert annotations.get("prometheus.io/scrape") == "true", f"{where}: {annotations}"
        assert annotations.get("prometheus.io/port") == str(port)
        assert annotations.get("prometheus.io/path") == "/metrics"
    assert facts.route("/metrics") is not None, "GET /metrics is not a route of lightflusd"
    monitors = by_kind.get("ServiceMonitor", [])
    assert bool(monitors) == values["metrics"]["serviceMonitor"]["enabled"]
    for monitor in monitors:
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["path"] == "/metrics" and endpoint["port"] == "http"
        # /metrics needs the token: the monitor sends the same Secret's.
        credentials = endpoint["authorization"]["credentials"]
        assert facts.route("/metrics") is True and credentials == {"name": ref["name"], "key": ref["key"]}
        for key, value in monitor["spec"]["selector"]["matchLabels"].items():
            assert services[sts["metadata"]["name"]]["metadata"]["labels"].get(key) == value

    # Runs as the image's user, unprivileged.
    uid = int(re.search(r"ARG LIGHTFLUS_UID=(\d+)", dockerfile).group(1))
    security = pod["spec"]["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == uid, security
    assert security["fsGroup"] == uid, f"{where}: fsGroup {security.get('fsGroup')}, not {uid}"
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    # A read-only root needs a writable /tmp.
    if container["securityContext"].get("readOnlyRootFilesystem"):
        assert "/tmp" in mounts, f"{where}: a read-only root file system and no /tmp volume"
    return by_kind


def main() -> int:
    root = Path(sys.argv[1]).resolve()
    update = "--update" in sys.argv[2:]
    chart = root / "packaging" / "helm" / "lightflus"
    here = root / "test" / "packaging" / "helm"
    facts = ServerFacts(root)
    dockerfile = (root / "packaging" / "docker" / "Dockerfile").read_text()
    helm = shutil.which("helm")
    if update and not helm:
        print("helm_test.py --update needs helm on PATH (docs/packaging.md)", file=sys.stderr)
        return 2

    chart_yaml = yaml.safe_load((chart / "Chart.yaml").read_text())
    assert chart_yaml["apiVersion"] == "v2" and chart_yaml["name"] == "lightflus"
    version = re.search(r"project\(lightflus VERSION (\S+)", (root / "CMakeLists.txt").read_text())
    assert chart_yaml["appVersion"] == version.group(1), \
        f"Chart.yaml appVersion {chart_yaml['appVersion']} is not the project's {version.group(1)}"
    defaults = yaml.safe_load((chart / "values.yaml").read_text())
    schema = json.loads((chart / "values.schema.json").read_text())
    check_template_references(chart, defaults)
    # The schema accepts the defaults and rejects what it is there to reject.
    jsonschema.validate(defaults, schema)
    for bad in ({"server": {"port": 8080, "extraArgs": ["--port", "9"]}},
                {"persistence": {"enabled": True, "size": "lots", "accessModes": ["ReadWriteOnce"]}},
                {"token": {"existingSecret": "", "secretKey": "token", "value": "", "typo": 1}}):
        try:
            jsonschema.validate(deep_merge(defaults, bad), schema)
        except jsonschema.ValidationError:
            continue
        raise AssertionError(f"values.schema.json accepts {bad}")

    if helm:
        lint = subprocess.run([helm, "lint", "--strict", str(chart)], capture_output=True, text=True)
        assert lint.returncode == 0, f"helm lint --strict:\n{lint.stdout}{lint.stderr}"
        print("helm lint --strict: ok")
    else:
        print("helm is not on PATH: checking the kept renders (test/packaging/helm/*.rendered.yaml)")

    for case, values_name in CASES.items():
        values_file = here / values_name if values_name else None
        values = deep_merge(defaults, yaml.safe_load(values_file.read_text())) if values_file else defaults
        jsonschema.validate(values, schema)
        kept_path = here / f"{case}.rendered.yaml"
        expected_header = header(case, chart, values_file, root)
        if helm:
            fresh = expected_header + mask_random_token(render(helm, chart, values_file), values)
            if update:
                kept_path.write_text(fresh)
                print(f"wrote {kept_path.relative_to(root)}")
            assert kept_path.read_text() == fresh, \
                f"{kept_path.name} differs from `helm template`: run helm_test.py --update"
        kept = kept_path.read_text()
        assert kept.startswith(expected_header), \
            (f"{kept_path.name} was rendered from another version of the chart (or values): run "
             f"`test/packaging/helm_test.py {root} --update` with helm on PATH (docs/packaging.md)")
        objects = [o for o in yaml.safe_load_all(kept) if o]
        by_kind = check_manifests(objects, values, facts, dockerfile, case)
        print(f"ok: {case}: " + ", ".join(f"{len(v)} {k}" for k, v in sorted(by_kind.items())))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
