#!/usr/bin/python3
"""Checks rendered Kubernetes manifests (kustomize or Helm output) for Quarry.

Usage:
  kubectl kustomize k8s/overlays/dev | check_manifests.py \
      --binary quarry/gateway=bazel-bin/services/gateway/gateway ... [FILE ...]

Reads multi-document YAML from the files given (or stdin, or "-") and prints
one line per violation, "VIOLATION <Kind>/<name> [container <c>]: <rule>:
<detail>", then exits 1 if there was any, 0 otherwise. Rules:

  probes        every container has a livenessProbe and a readinessProbe, and
                a probe's port is one of the container's ports.
  resources     every container (and init container) has cpu and memory
                requests and limits.
  image         every image is pinned: it has a tag (or digest) that is not
                "latest".
  security      every container runs as non-root (runAsNonRoot true on the
                container or the pod, runAsUser not 0), with
                readOnlyRootFilesystem true, allowPrivilegeEscalation false
                and capabilities.drop containing ALL.
  env           every $(VAR) in args/command is defined by env/envFrom, and
                every ConfigMap referenced by env/envFrom is rendered.
  flags         every flag a container of one of our images passes exists in
                that image's binary (read from `<binary> --helpfull`);
                --port/--admin_port are container ports.
  shutdown      terminationGracePeriodSeconds > --shutdown_grace (the flag's
                value, or the binary's default) + any preStop `sleep N`.
  service       every Service with a selector selects a workload, and every
                port's targetPort names or numbers a containerPort of each
                workload it selects.
  hpa           every HPA's scaleTargetRef names a rendered workload;
                minReplicas <= maxReplicas.
  pdb           every PodDisruptionBudget selects a rendered workload.
  ingress       every Ingress backend names a rendered Service and one of its
                ports.
  targets       every dns:///host:port flag value that names a rendered
                Service names a headless one with that port (client-side
                round-robin needs one DNS record per pod).
  shards        --shard_index values are 0..N-1 once each, where N is the
                number of workloads passing them, --shard_count is N
                everywhere, and --shard_targets lists N targets.

Binaries: --binary IMAGE=PATH maps an image repository (full, e.g.
"quarry/gateway", or its last component, "gateway") to a binary;
--binary_dir DIR looks for DIR/<last component> (with "-" also tried as "_").
Images under --own_image_prefix (default "quarry/") must have a binary; if one
is missing that is a violation, unless --allow_missing_binaries is given, in
which case the skipped images are listed on stderr. Other images (PostgreSQL,
Jaeger) are third-party: their flags are not checked.
"""

import argparse
import os
import re
import subprocess
import sys

import yaml

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
SCALABLE_KINDS = ("Deployment", "StatefulSet", "ReplicaSet")
# The default of terminationGracePeriodSeconds in Kubernetes.
DEFAULT_GRACE_SECONDS = 30
# `    --name (help text...); default: value;` in Abseil's --helpfull output.
HELP_FLAG_RE = re.compile(r"^ {4}--([A-Za-z0-9_]+)(?: |$)")
HELP_DEFAULT_RE = re.compile(r"default: (.*?);\s*$")
VAR_REF_RE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
DURATION_PART_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|ms|s|m|h)")
DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class Report:
    def __init__(self):
        self.violations = []
        self.notes = []

    def add(self, obj, rule, detail, container=None):
        where = "%s/%s" % (obj.get("kind", "?"), obj.get("metadata", {}).get("name", "?"))
        ns = obj.get("metadata", {}).get("namespace")
        if ns:
            where = "%s (namespace %s)" % (where, ns)
        if container:
            where += " container %s" % container
        self.violations.append("VIOLATION %s: %s: %s" % (where, rule, detail))

    def note(self, text):
        if text not in self.notes:
            self.notes.append(text)


