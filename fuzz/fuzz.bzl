"""One libFuzzer target, usable with and without clang.

quarry_fuzzer(name = "x_fuzzer", ...) makes:
  x_fuzzer_lib         the fuzz body (LLVMFuzzerTestOneInput), alwayslink;
  x_fuzzer             under --config=fuzz (clang, scripts/fuzz.sh) the libFuzzer
                       binary; otherwise the same body behind replay_main, a tool
                       that runs the files or directories given on its command line;
  x_fuzzer_regression  a cc_test replaying corpus/x/ with the normal toolchain, so
                       `bazel test //fuzz/...` keeps the seeds passing without clang.
"""

def quarry_fuzzer(name, srcs, deps = [], corpus = None):
    if not corpus:
        corpus = name[:-len("_fuzzer")] if name.endswith("_fuzzer") else name
    native.cc_library(
        name = name + "_lib",
        testonly = True,
        srcs = srcs,
        deps = deps + [":fuzz_check"],
        alwayslink = True,
    )
    native.cc_binary(
        name = name,
        testonly = True,
        deps = [":" + name + "_lib"] + select({
            ":fuzzing": [],
            "//conditions:default": [":replay_main"],
        }),
    )
    native.cc_test(
        name = name + "_regression",
        size = "small",
        args = ["fuzz/corpus/" + corpus],
        data = native.glob(["corpus/" + corpus + "/**"]),
        deps = [
            ":" + name + "_lib",
            ":replay_main",
        ],
    )
