"""quarry_proto_library: one .proto directory -> one C++ library.

Runs Debian's protoc with grpc_cpp_plugin in a genrule (no rules_proto, nothing
fetched) and produces, for `name`:
  :name        messages (.pb.h/.pb.cc) and gRPC stubs (.grpc.pb.h/.grpc.pb.cc)
  :name_mock   gMock stubs (*_mock.grpc.pb.h), testonly
  :name_protos the .proto files, for dependants' imports and for reflection tests
Headers are included as "quarry/<area>/v1/<file>.pb.h": the import root is protos/.
"""

_ROOT = "protos"

def quarry_proto_library(name, srcs, deps = [], visibility = ["//visibility:public"]):
    """Declares the C++ library for the .proto files in `srcs`.

    Args:
      name: the library name; by convention the area (e.g. "gateway").
      srcs: .proto files in this package.
      deps: other quarry_proto_library targets whose protos these import.
      visibility: visibility of the generated targets.
    """
    stems = [src[:-len(".proto")] for src in srcs]
    hdrs = [s + ".pb.h" for s in stems] + [s + ".grpc.pb.h" for s in stems]
    cc_srcs = [s + ".pb.cc" for s in stems] + [s + ".grpc.pb.cc" for s in stems]
    mocks = [s + "_mock.grpc.pb.h" for s in stems]

    native.filegroup(
        name = name + "_protos",
        srcs = srcs + [d + "_protos" for d in deps],
        visibility = visibility,
    )

    native.genrule(
        name = name + "_codegen",
        srcs = srcs + [d + "_protos" for d in deps],
        outs = hdrs + cc_srcs + mocks,
        cmd = " ".join([
            "protoc",
            "-I" + _ROOT,
            "--cpp_out=$(GENDIR)/" + _ROOT,
            "--plugin=protoc-gen-grpc=$$(command -v grpc_cpp_plugin)",
            "--grpc_out=generate_mock_code=true:$(GENDIR)/" + _ROOT,
        ] + ["$(location %s)" % src for src in srcs]),
        message = "protoc " + native.package_name(),
    )

    native.cc_library(
        name = name,
        srcs = cc_srcs,
        hdrs = hdrs,
        strip_include_prefix = "/" + _ROOT,
        deps = deps + ["//third_party:grpc", "//third_party:protobuf"],
        visibility = visibility,
    )

    native.cc_library(
        name = name + "_mock",
        testonly = True,
        hdrs = mocks,
        strip_include_prefix = "/" + _ROOT,
        deps = [name, "//third_party:gmock"],
        visibility = visibility,
    )
