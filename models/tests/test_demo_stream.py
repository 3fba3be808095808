"""The live demo source's timing logic (models/avloc_demo): schedule, segment lookup, loop wrap,
and that the corpus' loaders come back after the spec-only split. No asset cache needed."""
import random
import unittest

import numpy as np

import helpers  # noqa: F401  (puts models/ on sys.path)
from avloc_corpus.sources import assets, midi
from avloc_demo import choose, score, soundtrack


class Schedule(unittest.TestCase):
    def test_neighbours_differ_including_the_wrap_and_objects_share_time(self):
        for n_obj in (2, 3, 4):
            for n_seg in range(n_obj, 20):
                for seed in range(5):
                    order = soundtrack.make_schedule(n_obj, n_seg, random.Random(seed))
                    self.assertEqual(len(order), n_seg)
                    pairs = list(zip(order, order[1:] + order[:1]))
                    if not (n_obj == 2 and n_seg % 2):   # 2 objects, odd length: a repeat is unavoidable
                        self.assertTrue(all(a != b for a, b in pairs), (n_obj, n_seg, seed, order))
                    counts = np.bincount(order, minlength=n_obj)
                    self.assertLessEqual(counts.max() - counts.min(), 2, (n_obj, n_seg, order))


class Track(unittest.TestCase):
    def setUp(self):
        rate, seg_s = 16000, 0.5
        self.rate = rate
        loop = np.concatenate([np.full(int(seg_s * rate), v, dtype=np.float32) for v in (0.1, 0.2, 0.3)])
        self.track = soundtrack.Soundtrack(loop, [2, 0, 1], seg_s, rate)

    def test_a_frame_on_a_switch_belongs_to_the_new_segment(self):
        fps = 15
        for n in range(200):
            s0 = n * self.rate // fps
            expect = [2, 0, 1][int(np.floor(n / fps / 0.5 + 1e-9)) % 3]
            self.assertEqual(self.track.sounding(s0), expect, n)

    def test_chunks_wrap_around_the_loop_without_a_gap(self):
        n = len(self.track.pcm)
        pieces = b"".join(self.track.chunk(a, a + 1067) for a in range(n - 5000, n + 5000, 1067))
        got = np.frombuffer(pieces, "<i2")
        want = self.track.pcm[np.arange(n - 5000, n - 5000 + len(got)) % n]
        np.testing.assert_array_equal(got, want)


class Score(unittest.TestCase):
    def test_peaks_are_matched_by_pts_despite_a_constant_offset(self):
        truth = [{"ptsMs": k * 1000 / 15, "sounding": k // 30 % 2, "sinceSwitchMs": k % 30 * 1000 / 15,
                  "boxes": [[0, 0, 100, 100], [200, 0, 300, 100]], "size": [400, 100]} for k in range(120)]
        # peaks on the sounding object, except on frame 50, where it is on the silent one
        maps = [{"ptsMs": round(t["ptsMs"]) + 23, "peak": {"u": (50 + 200 * (t["sounding"] ^ (k == 50))) / 400, "v": 0.5}}
                for k, t in enumerate(truth)]
        got = score.score(truth, maps, settle_ms=1000)
        self.assertEqual(got["heatmaps"], 120 - 4 * 15)
        self.assertAlmostEqual(got["pts_offset_ms"], 23, delta=1)
        self.assertAlmostEqual(got["hit"], 59 / 60)
        self.assertAlmostEqual(got["on_a_silent_object"], 1 / 60)
        self.assertAlmostEqual(got["chance"], 0.25)


class SpecOnlySplit(unittest.TestCase):
    def test_loaders_are_restored(self):
        saved = (assets.load_picture, assets.load_sound, assets.load_background, midi.render_all)
        with choose._loaders_stubbed():
            self.assertIsNone(assets.load_picture({}))
        self.assertEqual((assets.load_picture, assets.load_sound, assets.load_background, midi.render_all), saved)


if __name__ == "__main__":
    unittest.main()
