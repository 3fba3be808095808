"""Evaluation and diagnostics of trained checkpoints and exported bundles (nothing here trains).

report.py is the test-split report beside the references (references.py); compare.py scores
checkpoints on fresh val scenes; controls.py (shuffled audio, objectness, picture style),
camera.py (whole photographs) and calibrate.py (the sounding score, in onnxruntime-node) feed the
card; ceiling.py and cut_probe.py are box-supervised diagnostics; census.py counts a built
corpus' assets per category and split.
"""
