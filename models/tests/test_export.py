import json
import os
import tempfile
import unittest

import onnx
import torch

from helpers import MODELS_DIR, read_json
from avloc_toolkit.config import make_config
from avloc_toolkit.export import export_bundle, make_card, main as export_main
from avloc_toolkit.model import AVIN

REQUIRED = {"format", "name", "version", "method", "visual", "audio", "opset", "training", "metrics", "license"}


def dims(vi):
    return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in vi.type.tensor_type.shape.dim]


class Export(unittest.TestCase):
    def test_bundle_follows_contract(self):
        cfg = make_config("tiny")
        torch.manual_seed(0)
        with tempfile.TemporaryDirectory() as tmp:
            export_bundle(AVIN(cfg), tmp, make_card(cfg, "t"))
            card = read_json(os.path.join(tmp, "model.json"))
            self.assertTrue(REQUIRED <= set(card))
            self.assertEqual(card["format"], "avloc-model/1")
            v = onnx.load(os.path.join(tmp, "visual.onnx"))
            a = onnx.load(os.path.join(tmp, "audio.onnx"))
            self.assertEqual(v.opset_import[0].version, 17)
            self.assertEqual(dims(v.graph.input[0]), ["batch", 112, 112, 3])
            self.assertEqual(v.graph.input[0].type.tensor_type.elem_type, onnx.TensorProto.UINT8)
            self.assertEqual(dims(v.graph.output[0]), ["batch", 32, 7, 7])
            self.assertEqual(dims(a.graph.input[0]), ["batch", 16000])
            self.assertEqual(dims(a.graph.output[0]), ["batch", 32])
            ops = {n.op_type for n in a.graph.node}
            self.assertIn("Pad", ops)                  # reflect padding of the centred STFT
            pad = [n for n in a.graph.node if n.op_type == "Pad"][0]
            self.assertIn(b"reflect", [at.s for at in pad.attribute if at.name == "mode"])

    def test_fixture_bundle(self):
        fx = os.path.join(MODELS_DIR, "..", "test", "fixtures", "avin-tiny-random")
        card = read_json(os.path.join(fx, "model.json"))
        self.assertTrue(REQUIRED <= set(card))
        self.assertEqual(card["name"], "avin-tiny-random")
        self.assertEqual(card["training"]["epochs"], 0)
        self.assertTrue(card["metrics"]["random"])
        self.assertEqual(card["visual"]["grid"], [7, 7])
        self.assertEqual((card["visual"]["height"], card["visual"]["channels"]), (112, 32))
        self.assertEqual((card["audio"]["sampleRate"], card["audio"]["windowSeconds"]), (16000, 1.0))
        size = sum(os.path.getsize(os.path.join(fx, f)) for f in os.listdir(fx))
        self.assertLess(size, 600_000)

    def test_cli_random(self):
        with tempfile.TemporaryDirectory() as tmp:
            export_main(["--preset", "tiny", "--random", "--seed", "3", "--out", tmp, "--name", "x"])
            card = read_json(os.path.join(tmp, "model.json"))
            self.assertEqual(card["training"]["seed"], 3)
            self.assertTrue(card["random"])


if __name__ == "__main__":
    unittest.main()
