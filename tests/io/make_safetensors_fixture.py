#!/usr/bin/python3
"""Writes tests/fixtures/io/python_written.safetensors, read by tests/io/test_safetensors.cpp.

The file is built with the standard library only (struct + json), following the
safetensors format: an 8-byte little-endian header length N, N bytes of JSON header padded
with spaces to a multiple of 8, then the little-endian data buffer. When the `safetensors`
package or torch is installed, the result is cross-checked against it.

Usage: /usr/bin/python3 tests/io/make_safetensors_fixture.py
The values below are mirrored in test_safetensors.cpp; change both together.
"""
import json
import pathlib
import struct

OUTPUT = (pathlib.Path(__file__).resolve().parents[1]
          / "fixtures" / "io" / "python_written.safetensors")

# (name, dtype, struct format character, shape, values); all values exact in their dtype.
TENSORS = [
    ("encoder.weight", "F32", "f", [2, 3], [0.5, -1.25, 3.0, 0.0, 1024.0, -0.0078125]),
    ("encoder.bias", "F32", "f", [3], [1.0, 2.0, -3.5]),
    ("step", "I64", "q", [], [123456789012]),
]
METADATA = {"format": "pt", "note": "written by make_safetensors_fixture.py", "unicode": "grüße ✓"}


def build():
    header = {"__metadata__": METADATA}
    data = b""
    for name, dtype, code, shape, values in TENSORS:
        chunk = struct.pack("<%d%s" % (len(values), code), *values)
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(chunk)]}
        data += chunk
    header_bytes = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)
    return struct.pack("<Q", len(header_bytes)) + header_bytes + data


def cross_check(path):
    try:
        from safetensors import safe_open
    except ImportError:
        safe_open = None
    if safe_open is not None:
        with safe_open(str(path), framework="numpy") as file:
            assert file.metadata() == METADATA
            for name, _, _, shape, values in TENSORS:
                array = file.get_tensor(name)
                assert list(array.shape) == shape and array.ravel().tolist() == values, name
        print("cross-checked with the safetensors package")
        return
    try:
        import torch
    except ImportError:
        print("neither safetensors nor torch available; no cross-check")
        return
    blob = path.read_bytes()
    (header_length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + header_length])
    dtypes = {"F32": torch.float32, "I64": torch.int64}
    for name, dtype, _, shape, values in TENSORS:
        begin, end = header[name]["data_offsets"]
        buffer = bytearray(blob[8 + header_length + begin:8 + header_length + end])
        tensor = torch.frombuffer(buffer, dtype=dtypes[dtype]).reshape(shape)
        assert tensor.flatten().tolist() == values, name
    print("cross-checked with torch", torch.__version__)


def main():
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_bytes(build())
    cross_check(OUTPUT)
    print("wrote", OUTPUT, OUTPUT.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
