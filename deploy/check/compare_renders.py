#!/usr/bin/python3
"""Checks that two renderings hold the same objects: the Helm chart's default
render against the kustomize base ("templates that produce the same objects
as the kustomize base").

Usage: compare_renders.py BASE.yaml HELM.yaml --strip_prefix quarry-

Objects are matched by kind and name, after dropping kustomize's generator
hash suffix (ConfigMap/Secret) and the release prefix. For matched objects it
compares what clients and the checker depend on: per container the flag names
passed, container ports and which probes exist; Service ports and clusterIP;
HPA target kind and metric types; replicas. Exits 1 listing every difference.
"""

import argparse
import re
import sys

import yaml

HASH_RE = re.compile(r"-[a-z0-9]{10}$")


def load(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def normal_name(doc, prefix):
    name = doc["metadata"]["name"]
    if doc["kind"] in ("ConfigMap", "Secret"):
        name = HASH_RE.sub("", name)
    if prefix and name.startswith(prefix):
        name = name[len(prefix):]
    return name


def summary(doc, prefix):
    kind, spec = doc["kind"], doc.get("spec") or {}
    out = {}
    if kind in ("Deployment", "StatefulSet"):
        pod = spec["template"]["spec"]
        out["replicas"] = spec.get("replicas")
        for group in ("initContainers", "containers"):
            for c in pod.get(group) or []:
                flags = sorted({a.split("=", 1)[0] for a in c.get("args") or [] if str(a).startswith("-")})
                out["%s/%s flags" % (group, c["name"])] = flags
                out["%s/%s ports" % (group, c["name"])] = sorted(
                    (p.get("name"), p.get("containerPort")) for p in c.get("ports") or [])
                out["%s/%s probes" % (group, c["name"])] = sorted(
                    k for k in ("livenessProbe", "readinessProbe", "startupProbe") if k in c)
                out["%s/%s env" % (group, c["name"])] = sorted(e["name"] for e in c.get("env") or [])
        out["volumes"] = sorted(v["name"] for v in pod.get("volumes") or [])
        out["volumeClaimTemplates"] = sorted(v["metadata"]["name"] for v in spec.get("volumeClaimTemplates") or [])
    elif kind == "Service":
        out["clusterIP"] = spec.get("clusterIP")
        out["ports"] = sorted((p.get("name"), p.get("port"), str(p.get("targetPort"))) for p in spec.get("ports") or [])
    elif kind == "HorizontalPodAutoscaler":
        ref = spec.get("scaleTargetRef") or {}
        out["target"] = (ref.get("kind"), normal_name({"kind": ref.get("kind"), "metadata": {"name": ref.get("name")}}, prefix))
        out["metrics"] = sorted(m.get("type") for m in spec.get("metrics") or [])
    elif kind == "ConfigMap":
        out["keys"] = sorted((doc.get("data") or {}).keys())
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base")
    parser.add_argument("other")
    parser.add_argument("--strip_prefix", default="")
    args = parser.parse_args(argv)
    a = {(d["kind"], normal_name(d, args.strip_prefix)): d for d in load(args.base)}
    b = {(d["kind"], normal_name(d, args.strip_prefix)): d for d in load(args.other)}
    problems = []
    for key in sorted(set(a) - set(b)):
        problems.append("only in %s: %s/%s" % (args.base, *key))
    for key in sorted(set(b) - set(a)):
        problems.append("only in %s: %s/%s" % (args.other, *key))
    for key in sorted(set(a) & set(b)):
        sa, sb = summary(a[key], args.strip_prefix), summary(b[key], args.strip_prefix)
        for field in sorted(set(sa) | set(sb)):
            if sa.get(field) != sb.get(field):
                problems.append("%s/%s %s: %s != %s" % (key[0], key[1], field, sa.get(field), sb.get(field)))
    for p in problems:
        print("DIFFERENCE " + p)
    print("compared %d and %d objects, %d differences" % (len(a), len(b), len(problems)), file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
