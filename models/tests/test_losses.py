"""AVIN objective pieces checked against values worked out by hand (see comments)."""
import math
import unittest

import torch

from helpers import MODELS_DIR  # noqa: F401
from avloc_toolkit.losses import (adaptive_masks, avin_losses, contrastive_loss, distance_loss,
                                  pooled_scores, similarity_maps)
from avloc_toolkit.config import make_config
from avloc_toolkit.model import AVIN, create_optimizer

sig = lambda z: 1.0 / (1.0 + math.exp(-z))
R = 1 / math.sqrt(2)


def toy_map():
    # B=2, C=2, H=1, W=2. image 0 cells (1,0),(0,1); image 1 cells (1,0),(1,0)
    fv = torch.zeros(2, 2, 1, 2)
    fv[0, :, 0, 0] = torch.tensor([1.0, 0.0])
    fv[0, :, 0, 1] = torch.tensor([0.0, 1.0])
    fv[1, :, 0, 0] = torch.tensor([1.0, 0.0])
    fv[1, :, 0, 1] = torch.tensor([1.0, 0.0])
    return fv


class Similarity(unittest.TestCase):
    def test_induction_similarities(self):
        fv = toy_map()
        ind = fv.mean((2, 3))                       # (0.5, 0.5) and (1, 0)
        S = similarity_maps(fv, ind)
        # S[i, j, cell] = cos(cell of image i, induction vector of image j)
        expect = torch.tensor([[[[R, R]], [[1.0, 0.0]]],
                               [[[R, R]], [[1.0, 1.0]]]])
        self.assertTrue(torch.allclose(S, expect, atol=1e-6))


class Masks(unittest.TestCase):
    def test_thresholds_and_soft_masks(self):
        S = torch.tensor([[[[0.9, 0.1, 0.5, 0.3]]]])        # 1 x 1 x 1 x 4, HW = 4
        m_p, m_n, tpos, tneg = adaptive_masks(S, tp=0.5, tn=0.25, ts=0.03)
        # tp*HW = 2 -> 2nd largest = 0.5; tn*HW = 1 -> smallest = 0.1
        self.assertAlmostEqual(float(tpos), 0.5, places=6)
        self.assertAlmostEqual(float(tneg), 0.1, places=6)
        for k, s in enumerate([0.9, 0.1, 0.5, 0.3]):
            self.assertAlmostEqual(float(m_p[0, 0, 0, k]), sig((s - 0.5) / 0.03), places=6)
            self.assertAlmostEqual(float(m_n[0, 0, 0, k]), 1 - sig((s - 0.1) / 0.03), places=6)

    def test_pooled_scores(self):
        S = torch.tensor([[[[0.9, 0.1, 0.5, 0.3]]]])
        m_p, m_n, _, _ = adaptive_masks(S, 0.5, 0.25, 0.03)
        SP, SN = pooled_scores(S, m_p, m_n)
        vals = [0.9, 0.1, 0.5, 0.3]
        wp = [sig((s - 0.5) / 0.03) for s in vals]
        wn = [1 - sig((s - 0.1) / 0.03) for s in vals]
        self.assertAlmostEqual(float(SP), sum(s * w for s, w in zip(vals, wp)) / sum(wp), places=5)
        self.assertAlmostEqual(float(SN), sum(s * w for s, w in zip(vals, wn)) / sum(wn), places=5)


class Contrastive(unittest.TestCase):
    def test_by_hand(self):
        SP = torch.tensor([[0.8, 0.2], [0.1, 0.6]])
        SN = torch.tensor([[0.0, -0.1], [0.3, 0.05]])
        t = 0.07
        def ce(row, label):
            z = [v / t for v in row]
            return -z[label] + math.log(sum(math.exp(v) for v in z))
        # rows: [SP[i, :], SN[i, :]]; columns (transposed): [SP[:, j], SN[:, j]]; labels = diagonal
        l1 = (ce([0.8, 0.2, 0.0, -0.1], 0) + ce([0.1, 0.6, 0.3, 0.05], 1)) / 2
        l2 = (ce([0.8, 0.1, 0.0, 0.3], 0) + ce([0.2, 0.6, -0.1, 0.05], 1)) / 2
        self.assertAlmostEqual(float(contrastive_loss(SP, SN, t)), (l1 + l2) / 2, places=4)


