"""Training, conversion and measurement of every model in ``models/``: a package, run as modules.

Each script is ``python -m export.NAME`` from the repository root, with the toolchain of
``export/requirements.txt`` (the project's ``export`` extra): ``train_face`` / ``train_speech`` train
(resumable), ``export_face`` / ``export_speech`` / ``face_detector`` / ``emotion_baseline`` convert to
ONNX, ``quantize_face`` makes the int8 file, ``measure_*`` and ``ensemble_subsets`` measure. The data
loaders (``face_data``, ``speech_data``) are shared with the tests.
"""