def parse_duration_seconds(text):
    """Parses an Abseil/Go duration ("20s", "1m30s", "500ms", "0") or None."""
    text = str(text).strip()
    if text in ("0", "inf", "-inf"):
        return 0.0 if text == "0" else None
    pos, total = 0, 0.0
    for m in DURATION_PART_RE.finditer(text):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        return None
    return total


def load_documents(paths):
    docs = []
    sources = paths or ["-"]
    for path in sources:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
        for doc in yaml.safe_load_all(text):
            if not doc:
                continue
            if doc.get("kind") == "List":
                docs.extend(item for item in doc.get("items", []) if item)
            else:
                docs.append(doc)
    return docs


def namespace_of(obj):
    return obj.get("metadata", {}).get("namespace") or ""


def name_of(obj):
    return obj.get("metadata", {}).get("name", "")


def pod_template(obj):
    """Returns (pod metadata, pod spec) of a workload, or (None, None)."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template = spec.get("template")
    if not isinstance(template, dict):
        return None, None
    return template.get("metadata") or {}, template.get("spec") or {}


def labels_match_selector(labels, selector):
    """Kubernetes LabelSelector (matchLabels/matchExpressions) or a plain map."""
    if selector is None:
        return False
    labels = labels or {}
    if "matchLabels" in selector or "matchExpressions" in selector:
        match_labels = selector.get("matchLabels") or {}
        expressions = selector.get("matchExpressions") or []
    else:
        match_labels, expressions = selector, []
    if not match_labels and not expressions:
        return False  # An empty selector here is almost certainly a mistake.
    for key, value in match_labels.items():
        if labels.get(key) != str(value):
            return False
    for expr in expressions:
        key, op, values = expr.get("key"), expr.get("operator"), [str(v) for v in expr.get("values") or []]
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def image_repository(image):
    """"registry:5000/quarry/gateway:0.1.0@sha256:..." -> "registry:5000/quarry/gateway"."""
    image = image.split("@", 1)[0]
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        image = image[: len(image) - len(last)] + last.split(":", 1)[0]
    return image


def image_tag(image):
    if "@" in image:
        return "@" + image.split("@", 1)[1]
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


class Binaries:
    """Maps images to binaries and caches each binary's flags."""

    def __init__(self, mapping, binary_dirs, own_prefixes, allow_missing):
        self.mapping = mapping
        self.binary_dirs = binary_dirs
        self.own_prefixes = own_prefixes
        self.allow_missing = allow_missing
        self.cache = {}
        self.skipped = set()

    def is_own(self, repo):
        base = repo.rsplit("/", 1)[-1]
        if repo in self.mapping or base in self.mapping:
            return True
        return any(repo.startswith(p) or ("/" + p) in ("/" + repo) for p in self.own_prefixes)

    def path_for(self, repo):
        base = repo.rsplit("/", 1)[-1]
        for key in (repo, base):
            if key in self.mapping:
                return self.mapping[key]
        for directory in self.binary_dirs:
            for candidate in (base, base.replace("-", "_")):
                path = os.path.join(directory, candidate)
                if os.path.isfile(path) and os.access(path, os.X_OK):
                    return path
        return None

    def flags(self, path):
        """Returns ({flag: default}, error) for a binary."""
        if path in self.cache:
            return self.cache[path]
        result = ({}, None)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            result = ({}, "binary %s does not exist or is not executable" % path)
        else:
            try:
                proc = subprocess.run([path, "--helpfull"], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      timeout=30, env={"PATH": "/usr/bin:/bin"})
                text = proc.stdout.decode("utf-8", "replace")
            except (OSError, subprocess.TimeoutExpired) as e:
                text, result = "", ({}, "could not run %s --helpfull: %s" % (path, e))
            flags = {}
            current = None
            for line in text.splitlines():
                m = HELP_FLAG_RE.match(line)
                if m:
                    current = m.group(1)
                    flags[current] = None
                if current is not None:
                    d = HELP_DEFAULT_RE.search(line)
                    if d:
                        flags[current] = d.group(1).strip().strip('"')
                        current = None
            if result[1] is None:
                result = (flags, None) if flags else (
                    {}, "%s --helpfull listed no flags (is it an Abseil binary?)" % path)
        self.cache[path] = result
        return result


