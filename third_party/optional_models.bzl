"""An optional repository of model files kept outside the checkout.

The repository stands alone: a clone with nothing beside it must build and
pass its tests. Some tests are stronger with real model files (the
all-MiniLM-L6-v2 tokenizer and configuration, and its weights when present),
which are too large to commit. This rule looks for them and always yields a
repository:

  - with the files, when the model directory is found: the filegroup
    `all_minilm_l6_v2` holds them and `HAS_MINILM` is True;
  - empty otherwise: the filegroup is empty and `HAS_MINILM` is False, so the
    targets that need the files are not declared (build_defs/models.bzl).

Where it looks: the directory named by the environment variable
QUARRY_TEST_MODELS when that is set (a missing directory is then an error,
since someone asked for it), else `default_path` relative to the workspace
(../shared/models, the project's optional shared folder).

`STATUS` in the repository is one line for the test summary
(scripts/test_summary.py) saying whether the model-file tests were built.
The rule is `local`, so it is evaluated again on every Bazel server start:
files added beside the checkout are picked up after `bazel shutdown`.
"""

_MINILM = "all-MiniLM-L6-v2"

# Files the model-file tests read; without any of them they are not built.
_REQUIRED = ["vocab.txt", "tokenizer.json", "config.json"]

def _optional_models_impl(ctx):
    override = ctx.os.environ.get("QUARRY_TEST_MODELS", "")
    if override:
        root = ctx.path(override)
        if not root.exists:
            fail("QUARRY_TEST_MODELS=%s: no such directory" % override)
    else:
        workspace = ctx.path(Label("//:WORKSPACE")).dirname
        root = ctx.path("%s/%s" % (workspace, ctx.attr.default_path))
    minilm = root.get_child(_MINILM)
    missing = [f for f in _REQUIRED if not minilm.get_child(f).exists]
    present = not missing
    if present:
        ctx.symlink(minilm, _MINILM)
        status = "model-file tests: built, with %s from %s" % (_MINILM, root)
    else:
        status = ("model-file tests: not built, no %s in %s (set QUARRY_TEST_MODELS to a " +
                  "directory holding it)") % (_MINILM, root)
    ctx.file("BUILD", """
filegroup(
    name = "all_minilm_l6_v2",
    srcs = glob(["{name}/**"]),
    visibility = ["//visibility:public"],
)
exports_files(["STATUS"])
""".format(name = _MINILM))
    ctx.file("defs.bzl", "HAS_MINILM = %s\n" % present)
    ctx.file("STATUS", status + "\n")

optional_models_repository = repository_rule(
    implementation = _optional_models_impl,
    attrs = {"default_path": attr.string(mandatory = True)},
    environ = ["QUARRY_TEST_MODELS"],
    local = True,
)
