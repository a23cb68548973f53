#!/usr/bin/python3
"""Structural checks of deploy/docker/Dockerfile (no Docker engine needed).

Docker cannot run on the build machines, so this parses the Dockerfile and
asserts what the images must be: multi-stage; the build stage is
Debian 12 and builds //services/${SERVICE} with Bazel; the final stage is
debian:bookworm-slim, installs no -dev packages, copies the binary from the
build stage and runs as a non-root user; no HEALTHCHECK anywhere.
Exits 1 listing every failed check.
"""

import re
import sys


def instructions(text):
    """[(KEYWORD, argument)] with line continuations joined, comments dropped."""
    out, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # A comment inside a continued RUN.
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, arg = current.partition(" ")
        out.append((keyword.upper(), arg.strip()))
        current = ""
    if current:
        keyword, _, arg = current.partition(" ")
        out.append((keyword.upper(), arg.strip()))
    return out


def substitute(text, args):
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), m.group(0)), text)


def check(text):
    problems = []
    global_args, stages = {}, []
    for keyword, arg in instructions(text):
        if keyword == "FROM":
            parts = substitute(arg, global_args).split()
            image = [p for p in parts if not p.startswith("--")][0]
            name = parts[parts.index("AS") + 1] if "AS" in parts else (parts[parts.index("as") + 1] if "as" in parts else None)
            stages.append({"image": image, "name": name, "steps": []})
        elif not stages:
            if keyword == "ARG":
                key, _, value = arg.partition("=")
                global_args[key] = value
        else:
            stages[-1]["steps"].append((keyword, arg))
    if len(stages) < 2:
        problems.append("not multi-stage: %d FROM" % len(stages))
        return problems
    build, final = stages[0], stages[-1]
    if build["image"] not in ("debian:bookworm", "debian:12"):
        problems.append("build stage is %s, want debian:bookworm" % build["image"])
    if not any(k == "RUN" and "bazel build" in a and "//services/${SERVICE}" in a for k, a in build["steps"]):
        problems.append("build stage does not `bazel build //services/${SERVICE}...`")
    if not any(k == "RUN" and "scripts/setup.sh" in a for k, a in build["steps"]):
        problems.append("build stage does not install packages with scripts/setup.sh")
    if not any(k == "ARG" and a.split("=")[0] == "SERVICE" for k, a in build["steps"]):
        problems.append("build stage has no ARG SERVICE")
    if final["image"] != "debian:bookworm-slim":
        problems.append("final stage is %s, want debian:bookworm-slim" % final["image"])
    if not any(k == "COPY" and ("--from=%s" % build["name"]) in a for k, a in final["steps"]):
        problems.append("final stage does not COPY --from=%s" % build["name"])
    for k, a in final["steps"]:
        if k == "RUN" and "apt-get install" in a:
            dev = [w for w in a.split() if w.endswith("-dev")]
            if dev:
                problems.append("final stage installs -dev packages: %s" % " ".join(dev))
    users = [a for k, a in final["steps"] if k == "USER"]
    if not users:
        problems.append("final stage has no USER (it would run as root)")
    else:
        user = users[-1].split(":")[0]
        if user in ("0", "root") or not user:
            problems.append("final stage runs as %s" % users[-1])
        elif not user.isdigit():
            # Kubernetes' runAsNonRoot can only verify a numeric USER.
            problems.append("final USER %s is not numeric (runAsNonRoot cannot verify names)" % user)
    if not any(k in ("ENTRYPOINT", "CMD") for k, _ in final["steps"]):
        problems.append("final stage has no ENTRYPOINT/CMD")
    for stage in stages:
        if any(k == "HEALTHCHECK" for k, _ in stage["steps"]):
            problems.append("HEALTHCHECK in stage %s (Kubernetes probes do that)" % (stage["name"] or stage["image"]))
    return problems


def main(argv):
    if len(argv) != 2:
        print("usage: check_dockerfile.py Dockerfile", file=sys.stderr)
        return 2
    problems = check(open(argv[1], encoding="utf-8").read())
    for p in problems:
        print("DOCKERFILE %s: %s" % (argv[1], p))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
