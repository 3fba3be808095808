"""The corpus builder's pure pieces (no package needs to be unpacked): asset splits never share an
asset and keep held-out categories out of training, scene boxes stay inside the picture and
cover several grid cells, audio mixes have the asked length, the MIDI writer and the .rcc reader
read back what they wrote."""
import random
import struct
import unittest
import zlib

import numpy as np
from PIL import Image

from helpers import MODELS_DIR  # noqa: F401
from avloc_corpus.scenes import compose
from avloc_corpus.sources import catalog, midi, splits
from avloc_corpus.sources.rcc import read_rcc


class Splits(unittest.TestCase):
    def test_assets_are_disjoint_and_held_out_is_test_only(self):
        rng = random.Random(0)
        for cat, spec in catalog.CATEGORIES.items():
            held = cat in catalog.HELD_OUT
            for kind in ("pictures", "sounds"):
                sp = splits.split_list(spec[kind], rng, held)
                ids = {s: {a["kind"] + a["ref"] for a in sp[s]} for s in sp}
                self.assertFalse(ids["train"] & ids["val"] or ids["train"] & ids["test"] or ids["val"] & ids["test"])
                self.assertEqual(sum(len(v) for v in sp.values()), len(spec[kind]))
                if held:
                    self.assertEqual(len(sp["train"]) + len(sp["val"]), 0, cat)
                else:
                    self.assertGreaterEqual(len(sp["train"]), 1, f"{cat} {kind}")

    def test_pinned_emoji_sets_go_to_their_split_whole(self):
        fake = {"icons": {n: {"body": "<g/>"} for n in ("dog", "dog-face", "cat")}}
        sets = {"openmoji": ("CC-BY-SA-4.0", fake), "noto": ("Apache-2.0", fake), "streamline-emojis": ("CC-BY-4.0", fake)}
        pics = catalog.pictures("dog", sets)
        self.assertEqual(len(pics), len(catalog.CATEGORIES["dog"]["pictures"]) + 6)
        sp = splits.split_list(pics, random.Random(1))
        where = {a["ref"]: s for s in sp for a in sp[s]}
        self.assertEqual(where["openmoji:dog"], "test")
        self.assertEqual(where["openmoji:dog-face"], "test")
        self.assertEqual(where["streamline-emojis:dog"], "val")
        self.assertEqual(where["noto:dog-face"], "train")
        self.assertEqual(sum(len(v) for v in sp.values()), len(pics))
        held = splits.split_list(catalog.pictures("lion", sets), random.Random(1), held_out=True)
        self.assertEqual(len(held["train"]) + len(held["val"]), 0)

    def test_every_asset_names_package_and_licence(self):
        for spec in catalog.CATEGORIES.values():
            for a in spec["pictures"] + spec["sounds"]:
                self.assertTrue(a["package"] and a["license"])


class Compose(unittest.TestCase):
    def test_boxes_inside_and_large_enough(self):
        rng = random.Random(1)
        pic = Image.new("RGBA", (40, 30), (255, 0, 0, 255))
        for n in (1, 2, 3):
            for _ in range(20):
                canvas = Image.new("RGB", (160, 160))
                boxes = compose.place_objects(canvas, [pic] * n, rng)
                for b in boxes:
                    self.assertTrue(0 <= b[0] < b[2] <= 160 and 0 <= b[1] < b[3] <= 160)
                    side = ((b[2] - b[0]) * (b[3] - b[1])) ** 0.5 / 160
                    self.assertGreater(side, 0.25)

    def test_mix_has_asked_length_and_no_clipping(self):
        rng = random.Random(2)
        x = np.sin(np.arange(3000) / 5).astype(np.float32)      # shorter than the window: repeated
        y, info = compose.mix_audio(x, 16000, rng, other=x * 0.5)
        self.assertEqual(len(y), 16000)
        self.assertLessEqual(float(np.abs(y).max()), 0.99 + 1e-6)
        self.assertIn("second_db", info)


class Formats(unittest.TestCase):
    def test_midi_header_and_track(self):
        spec = dict(font="x.sf2", bank=0, program=40, phrase=0, drums=False)
        data = midi._midi_file(midi._phrase_events(spec, 0.0))
        self.assertEqual(data[:4], b"MThd")
        self.assertEqual(data[14:18], b"MTrk")
        self.assertEqual(struct.unpack(">I", data[18:22])[0], len(data) - 22)
        self.assertTrue(data.endswith(b"\xFF\x2F\x00"))

    def test_rcc_round_trip(self):
        """A two-file bundle (one zlib-compressed) in Qt's v2 layout."""
        import os
        import tempfile
        names = ["a.txt", "b.bin"]
        payloads = [b"hello", zlib.compress(b"x" * 100)]
        name_blob = b"".join(struct.pack(">HI", len(n), 0) + n.encode("utf-16-be") for n in names)
        name_offs = [0, 2 + 4 + 2 * len(names[0])]
        data_blob, data_offs = b"", []
        for i, p in enumerate(payloads):
            data_offs.append(len(data_blob))
            body = p if i == 0 else struct.pack(">I", 100) + p
            data_blob += struct.pack(">I", len(body)) + body
        node = lambda name_off, flags, a, b: struct.pack(">IHII", name_off, flags, a, b) + b"\0" * 8
        tree = node(0, 2, 2, 1)                                   # root dir: 2 children from index 1
        tree += struct.pack(">IHHHI", name_offs[0], 0, 0, 0, data_offs[0]) + b"\0" * 8
        tree += struct.pack(">IHHHI", name_offs[1], 1, 0, 0, data_offs[1]) + b"\0" * 8
        header_len = 20
        tree_off = header_len
        data_off = tree_off + len(tree)
        names_off = data_off + len(data_blob)
        blob = b"qres" + struct.pack(">IIII", 2, tree_off, data_off, names_off) + tree + data_blob + name_blob
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.rcc")
            with open(path, "wb") as fh:
                fh.write(blob)
            out = read_rcc(path)
        self.assertEqual(out["/a.txt"], b"hello")
        self.assertEqual(out["/b.bin"], b"x" * 100)


if __name__ == "__main__":
    unittest.main()
