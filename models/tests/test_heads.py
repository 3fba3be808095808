"""The box-supervised projections (avloc_corpus/training/train_heads.py) and the photo-only pools."""
import unittest

import helpers  # noqa: F401  (sys.path, torch threads)
import torch
import torch.nn.functional as F

from avloc_corpus.scenes.photo_corpus import photo_pool
from avloc_corpus.sources.catalog import style
from avloc_corpus.training.train_heads import Prototypes, head_losses, scene_targets
from avloc_toolkit.config import make_config
from avloc_toolkit.model import AVIN, heatmap


def toy_scenes(n: int, grid: int, cats, g: torch.Generator):
    """Scenes of 1-2 objects on a grid: each category has its own feature direction, drawn in
    the object's cells over noise; the clip is its category's direction plus noise."""
    side = grid * 10
    items, vf, af = [], torch.randn(n, 16, grid, grid, generator=g) * 0.3, torch.randn(n, 8, generator=g) * 0.3
    vdir, adir = torch.randn(len(cats), 16, generator=g), torch.randn(len(cats), 8, generator=g)
    for i in range(n):
        k = 1 + int(torch.randint(0, 2, (1,), generator=g))
        chosen = torch.randperm(len(cats), generator=g)[:k].tolist()
        objects = []
        for m, c in enumerate(chosen):
            x0 = (m * grid // 2) * 10
            box = [x0, 10, x0 + 30, 40]
            objects.append({"category": cats[c], "box": box})
            vf[i, :, 1:4, x0 // 10:x0 // 10 + 3] += vdir[c][:, None, None] * 2
        s = chosen[0]
        af[i] += adir[s]
        items.append({"objects": objects, "boxes": [objects[0]["box"]], "sounding_category": cats[s]})
    return items, vf, af, side


class Heads(unittest.TestCase):
    def test_training_puts_the_heat_on_the_sounding_object_not_the_other(self):
        torch.manual_seed(0)
        g = torch.Generator().manual_seed(0)
        cats = ["a", "b", "c", "d"]
        grid = 6
        items, vf, af, side = toy_scenes(96, grid, cats, g)
        cfg = make_config("tiny", embed_dim=8)
        model = AVIN(cfg)
        model.v_proj = torch.nn.Conv2d(16, 8, 1, bias=False)
        model.a_proj = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 8))
        protos = Prototypes(len(cats) + 1, 8)
        labels, sounding, y, present = scene_targets(items, cats, side, grid)
        self.assertEqual(int(labels[0][sounding[0]].unique().numel()), 1)   # the sounding box is one category

        def score():
            with torch.no_grad():
                h = heatmap(F.normalize(model.v_proj(vf), dim=1), F.normalize(model.a_proj(af), dim=1))
            hit = [bool(sounding[i].flatten()[h[i].flatten().argmax()]) for i in range(len(items))]
            return sum(hit) / len(hit)

        before = score()
        params = list(model.v_proj.parameters()) + list(model.a_proj.parameters()) + list(protos.parameters())
        opt = torch.optim.Adam(params, 1e-2)
        first = None
        for _ in range(150):
            out = head_losses(model, protos, vf, af, labels, sounding, y, present, 0.1, "none", 0.0, cfg)
            first = first if first is not None else float(out["loss"])
            opt.zero_grad(), out["loss"].backward(), opt.step()
        self.assertLess(float(out["loss"]), first * 0.5)
        after = score()
        # two-object scenes need the sound to choose: the peak must land on the sounding one
        self.assertGreater(after, 0.9, f"peak on the sounding object: {before:.2f} before, {after:.2f} after")

    def test_the_self_supervised_objective_is_added_when_asked(self):
        cfg = make_config("tiny", embed_dim=8)
        model = AVIN(cfg)
        model.v_proj = torch.nn.Conv2d(16, 8, 1, bias=False)
        model.a_proj = torch.nn.Linear(8, 8)
        g = torch.Generator().manual_seed(1)
        items, vf, af, side = toy_scenes(8, 6, ["a", "b", "c"], g)
        t = scene_targets(items, ["a", "b", "c"], side, 6)
        protos = Prototypes(4, 8)
        plain = head_losses(model, protos, vf, af, *t, 0.1, "none", 0.0, cfg)
        withav = head_losses(model, protos, vf, af, *t, 0.1, "avin", 0.5, cfg)
        self.assertIn("avin", withav)
        self.assertAlmostEqual(float(withav["loss"]), float(plain["loss"]) + 0.5 * float(withav["avin"]), places=4)


class PhotoPool(unittest.TestCase):
    def test_keeps_only_photographs(self):
        photo = {"kind": "file", "ref": "usr/share/tuxpaint/stamps/animals/mammals/dogs/dog.png"}
        cartoon = {"kind": "file", "ref": "usr/share/tuxpaint/stamps/vehicles/emergency/cartoon/fire_engine.png"}
        emoji = {"kind": "noto", "ref": "1f415"}
        pool = {"dog": {"pictures": [(photo, 1), (emoji, 2)], "sounds": [("s", 0)]},
                "firetruck": {"pictures": [(cartoon, 3)], "sounds": [("t", 0)]}}
        out = photo_pool(pool)
        self.assertEqual([p[1] for p in out["dog"]["pictures"]], [1])
        self.assertEqual(out["firetruck"]["pictures"], [])
        self.assertEqual(out["dog"]["sounds"], pool["dog"]["sounds"])
        self.assertEqual(style("file:" + photo["ref"]), "photo")


if __name__ == "__main__":
    unittest.main()
