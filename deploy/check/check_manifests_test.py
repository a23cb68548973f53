"""Unit tests for check_manifests.py: a good manifest passes, and each rule
fires on a manifest broken in exactly the way it guards against.

Run: /usr/bin/python3 -m unittest deploy/check/check_manifests_test.py
(or `bazel test //deploy:checker_test`). If $QUARRYCTL names a real Abseil
binary, its --helpfull output is parsed too.
"""

import copy
import io
import os
import stat
import sys
import tempfile
import textwrap
import unittest
from contextlib import redirect_stderr, redirect_stdout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_manifests  # noqa: E402
import yaml  # noqa: E402

FAKE_HELPFULL = textwrap.dedent("""\
    app: usage

      Flags from ./absl/flags/parse.cc:
        --flagfile (comma-separated list of files to load flags from); default: ;

      Flags from services/app/main.cc:
        --admin_port (Prometheus /metrics port (0: pick a free one, -1:
          disabled).); default: 9090;
        --database_url (libpq conninfo.); default: "";
        --host (Address the gRPC and metrics ports bind to.); default: "0.0.0.0";
        --log_rpcs (Log one JSON line per RPC.); default: false;
        --port (gRPC port (0: pick a free one).); default: 50051;
        --shard_count (Number of shards.); default: 1;
        --shard_index (This shard.); default: 0;
        --shard_targets (One target per shard.); default: "";
        --shutdown_grace (How long in-flight RPCs may finish after SIGTERM.);
          default: 10s;
    """)

GOOD = """
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data:
  SHUTDOWN_GRACE: 20s
  DATABASE_URL: host=postgres dbname=quarry
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: 2
  selector: {matchLabels: {app: app}}
  template:
    metadata:
      labels: {app: app}
      annotations: {prometheus.io/scrape: "true", prometheus.io/port: "9090"}
    spec:
      terminationGracePeriodSeconds: 30
      securityContext: {runAsNonRoot: true, runAsUser: 10001}
      containers:
        - name: app
          image: quarry/app:0.1.0
          args:
            - --host=0.0.0.0
            - --port=50051
            - --admin_port=9090
            - --shutdown_grace=$(CFG_SHUTDOWN_GRACE)
            - --database_url=$(CFG_DATABASE_URL)
            - --nolog_rpcs
            - --shard_targets=dns:///shard-0:50051,dns:///shard-1:50051
          envFrom:
            - prefix: CFG_
              configMapRef: {name: cfg}
          ports:
            - {name: grpc, containerPort: 50051}
            - {name: metrics, containerPort: 9090}
          readinessProbe: {grpc: {port: 50051}}
          livenessProbe: {grpc: {port: 50051}}
          lifecycle: {preStop: {exec: {command: ["/bin/sleep", "5"]}}}
          resources:
            requests: {cpu: 100m, memory: 64Mi}
            limits: {cpu: "1", memory: 128Mi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
---
apiVersion: v1
kind: Service
metadata: {name: app}
spec:
  selector: {app: app}
  ports:
    - {name: grpc, port: 50051, targetPort: grpc}
    - {name: metrics, port: 9090, targetPort: 9090}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: app}
spec:
  rules:
    - http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: app, port: {name: grpc}}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: app}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: app}
  minReplicas: 2
  maxReplicas: 4
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: app}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: app}}
"""

