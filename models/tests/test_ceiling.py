"""The ceiling diagnostic's pieces: cells of a box, cell labels (scenes/scene_cache.py), the linear probe."""
import unittest

import torch
import torch.nn.functional as F

from helpers import MODELS_DIR  # noqa: F401
from avloc_corpus.reports.ceiling import audio_means, probe, probe_maps
from avloc_corpus.scenes.scene_cache import box_cells, cell_labels


class Ceiling(unittest.TestCase):
    def test_box_cells_are_the_cells_whose_centre_is_inside(self):
        cells = box_cells([0, 40, 80, 160], side=160, grid=8)     # left half, lower three quarters
        self.assertEqual(int(cells.sum()), 4 * 6)
        self.assertTrue(bool(cells[2:, :4].all()) and not bool(cells[:2].any()) and not bool(cells[:, 4:].any()))

    def test_cell_labels_later_objects_on_top_unknown_categories_background(self):
        items = [{"objects": [{"category": "dog", "box": [0, 0, 100, 100]},
                              {"category": "cat", "box": [60, 60, 160, 160]},
                              {"category": "lion", "box": [140, 0, 160, 20]}]}]
        lab = cell_labels(items, ["cat", "dog"], side=160, grid=8)[0]
        self.assertEqual(int(lab[0, 0]), 2)          # dog
        self.assertEqual(int(lab[3, 3]), 1)          # cat, pasted over the dog
        self.assertEqual(int(lab[0, 7]), 0)          # lion: not a known category
        self.assertEqual(int(lab[7, 0]), 0)          # background

    def test_probe_finds_the_category_cells(self):
        # cells of class k carry direction k (plus noise); the probe's map of category c peaks on c's cells
        g = torch.Generator().manual_seed(0)
        labels = torch.randint(0, 3, (64, 4, 4), generator=g)
        maps = F.one_hot(labels, 8).permute(0, 3, 1, 2).float() + 0.3 * torch.randn(64, 8, 4, 4, generator=g)
        lin = probe(maps, labels, n_classes=2, steps=200)
        cat = torch.ones(64, dtype=torch.long)        # category index 1 = class 2
        heat = probe_maps(lin, maps, cat)
        self.assertEqual(heat.shape, (64, 4, 4))
        inside, outside = heat[labels == 2], heat[labels != 2]
        ordered = (inside[:, None] > outside[None, :]).float().mean()     # the ROC AUC of the map
        self.assertGreater(float(ordered), 0.99)

    def test_audio_means_are_unit_category_means(self):
        emb = torch.tensor([[1.0, 0.0], [0.0, 1.0], [3.0, 4.0]])
        items = [{"sounding_category": c} for c in ("a", "a", "b")]
        m = audio_means(emb, items)
        self.assertTrue(torch.allclose(m["a"], torch.tensor([0.5 ** 0.5, 0.5 ** 0.5])))
        self.assertTrue(torch.allclose(m["b"], torch.tensor([0.6, 0.8])))


if __name__ == "__main__":
    unittest.main()