class Checker:
    def __init__(self, docs, binaries, report):
        self.docs = docs
        self.binaries = binaries
        self.report = report
        self.workloads = [d for d in docs if d.get("kind") in WORKLOAD_KINDS]
        self.services = [d for d in docs if d.get("kind") == "Service"]
        self.configmaps = {(namespace_of(d), name_of(d)): d for d in docs if d.get("kind") == "ConfigMap"}
        # (namespace, workload) -> list of (container, resolved flags dict)
        self.container_flags = []

    # ---- helpers -------------------------------------------------------------

    def find(self, kind, namespace, name):
        for d in self.docs:
            if d.get("kind") == kind and namespace_of(d) == namespace and name_of(d) == name:
                return d
        return None

    def workloads_selected(self, namespace, selector):
        found = []
        for w in self.workloads:
            if namespace_of(w) != namespace:
                continue
            meta, _ = pod_template(w)
            if meta is not None and labels_match_selector(meta.get("labels"), selector):
                found.append(w)
        return found

    # ---- per-container rules --------------------------------------------------

    def check_workloads(self):
        for w in self.workloads:
            meta, pod = pod_template(w)
            if pod is None:
                self.report.add(w, "workload", "has no pod template")
                continue
            if w.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
                selector = (w.get("spec") or {}).get("selector")
                if not labels_match_selector(meta.get("labels"), selector):
                    self.report.add(w, "workload", "spec.selector does not match the pod template's labels")
            pod_security = pod.get("securityContext") or {}
            containers = pod.get("containers") or []
            if not containers:
                self.report.add(w, "workload", "has no containers")
            for c in containers:
                self.check_container(w, meta, pod, pod_security, c, init=False)
            for c in pod.get("initContainers") or []:
                self.check_container(w, meta, pod, pod_security, c, init=True)
            annotations = meta.get("annotations") or {}
            port = annotations.get("prometheus.io/port")
            if port is not None:
                numbers = {p.get("containerPort") for c in containers for p in c.get("ports") or []}
                if not str(port).isdigit() or int(port) not in numbers:
                    self.report.add(w, "service", "prometheus.io/port %s is not a container port" % port)

    def check_container(self, w, meta, pod, pod_security, c, init):
        name = c.get("name", "?")
        add = lambda rule, detail: self.report.add(w, rule, detail, container=name)
        ports = c.get("ports") or []
        port_numbers = {p.get("containerPort") for p in ports}
        port_names = {p.get("name") for p in ports if p.get("name")}

        # probes
        if not init:
            for probe_name in ("livenessProbe", "readinessProbe"):
                probe = c.get(probe_name)
                if not probe:
                    add("probes", "no %s" % probe_name)
            for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
                probe = c.get(probe_name) or {}
                for handler in ("grpc", "httpGet", "tcpSocket"):
                    if handler in probe:
                        port = probe[handler].get("port")
                        if port not in port_numbers and port not in port_names:
                            add("probes", "%s.%s port %s is not a container port" % (probe_name, handler, port))

        # resources
        resources = c.get("resources") or {}
        for section in ("requests", "limits"):
            values = resources.get(section) or {}
            for resource in ("cpu", "memory"):
                if resource not in values:
                    add("resources", "no %s.%s" % (section, resource))

        # image
        image = c.get("image")
        if not image:
            add("image", "no image")
        else:
            tag = image_tag(image)
            if tag is None:
                add("image", "image %s has no tag (pin a version)" % image)
            elif tag == "latest":
                add("image", "image %s uses :latest (pin a version)" % image)

        # security
        sc = c.get("securityContext") or {}
        non_root = sc.get("runAsNonRoot", pod_security.get("runAsNonRoot"))
        if non_root is not True:
            add("security", "runAsNonRoot is not true")
        if sc.get("runAsUser", pod_security.get("runAsUser")) == 0:
            add("security", "runAsUser is 0")
        if sc.get("readOnlyRootFilesystem") is not True:
            add("security", "readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            add("security", "allowPrivilegeEscalation is not false")
        if sc.get("privileged") is True:
            add("security", "privileged")
        drop = (sc.get("capabilities") or {}).get("drop") or []
        if "ALL" not in drop:
            add("security", "capabilities.drop does not contain ALL")
        if (sc.get("capabilities") or {}).get("add"):
            add("security", "capabilities.add is not empty")

        # env and flags
        env, opaque = self.resolve_env(w, c, add)
        argv = list(c.get("command") or [])[1:] + list(c.get("args") or [])
        expanded = []
        for arg in argv:
            value, undefined = expand_vars(str(arg), env)
            for var in undefined:
                if not opaque:
                    add("env", "argument %r references $(%s), which no env/envFrom defines" % (arg, var))
            expanded.append(value)
        if image and not init:  # Init containers run shell utilities, not a service.
            self.check_flags(w, pod, c, image, expanded, port_numbers, add)

    def resolve_env(self, w, c, add):
        """Returns ({name: value or None when not knowable}, opaque) for a container."""
        namespace = namespace_of(w)
        env, opaque = {}, False
        for source in c.get("envFrom") or []:
            prefix = source.get("prefix", "")
            if "configMapRef" in source:
                ref = source["configMapRef"] or {}
                cm = self.configmaps.get((namespace, ref.get("name")))
                if cm is None:
                    if not ref.get("optional"):
                        add("env", "envFrom ConfigMap %s is not in the rendered output" % ref.get("name"))
                    opaque = True
                    continue
                for key, value in (cm.get("data") or {}).items():
                    env[prefix + key] = str(value)
            else:
                opaque = True  # A Secret's keys are not knowable here.
        for item in c.get("env") or []:
            if "value" in item:
                env[item["name"]], _ = expand_vars(str(item["value"]), env)
            elif "valueFrom" in item:
                ref = item["valueFrom"].get("configMapKeyRef")
                if ref:
                    cm = self.configmaps.get((namespace, ref.get("name")))
                    if cm is None or ref.get("key") not in (cm.get("data") or {}):
                        if not ref.get("optional"):
                            add("env", "env %s: ConfigMap %s key %s is not in the rendered output"
                                % (item["name"], ref.get("name"), ref.get("key")))
                        env[item["name"]] = None
                    else:
                        env[item["name"]] = str(cm["data"][ref.get("key")])
                else:
                    env[item["name"]] = None
            else:
                env[item["name"]] = ""
        return env, opaque

    def check_flags(self, w, pod, c, image, argv, port_numbers, add):
        repo = image_repository(image)
        if not self.binaries.is_own(repo):
            if argv:
                self.report.note("flags of third-party image %s not checked" % repo)
            return
        flags = parse_flag_args(argv)
        path = self.binaries.path_for(repo)
        known = None
        if path is None:
            if self.binaries.allow_missing:
                self.binaries.skipped.add(repo)
            else:
                add("flags", "no binary for image %s to check its flags against "
                    "(pass --binary %s=PATH or --allow_missing_binaries)" % (repo, repo.rsplit("/", 1)[-1]))
        else:
            known, error = self.binaries.flags(path)
            if error:
                add("flags", error)
                known = None
        for positional in flags.get("", []):
            add("flags", "positional argument %r (servers take --flag=value only)" % positional)
        if known is not None:
            for flag in flags:
                if not flag:
                    continue
                if flag in known:
                    continue
                if flag.startswith("no") and flag[2:] in known:
                    continue
                add("flags", "--%s is not a flag of %s (%s --helpfull)" % (flag, repo, os.path.basename(path)))
        self.container_flags.append((w, c, flags))

        # ports named by flags
        for flag in ("port", "admin_port"):
            value = last(flags.get(flag))
            if value is not None and value.isdigit() and int(value) > 0 and int(value) not in port_numbers:
                add("flags", "--%s=%s is not one of the container's ports" % (flag, value))

        # shutdown grace
        grace_text = last(flags.get("shutdown_grace"))
        if grace_text is None and known is not None:
            grace_text = known.get("shutdown_grace")
        if grace_text is not None:
            grace = parse_duration_seconds(grace_text)
            if grace is None:
                add("shutdown", "--shutdown_grace=%s is not a duration" % grace_text)
            else:
                pre_stop = prestop_sleep_seconds(c)
                period = pod.get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS)
                if not period > grace + pre_stop:
                    add("shutdown", "terminationGracePeriodSeconds %s is not above --shutdown_grace "
                        "(%gs) + preStop sleep (%gs)" % (period, grace, pre_stop))

    # ---- cross-object rules ---------------------------------------------------

    def check_services(self):
        for s in self.services:
            spec = s.get("spec") or {}
            if spec.get("type") == "ExternalName":
                continue
            selector = spec.get("selector")
            if not selector:
                continue  # Endpoints managed elsewhere.
            selected = self.workloads_selected(namespace_of(s), selector)
            if not selected:
                self.report.add(s, "service", "selector %s matches no workload" % selector)
                continue
            for port in spec.get("ports") or []:
                target = port.get("targetPort", port.get("port"))
                for w in selected:
                    _, pod = pod_template(w)
                    ports = [p for c in pod.get("containers") or [] for p in c.get("ports") or []]
                    if isinstance(target, int) or str(target).isdigit():
                        ok = any(p.get("containerPort") == int(target) for p in ports)
                    else:
                        ok = any(p.get("name") == target for p in ports)
                    if not ok:
                        self.report.add(s, "service", "port %s targetPort %s is not a containerPort of %s/%s"
                                        % (port.get("name", port.get("port")), target, w["kind"], name_of(w)))

    def check_hpas(self):
        for h in (d for d in self.docs if d.get("kind") == "HorizontalPodAutoscaler"):
            spec = h.get("spec") or {}
            ref = spec.get("scaleTargetRef") or {}
            target = self.find(ref.get("kind"), namespace_of(h), ref.get("name"))
            if target is None or ref.get("kind") not in SCALABLE_KINDS:
                self.report.add(h, "hpa", "scaleTargetRef %s/%s is not a rendered Deployment/StatefulSet"
                                % (ref.get("kind"), ref.get("name")))
            lo, hi = spec.get("minReplicas", 1), spec.get("maxReplicas")
            if hi is None or lo > hi:
                self.report.add(h, "hpa", "minReplicas %s / maxReplicas %s" % (lo, hi))

    def check_pdbs(self):
        for p in (d for d in self.docs if d.get("kind") == "PodDisruptionBudget"):
            selector = (p.get("spec") or {}).get("selector")
            if not self.workloads_selected(namespace_of(p), selector):
                self.report.add(p, "pdb", "selector %s matches no workload" % selector)

    def check_ingresses(self):
        for ing in (d for d in self.docs if d.get("kind") == "Ingress"):
            spec = ing.get("spec") or {}
            backends = []
            if spec.get("defaultBackend"):
                backends.append(spec["defaultBackend"])
            for rule in spec.get("rules") or []:
                for path in (rule.get("http") or {}).get("paths") or []:
                    backends.append(path.get("backend") or {})
            for backend in backends:
                svc_ref = backend.get("service")
                if not svc_ref:
                    continue
                svc = self.find("Service", namespace_of(ing), svc_ref.get("name"))
                if svc is None:
                    self.report.add(ing, "ingress", "backend Service %s is not rendered" % svc_ref.get("name"))
                    continue
                want = svc_ref.get("port") or {}
                ports = (svc.get("spec") or {}).get("ports") or []
                if not any(("name" in want and p.get("name") == want["name"]) or
                           ("number" in want and p.get("port") == want["number"]) for p in ports):
                    self.report.add(ing, "ingress", "backend port %s is not a port of Service %s"
                                    % (want, svc_ref.get("name")))

    def check_targets_and_shards(self):
        by_namespace = {}
        for w, c, flags in self.container_flags:
            ns = namespace_of(w)
            for flag, values in flags.items():
                if not flag.endswith(("_target", "_targets")):
                    continue
                for value in values:
                    for target in filter(None, (t.strip() for t in value.split(","))):
                        self.check_dns_target(w, c, flag, target)
            group = by_namespace.setdefault(ns, {"index": [], "count": [], "targets": []})
            if "shard_index" in flags:
                group["index"].append((w, c, last(flags["shard_index"])))
            if "shard_count" in flags:
                group["count"].append((w, c, last(flags["shard_count"])))
            if "shard_targets" in flags:
                group["targets"].append((w, c, last(flags["shard_targets"])))
        for ns, group in by_namespace.items():
            shard_workloads = {(w["kind"], name_of(w)) for w, _, _ in group["index"]}
            n = len(shard_workloads)
            if not n:
                continue
            seen = {}
            for w, c, value in group["index"]:
                if not (value or "").isdigit():
                    self.report.add(w, "shards", "--shard_index=%s is not a number" % value, c.get("name"))
                    continue
                seen.setdefault(int(value), set()).add(name_of(w))
            for index, names in sorted(seen.items()):
                if len(names) > 1:
                    self.report.add(group["index"][0][0], "shards",
                                    "--shard_index=%d is used by %s" % (index, ", ".join(sorted(names))))
            missing = sorted(set(range(n)) - set(seen))
            if missing:
                self.report.add(group["index"][0][0], "shards", "%d shard workloads but no --shard_index %s"
                                % (n, ", ".join(map(str, missing))))
            for w, c, value in group["count"]:
                if value != str(n):
                    self.report.add(w, "shards", "--shard_count=%s but %d shard workloads are rendered"
                                    % (value, n), c.get("name"))
            for w, c, value in group["targets"]:
                count = len([t for t in (value or "").split(",") if t.strip()])
                if count != n:
                    self.report.add(w, "shards", "--shard_targets lists %d targets but %d shard workloads "
                                    "are rendered" % (count, n), c.get("name"))

    def check_dns_target(self, w, c, flag, target):
        m = re.match(r"^dns:(?://[^/]*)?/([^:/]+)(?::(\d+))?$", target)
        if not m:
            return
        host, port = m.group(1), m.group(2)
        ns = namespace_of(w)
        parts = host.split(".")
        if len(parts) > 1 and not (len(parts) >= 2 and parts[1] == ns):
            if not host.endswith(".svc") and ".svc." not in host:
                return  # Outside the cluster.
        svc = self.find("Service", ns if len(parts) == 1 else parts[1], parts[0])
        if svc is None:
            if len(parts) == 1:
                self.report.add(w, "targets", "--%s=%s: no Service %s is rendered" % (flag, target, host),
                                c.get("name"))
            return
        spec = svc.get("spec") or {}
        if spec.get("clusterIP") != "None":
            self.report.add(w, "targets", "--%s=%s: Service %s is not headless (clusterIP: None), so "
                            "dns:/// round-robin sees one address" % (flag, target, parts[0]), c.get("name"))
        if port and not any(str(p.get("port")) == port for p in spec.get("ports") or []):
            self.report.add(w, "targets", "--%s=%s: Service %s has no port %s" % (flag, target, parts[0], port),
                            c.get("name"))

    def run(self):
        self.check_workloads()
        self.check_services()
        self.check_hpas()
        self.check_pdbs()
        self.check_ingresses()
        self.check_targets_and_shards()