SHARD = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: shard-@N@}
spec:
  serviceName: shard-@N@
  replicas: 1
  selector: {matchLabels: {app: shard, shard: "@N@"}}
  template:
    metadata:
      labels: {app: shard, shard: "@N@"}
    spec:
      securityContext: {runAsNonRoot: true}
      containers:
        - name: shard
          image: quarry/app:0.1.0
          args: [--port=50051, --shard_index=@N@, --shard_count=2, --shutdown_grace=5s]
          ports: [{name: grpc, containerPort: 50051}]
          readinessProbe: {grpc: {port: 50051}}
          livenessProbe: {grpc: {port: 50051}}
          resources:
            requests: {cpu: 100m, memory: 64Mi}
            limits: {cpu: "1", memory: 128Mi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
---
apiVersion: v1
kind: Service
metadata: {name: shard-@N@}
spec:
  clusterIP: None
  selector: {app: shard, shard: "@N@"}
  ports: [{name: grpc, port: 50051, targetPort: grpc}]
"""


def good_docs():
    docs = [d for d in yaml.safe_load_all(GOOD) if d]
    for n in ("0", "1"):
        docs += [d for d in yaml.safe_load_all(SHARD.replace("@N@", n)) if d]
    return docs


def find(docs, kind, name):
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def container(docs, kind="Deployment", name="app"):
    return find(docs, kind, name)["spec"]["template"]["spec"]["containers"][0]


class CheckerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="check_manifests_test.")
        cls.fake = os.path.join(cls.tmp, "app")
        help_file = os.path.join(cls.tmp, "help.txt")
        with open(help_file, "w") as f:
            f.write(FAKE_HELPFULL)
        with open(cls.fake, "w") as f:
            # Abseil binaries exit 1 after --helpfull; the checker must not care.
            f.write("#!/bin/sh\ncat '%s'\nexit 1\n" % help_file)
        os.chmod(cls.fake, stat.S_IRWXU)

    def run_checker(self, docs, *extra, binary=True):
        path = os.path.join(self.tmp, "in.yaml")
        with open(path, "w") as f:
            yaml.safe_dump_all(docs, f)
        argv = [path] + (["--binary", "quarry/app=" + self.fake] if binary else []) + list(extra)
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = check_manifests.main(argv)
        return code, out.getvalue(), err.getvalue()

    def assert_fires(self, docs, rule, fragment, *extra, **kwargs):
        code, out, err = self.run_checker(docs, *extra, **kwargs)
        self.assertEqual(code, 1, "expected a %s violation; stdout:\n%s\nstderr:\n%s" % (rule, out, err))
        lines = [l for l in out.splitlines() if (": %s: " % rule) in l and fragment in l]
        self.assertTrue(lines, "no %s violation mentioning %r in:\n%s" % (rule, fragment, out))

    # ---- the good manifest ----------------------------------------------------

    def test_good_manifest_passes(self):
        code, out, err = self.run_checker(good_docs())
        self.assertEqual(code, 0, out + err)
        self.assertEqual(out, "")

    def test_empty_input_fails(self):
        self.assert_fires([], "render", "no objects")

    # ---- probes -------------------------------------------------------------------

    def test_missing_readiness_probe(self):
        docs = good_docs()
        del container(docs)["readinessProbe"]
        self.assert_fires(docs, "probes", "no readinessProbe")

    def test_missing_liveness_probe(self):
        docs = good_docs()
        del container(docs, "StatefulSet", "shard-0")["livenessProbe"]
        self.assert_fires(docs, "probes", "no livenessProbe")

    def test_probe_on_wrong_port(self):
        docs = good_docs()
        container(docs)["livenessProbe"] = {"grpc": {"port": 50052}}
        self.assert_fires(docs, "probes", "50052")

    # ---- resources ---------------------------------------------------------------

    def test_missing_limits(self):
        docs = good_docs()
        del container(docs)["resources"]["limits"]
        self.assert_fires(docs, "resources", "limits.cpu")

    def test_missing_memory_request(self):
        docs = good_docs()
        del container(docs)["resources"]["requests"]["memory"]
        self.assert_fires(docs, "resources", "requests.memory")

    def test_init_container_resources(self):
        docs = good_docs()
        pod = find(docs, "Deployment", "app")["spec"]["template"]["spec"]
        init = copy.deepcopy(container(docs))
        init["name"] = "init"
        del init["resources"]
        pod["initContainers"] = [init]
        self.assert_fires(docs, "resources", "no requests.cpu")

    # ---- image --------------------------------------------------------------------

    def test_latest_image(self):
        docs = good_docs()
        container(docs)["image"] = "quarry/app:latest"
        self.assert_fires(docs, "image", ":latest")

    def test_untagged_image(self):
        docs = good_docs()
        container(docs)["image"] = "registry.example:5000/quarry/app"
        self.assert_fires(docs, "image", "no tag")

    def test_digest_is_pinned(self):
        docs = good_docs()
        container(docs)["image"] = "quarry/app@sha256:" + "a" * 64
        code, out, err = self.run_checker(docs)
        self.assertEqual(code, 0, out + err)

    # ---- security -----------------------------------------------------------------

    def test_root_allowed(self):
        docs = good_docs()
        del find(docs, "Deployment", "app")["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"]
        self.assert_fires(docs, "security", "runAsNonRoot")

    def test_run_as_root(self):
        docs = good_docs()
        container(docs)["securityContext"]["runAsUser"] = 0
        self.assert_fires(docs, "security", "runAsUser is 0")

    def test_writable_root_filesystem(self):
        docs = good_docs()
        container(docs)["securityContext"]["readOnlyRootFilesystem"] = False
        self.assert_fires(docs, "security", "readOnlyRootFilesystem")

    def test_privilege_escalation(self):
        docs = good_docs()
        del container(docs)["securityContext"]["allowPrivilegeEscalation"]
        self.assert_fires(docs, "security", "allowPrivilegeEscalation")

    def test_capabilities_not_dropped(self):
        docs = good_docs()
        container(docs)["securityContext"]["capabilities"] = {"drop": ["NET_RAW"]}
        self.assert_fires(docs, "security", "drop does not contain ALL")

    # ---- env and flags ------------------------------------------------------------

    def test_unknown_flag(self):
        docs = good_docs()
        container(docs)["args"].append("--databse_url=x")
        self.assert_fires(docs, "flags", "--databse_url is not a flag")

    def test_negated_bool_flag_is_known(self):
        docs = good_docs()
        container(docs)["args"].append("--nolog_rpcs")
        code, out, err = self.run_checker(docs)
        self.assertEqual(code, 0, out + err)

    def test_space_separated_value_is_rejected(self):
        docs = good_docs()
        container(docs)["args"] += ["--database_url", "host=x"]
        self.assert_fires(docs, "flags", "positional argument 'host=x'")

    def test_missing_binary_fails(self):
        self.assert_fires(good_docs(), "flags", "no binary for image quarry/app", binary=False)

    def test_missing_binary_allowed_is_listed(self):
        code, out, err = self.run_checker(good_docs(), "--allow_missing_binaries", binary=False)
        self.assertEqual(code, 0, out + err)
        self.assertIn("SKIPPED flag checks", err)
        self.assertIn("quarry/app", err)

    def test_binary_dir(self):
        docs = good_docs()
        container(docs)["args"].append("--bogus=1")
        self.assert_fires(docs, "flags", "--bogus", "--binary_dir", self.tmp, binary=False)

    def test_binary_that_lists_no_flags(self):
        empty = os.path.join(self.tmp, "empty")
        with open(empty, "w") as f:
            f.write("#!/bin/sh\necho usage\n")
        os.chmod(empty, stat.S_IRWXU)
        self.assert_fires(good_docs(), "flags", "listed no flags", "--binary", "quarry/app=" + empty,
                          binary=False)

    def test_third_party_image_flags_not_checked(self):
        docs = good_docs()
        container(docs)["image"] = "postgres:15.8-bookworm"
        container(docs)["args"].append("--whatever=1")
        code, out, err = self.run_checker(docs)
        self.assertEqual(code, 0, out + err)
        self.assertIn("third-party image postgres not checked", err)

    def test_port_flag_not_a_container_port(self):
        docs = good_docs()
        args = container(docs)["args"]
        args[args.index("--port=50051")] = "--port=50099"
        self.assert_fires(docs, "flags", "--port=50099")

    def test_undefined_variable(self):
        docs = good_docs()
        container(docs)["args"].append("--database_url=$(CFG_NOPE)")
        self.assert_fires(docs, "env", "CFG_NOPE")

    def test_missing_configmap(self):
        docs = [d for d in good_docs() if d["kind"] != "ConfigMap"]
        self.assert_fires(docs, "env", "ConfigMap cfg is not in the rendered output")

    # ---- shutdown -----------------------------------------------------------------

    def test_grace_period_too_short(self):
        docs = good_docs()
        find(docs, "ConfigMap", "cfg")["data"]["SHUTDOWN_GRACE"] = "30s"
        self.assert_fires(docs, "shutdown", "--shutdown_grace (30s) + preStop sleep (5s)")

    def test_grace_period_counts_prestop_sleep(self):
        docs = good_docs()
        find(docs, "ConfigMap", "cfg")["data"]["SHUTDOWN_GRACE"] = "25s"
        self.assert_fires(docs, "shutdown", "terminationGracePeriodSeconds 30")

    def test_grace_period_uses_binary_default(self):
        docs = good_docs()
        container(docs)["args"] = [a for a in container(docs)["args"] if "shutdown_grace" not in a]
        find(docs, "Deployment", "app")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 12
        self.assert_fires(docs, "shutdown", "(10s)")

    # ---- services, HPAs, PDBs, ingresses ------------------------------------------

    def test_service_target_port_by_name(self):
        docs = good_docs()
        find(docs, "Service", "app")["spec"]["ports"][0]["targetPort"] = "grcp"
        self.assert_fires(docs, "service", "targetPort grcp")

    def test_service_target_port_by_number(self):
        docs = good_docs()
        find(docs, "Service", "app")["spec"]["ports"][1]["targetPort"] = 9091
        self.assert_fires(docs, "service", "targetPort 9091")

    def test_service_port_defaults_to_port(self):
        docs = good_docs()
        port = find(docs, "Service", "app")["spec"]["ports"][1]
        del port["targetPort"]
        port["port"] = 9999
        self.assert_fires(docs, "service", "targetPort 9999")

    def test_service_selects_nothing(self):
        docs = good_docs()
        find(docs, "Service", "app")["spec"]["selector"] = {"app": "ap"}
        self.assert_fires(docs, "service", "matches no workload")

    def test_prometheus_port_annotation(self):
        docs = good_docs()
        find(docs, "Deployment", "app")["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] = "9100"
        self.assert_fires(docs, "service", "prometheus.io/port 9100")

    def test_hpa_target_missing(self):
        docs = good_docs()
        find(docs, "HorizontalPodAutoscaler", "app")["spec"]["scaleTargetRef"]["name"] = "ap"
        self.assert_fires(docs, "hpa", "Deployment/ap")

    def test_hpa_target_wrong_kind(self):
        docs = good_docs()
        find(docs, "HorizontalPodAutoscaler", "app")["spec"]["scaleTargetRef"]["kind"] = "StatefulSet"
        self.assert_fires(docs, "hpa", "StatefulSet/app")

    def test_pdb_selects_nothing(self):
        docs = good_docs()
        find(docs, "PodDisruptionBudget", "app")["spec"]["selector"] = {"matchLabels": {"app": "nope"}}
        self.assert_fires(docs, "pdb", "matches no workload")

    def test_pdb_match_expressions(self):
        docs = good_docs()
        find(docs, "PodDisruptionBudget", "app")["spec"]["selector"] = {
            "matchExpressions": [{"key": "app", "operator": "In", "values": ["app", "other"]}]}
        code, out, err = self.run_checker(docs)
        self.assertEqual(code, 0, out + err)

    def test_ingress_backend_missing(self):
        docs = good_docs()
        backend = find(docs, "Ingress", "app")["spec"]["rules"][0]["http"]["paths"][0]["backend"]
        backend["service"]["port"] = {"name": "http"}
        self.assert_fires(docs, "ingress", "not a port of Service app")

    def test_workload_selector_must_match_template(self):
        docs = good_docs()
        find(docs, "Deployment", "app")["spec"]["selector"] = {"matchLabels": {"app": "other"}}
        self.assert_fires(docs, "workload", "does not match")

    # ---- targets and shards -------------------------------------------------------

    def test_target_must_be_headless(self):
        docs = good_docs()
        del find(docs, "Service", "shard-1")["spec"]["clusterIP"]
        self.assert_fires(docs, "targets", "Service shard-1 is not headless")

    def test_target_service_missing(self):
        docs = good_docs()
        args = container(docs)["args"]
        args[-1] = "--shard_targets=dns:///shard-0:50051,dns:///shard-9:50051"
        self.assert_fires(docs, "targets", "no Service shard-9")

    def test_shard_count_mismatch(self):
        docs = good_docs()
        container(docs, "StatefulSet", "shard-1")["args"][2] = "--shard_count=3"
        self.assert_fires(docs, "shards", "--shard_count=3 but 2")

    def test_duplicate_shard_index(self):
        docs = good_docs()
        container(docs, "StatefulSet", "shard-1")["args"][1] = "--shard_index=0"
        self.assert_fires(docs, "shards", "--shard_index=0 is used by shard-0, shard-1")

    def test_shard_targets_count(self):
        docs = good_docs()
        container(docs)["args"][-1] = "--shard_targets=dns:///shard-0:50051"
        self.assert_fires(docs, "shards", "lists 1 targets but 2")

    # ---- helpers ------------------------------------------------------------------

    def test_parse_duration(self):
        p = check_manifests.parse_duration_seconds
        self.assertEqual(p("20s"), 20)
        self.assertEqual(p("1m30s"), 90)
        self.assertAlmostEqual(p("250ms"), 0.25)
        self.assertEqual(p("0"), 0)
        self.assertIsNone(p("20"))
        self.assertIsNone(p("soon"))

    def test_image_parsing(self):
        self.assertEqual(check_manifests.image_repository("reg:5000/quarry/gateway:0.1.0"), "reg:5000/quarry/gateway")
        self.assertIsNone(check_manifests.image_tag("reg:5000/quarry/gateway"))
        self.assertEqual(check_manifests.image_tag("quarry/gateway:0.1.0"), "0.1.0")

    def test_helpfull_parsing(self):
        binaries = check_manifests.Binaries({}, [], ["quarry/"], False)
        flags, error = binaries.flags(self.fake)
        self.assertIsNone(error)
        self.assertEqual(flags["shutdown_grace"], "10s")
        self.assertEqual(flags["port"], "50051")
        self.assertIn("flagfile", flags)
        self.assertNotIn("disabled", flags)

    @unittest.skipUnless(os.environ.get("QUARRYCTL"), "set QUARRYCTL to a real Abseil binary")
    def test_real_binary_helpfull(self):
        binaries = check_manifests.Binaries({}, [], ["quarry/"], False)
        flags, error = binaries.flags(os.environ["QUARRYCTL"])
        self.assertIsNone(error)
        self.assertIn("api_key", flags)
        self.assertIn("target", flags)
        self.assertIn("flagfile", flags)


if __name__ == "__main__":
    unittest.main()
