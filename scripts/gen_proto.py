"""Generate the Python code for proto/tidings/v1 into services/common/pb, and the client
frame's code (client.proto) into the SDK too, which imports nothing of the server.

protoc writes imports as `from tidings.v1 import x_pb2`; they are rewritten to the
package path so that the generated code needs nothing added to sys.path.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
PACKAGE = "services.common.pb"
IMPORT_RE = re.compile(r"^from tidings\.v1 import", re.MULTILINE)
SDK_PB = ROOT / "sdk" / "python" / "tidings_client" / "pb"
SDK_FILES = ("client_pb2.py", "client_pb2.pyi")


def generate(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    grpc_include = Path(protoc.__file__).parent / "_proto"
    bin_dir = Path(sys.executable).parent
    args = [
        "grpc_tools.protoc",
        f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
        f"-I{PROTO_ROOT}",
        f"-I{grpc_include}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--mypy_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for path in out_dir.rglob("*.py*"):
        text = path.read_text()
        path.write_text(IMPORT_RE.sub(f"from {PACKAGE}.tidings.v1 import", text))
    for pkg in (out_dir, out_dir / "tidings", out_dir / "tidings" / "v1"):
        (pkg / "__init__.py").touch()


def main() -> None:
    target = ROOT / "services" / "common" / "pb"
    if len(sys.argv) > 1 and sys.argv[1] == "--check":
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp))
            stale = [
                str(p.relative_to(tmp))
                for p in Path(tmp).rglob("*")
                if p.is_file()
                and (
                    not (target / p.relative_to(tmp)).exists()
                    or (target / p.relative_to(tmp)).read_bytes() != p.read_bytes()
                )
            ]
        stale += [
            f"sdk:{name}"
            for name in SDK_FILES
            if not (SDK_PB / name).exists()
            or (SDK_PB / name).read_bytes() != (target / "tidings" / "v1" / name).read_bytes()
        ]
        if stale:
            raise SystemExit(f"generated code is stale, run `make proto`: {stale}")
        return
    shutil.rmtree(target / "tidings", ignore_errors=True)
    generate(target)
    SDK_PB.mkdir(exist_ok=True)
    (SDK_PB / "__init__.py").touch()
    for name in SDK_FILES:
        shutil.copyfile(target / "tidings" / "v1" / name, SDK_PB / name)


if __name__ == "__main__":
    main()
