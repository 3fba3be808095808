"""The live demo source's timing logic (models/avloc_demo): schedule, segment lookup, loop wrap,
and that the corpus' loaders come back after the spec-only split. No asset cache needed."""
import random
import unittest

import numpy as np

import helpers  # noqa: F401  (puts models/ on sys.path)
from avloc_corpus import assets, midi
from avloc_demo import choose, soundtrack


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


class SpecOnlySplit(unittest.TestCase):
    def test_loaders_are_restored(self):
        saved = (assets.load_picture, assets.load_sound, assets.load_background, midi.render_all)
        with choose._loaders_stubbed():
            self.assertIsNone(assets.load_picture({}))
        self.assertEqual((assets.load_picture, assets.load_sound, assets.load_background, midi.render_all), saved)


if __name__ == "__main__":
    unittest.main()