def last(values):
    return values[-1] if values else None


def expand_vars(text, env):
    """Kubernetes $(VAR) expansion; $$ escapes. Returns (text, [undefined])."""
    undefined = []
    out, i = [], 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
            continue
        m = VAR_REF_RE.match(text, i)
        if m:
            name = m.group(1)
            if name in env and env[name] is not None:
                out.append(env[name])
            else:
                if name not in env:
                    undefined.append(name)
                out.append(m.group(0))
            i = m.end()
            continue
        out.append(text[i])
        i += 1
    return "".join(out), undefined


def parse_flag_args(argv):
    """Abseil-style parsing: {flag: [values]}, positionals under ""."""
    flags = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            flags.setdefault("", []).extend(argv[i + 1:])
            break
        if arg.startswith("-") and len(arg) > 1:
            body = arg.lstrip("-")
            # We require --flag=value: without the binary's flag types,
            # `--flag value` is ambiguous (booleans take no value), so the
            # value of `--flag value` shows up as a positional argument.
            if "=" in body:
                name, value = body.split("=", 1)
            else:
                name, value = body, "true"
            flags.setdefault(name, []).append(value)
        else:
            flags.setdefault("", []).append(arg)
        i += 1
    return flags


def prestop_sleep_seconds(c):
    command = (((c.get("lifecycle") or {}).get("preStop") or {}).get("exec") or {}).get("command") or []
    if len(command) == 2 and os.path.basename(str(command[0])) == "sleep":
        return parse_duration_seconds(command[1] if not str(command[1]).isdigit() else command[1] + "s") or 0.0
    sleep = ((c.get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {}
    return float(sleep.get("seconds", 0))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", help="rendered YAML (default: stdin)")
    parser.add_argument("--binary", action="append", default=[], metavar="IMAGE=PATH",
                        help="binary of an image repository, e.g. quarry/gateway=path/to/gateway")
    parser.add_argument("--binary_dir", action="append", default=[], metavar="DIR",
                        help="directory holding binaries named after the image's last path component")
    parser.add_argument("--own_image_prefix", action="append", default=None, metavar="PREFIX",
                        help='image repositories whose flags must be checked (default: "quarry/")')
    parser.add_argument("--allow_missing_binaries", action="store_true",
                        help="skip (and list) our images that have no binary instead of failing")
    parser.add_argument("--label", default="", help="name of the rendering, for the summary line")
    args = parser.parse_args(argv)

    mapping = {}
    for item in args.binary:
        if "=" not in item:
            parser.error("--binary wants IMAGE=PATH, got %r" % item)
        image, path = item.split("=", 1)
        mapping[image_repository(image)] = path
    binaries = Binaries(mapping, args.binary_dir, args.own_image_prefix or ["quarry/"],
                        args.allow_missing_binaries)
    try:
        docs = load_documents(args.files)
    except (OSError, yaml.YAMLError) as e:
        print("check_manifests: cannot read the manifests: %s" % e, file=sys.stderr)
        return 2
    report = Report()
    checker = Checker(docs, binaries, report)
    checker.run()
    if not docs:
        report.violations.append("VIOLATION input: render: no objects (did the rendering fail?)")

    label = (args.label + ": ") if args.label else ""
    for note in report.notes:
        print("%snote: %s" % (label, note), file=sys.stderr)
    if binaries.skipped:
        print("%sSKIPPED flag checks (no binary, --allow_missing_binaries): %s"
              % (label, ", ".join(sorted(binaries.skipped))), file=sys.stderr)
    for v in report.violations:
        print(v)
    containers = sum(len((pod_template(w)[1] or {}).get("containers") or []) for w in checker.workloads)
    print("%s%d objects, %d workloads, %d containers, %d violations"
          % (label, len(docs), len(checker.workloads), containers, len(report.violations)), file=sys.stderr)
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
