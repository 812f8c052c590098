"""tools/model_shape.py reads a model's layers and MLP width without loading it; its GGUF header
reader is checked against the `gguf` library's reader on the packaged default model."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tools.model_shape import ModelShape, gguf_header, model_shape, shape_for_spec


def test_the_default_model_has_30_layers_of_1536_neurons():
    assert shape_for_spec("smollm2") == ModelShape(30, 1536)


def test_the_header_reader_agrees_with_the_gguf_library():
    gguf = pytest.importorskip("gguf")
    from tools.models.loading import default_gguf

    path = default_gguf()
    ours = gguf_header(path)
    reader = gguf.GGUFReader(path)
    for key in ("llama.block_count", "llama.feed_forward_length", "llama.embedding_length",
                "llama.attention.head_count", "general.architecture"):
        field = reader.fields[key]
        theirs = field.contents() if hasattr(field, "contents") else field.parts[field.data[0]].tolist()
        theirs = theirs[0] if isinstance(theirs, list) and len(theirs) == 1 else theirs
        if isinstance(theirs, (bytes, bytearray)):
            theirs = theirs.decode()
        assert ours[key] == theirs, key


def test_a_config_folder_and_unreadable_inputs(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"num_hidden_layers": 4, "intermediate_size": 64}))
    assert model_shape(tmp_path) == ModelShape(4, 64)
    nested = tmp_path / "gemma"
    nested.mkdir()
    (nested / "config.json").write_text(json.dumps({"text_config": {"num_hidden_layers": 26, "intermediate_size": 8}}))
    assert model_shape(nested) == ModelShape(26, 8)
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00")  # truncated
    assert model_shape(bad) is None
    assert model_shape(tmp_path / "missing") is None


def test_reading_the_shape_imports_no_torch():
    code = ("import sys\nfrom tools.model_shape import shape_for_spec\nshape_for_spec('smollm2')\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
