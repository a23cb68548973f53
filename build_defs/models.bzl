"""Targets that exist only when the optional model files are present.

See third_party/optional_models.bzl: without the files these macros declare
nothing, so `bazel build //...` and `bazel test //...` work on a clone alone,
and scripts/test.sh says in one line that the model-file tests were not built.
"""

load("@shared_models//:defs.bzl", "HAS_MINILM")

def cc_test_with_models(**kwargs):
    if HAS_MINILM:
        native.cc_test(**kwargs)

def genrule_with_models(**kwargs):
    if HAS_MINILM:
        native.genrule(**kwargs)
