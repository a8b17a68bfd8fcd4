"""The face path of one camera: detect faces, classify their emotion, track them across frames.

:class:`~emostream.analysis.face.analyzer.CameraAnalyzer` runs the stages for one camera and holds
its state; the detector and classifier sessions are shared by every camera.
"""
