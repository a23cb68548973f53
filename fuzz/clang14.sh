#!/bin/sh
# The C/C++ compiler of the fuzz build (scripts/fuzz.sh passes it as CC to
# Bazel's toolchain autodetection): Debian's clang 14, minus the GCC-only
# tuning flags some packages set in their copts (services/vector_search's
# -fvect-cost-model), which clang rejects as unknown arguments.
for arg in "$@"; do
  shift
  case "$arg" in
    -fvect-cost-model=*) ;;
    *) set -- "$@" "$arg" ;;
  esac
done
exec /usr/bin/clang-14 "$@"
