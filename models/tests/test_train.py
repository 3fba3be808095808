import json
import os
import tempfile
import unittest

import torch

from helpers import make_manifest, read_json
from avloc_toolkit.config import make_config
from avloc_toolkit.data import AVManifestDataset
from avloc_toolkit.train import main as train_main, train
from avloc_toolkit.evaluate import main as eval_main
from avloc_toolkit.export import main as export_main


class Train(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.data = os.path.join(cls.tmp.name, "data")
        make_manifest(cls.data, n=6)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_train_resume_log(self):
        cfg = make_config("tiny", image_size=64, window_seconds=0.5)
        out = os.path.join(self.tmp.name, "run")
        ds = AVManifestDataset(self.data, cfg, "train", seed=0)
        val = AVManifestDataset(self.data, cfg, "eval")
        s = train(cfg, ds, out, epochs=1, batch_size=3, seed=7, val_ds=val, log_every=1, echo=False)
        ck = torch.load(os.path.join(out, "last.pt"))
        self.assertEqual((ck["epoch"], ck["step"], ck["seed"]), (1, 2, 7))
        self.assertEqual(ck["config"], cfg.to_dict())
        self.assertTrue(os.path.exists(os.path.join(out, "best.pt")))
        self.assertIn("ciou@0.5", s["last_epoch"]["val"])
        s2 = train(cfg, ds, out, epochs=2, batch_size=3, seed=7, resume=True, echo=False)
        self.assertEqual(s2["step"], 4)
        with open(os.path.join(out, "train.log")) as f:
            log = f.read()
        self.assertIn("resumed from", log)
        with open(os.path.join(out, "log.jsonl")) as f:
            recs = [json.loads(l) for l in f]
        self.assertEqual([r["epoch"] for r in recs if r.get("event") == "epoch"], [1, 2])
        self.assertTrue(all(torch.isfinite(torch.tensor(r["loss"])) for r in recs if r.get("event") == "step"))

    def test_resume_reproduces_uninterrupted_run(self):
        cfg = make_config("tiny", image_size=64, window_seconds=0.5)
        a, b = os.path.join(self.tmp.name, "a"), os.path.join(self.tmp.name, "b")
        mk = lambda: AVManifestDataset(self.data, cfg, "train", seed=0)
        train(cfg, mk(), a, epochs=2, batch_size=3, seed=1, echo=False)
        train(cfg, mk(), b, epochs=1, batch_size=3, seed=1, echo=False)
        train(cfg, mk(), b, epochs=2, batch_size=3, seed=1, resume=True, echo=False)
        wa = torch.load(os.path.join(a, "last.pt"))["model"]
        wb = torch.load(os.path.join(b, "last.pt"))["model"]
        for k in wa:
            self.assertTrue(torch.allclose(wa[k].float(), wb[k].float(), atol=1e-6), k)

    def test_cli_train_export_evaluate(self):
        run = os.path.join(self.tmp.name, "cli")
        train_main(["--data", self.data, "--out", run, "--preset", "tiny", "--image-size", "64", "--window-seconds", "0.5", "--epochs", "1", "--batch-size", "3",
                    "--unfreeze-audio", "--seed", "5"])
        ck = os.path.join(run, "last.pt")
        ev = os.path.join(self.tmp.name, "eval")
        eval_main(["--data", self.data, "--checkpoint", ck, "--out", ev, "--protocol", "both", "--overlays", "2"])
        m = read_json(os.path.join(ev, "metrics.json"))
        self.assertEqual(m["n"], 6)
        self.assertTrue(0.0 <= m["ciou@0.5"] <= 1.0)
        self.assertEqual(set(m["protocols"]), {"avin", "median"})
        self.assertTrue(os.path.exists(os.path.join(ev, "ciou_curve.png")))
        self.assertEqual(len(os.listdir(os.path.join(ev, "overlays"))), 2)
        b = os.path.join(self.tmp.name, "bundle")
        export_main(["--checkpoint", ck, "--out", b, "--name", "cli-test", "--metrics", os.path.join(ev, "metrics.json")])
        card = read_json(os.path.join(b, "model.json"))
        self.assertEqual(card["training"]["epochs"], 1)
        self.assertEqual(card["training"]["seed"], 5)
        self.assertAlmostEqual(card["metrics"]["ciou@0.5"], m["ciou@0.5"])


if __name__ == "__main__":
    unittest.main()