class Distance(unittest.TestCase):
    eps = 1e-6

    def d2(self, a, b):
        return sum((x - y + self.eps) ** 2 for x, y in zip(a, b))

    def test_orthogonal_induction_vectors_keep_only_the_diagonal(self):
        ind = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
        fa = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
        # cos(ind0, ind1) = 0 -> off-diagonal weights vanish: loss = mean(d_ii) + 0.6
        expect = (self.d2([1, 0], [1, 1]) + self.d2([0, 2], [0, 0])) / 2 + 0.6
        self.assertAlmostEqual(float(distance_loss(ind, fa, 0.6)), expect, places=5)

    def test_off_diagonal_weighted_by_visual_similarity(self):
        ind = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
        fa = torch.tensor([[0.0, 1.0], [2.0, 0.0]])
        c = R                                        # cos(ind0, ind1)
        d = [[self.d2(ind[i].tolist(), fa[j].tolist()) for j in range(2)] for i in range(2)]
        # (D * w * mask)[i, j] = D_ii on the diagonal, +cos_ij * D_ij / (B - 1) off it
        M = [[d[0][0], c * d[0][1]], [c * d[1][0], d[1][1]]]
        rows = [max(0.0, M[i][0] + M[i][1] + 0.6) for i in range(2)]
        cols = [max(0.0, M[0][j] + M[1][j] + 0.6) for j in range(2)]
        expect = (sum(rows) / 2 + sum(cols) / 2) / 2
        self.assertAlmostEqual(float(distance_loss(ind, fa, 0.6)), expect, places=5)

    def test_margin_clamp(self):
        ind = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])   # cos = -1: off-diagonal terms subtract
        fa = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])    # d_00 = d_11 ~ 0, d_01 = d_10 = 4
        self.assertAlmostEqual(float(distance_loss(ind, fa, 0.6)), 0.0, places=6)

    def test_induction_vector_is_detached(self):
        ind = torch.tensor([[1.0, 0.5], [0.2, 1.0]], requires_grad=True)
        fa = torch.tensor([[0.3, 1.0], [1.0, 0.1]], requires_grad=True)
        distance_loss(ind, fa, 0.6).backward()
        self.assertIsNone(ind.grad)
        self.assertTrue(fa.grad.abs().sum() > 0)


class Combined(unittest.TestCase):
    def test_matches_explicit_loops(self):
        torch.manual_seed(0)
        B, C, H, W = 3, 4, 3, 3
        fv = torch.randn(B, C, H, W)
        fa = torch.randn(B, C)
        lc, ld = avin_losses(fv, fa, tp=0.3, tn=0.5)
        ind = fv.mean((2, 3))
        kp, kn = int(9 * 0.3), int(9 * 0.5)
        SP = torch.zeros(B, B)
        SN = torch.zeros(B, B)
        for i in range(B):
            for j in range(B):
                s = torch.stack([torch.nn.functional.cosine_similarity(fv[i, :, y, x], ind[j], dim=0, eps=1e-12)
                                 for y in range(H) for x in range(W)])
                srt = s.sort(descending=True)[0]
                mp = torch.sigmoid((s - srt[kp - 1]) / 0.03)
                mn = 1 - torch.sigmoid((s - s.sort()[0][kn - 1]) / 0.03)
                SP[i, j] = (s * mp).sum() / mp.sum()
                SN[i, j] = (s * mn).sum() / mn.sum()
        self.assertAlmostEqual(float(lc), float(contrastive_loss(SP, SN, 0.07)), places=4)
        self.assertAlmostEqual(float(ld), float(distance_loss(ind, fa, 0.6)), places=5)

    def test_needs_two(self):
        with self.assertRaises(ValueError):
            avin_losses(torch.randn(1, 4, 2, 2), torch.randn(1, 4))


class Optimizer(unittest.TestCase):
    def test_official_groups(self):
        m = AVIN(make_config("tiny"))
        opt = create_optimizer(m)
        self.assertEqual([g["lr"] for g in opt.param_groups], [1e-5, 1e-4, 1e-4])
        self.assertEqual([g["name"] for g in opt.param_groups], ["v_encoder", "v_proj", "a_proj"])
        self.assertTrue(all(g["weight_decay"] == 1e-4 and g["betas"] == (0.9, 0.999) for g in opt.param_groups))
        self.assertFalse(any(p.requires_grad for p in m.a_encoder.parameters()))


if __name__ == "__main__":
    unittest.main()
