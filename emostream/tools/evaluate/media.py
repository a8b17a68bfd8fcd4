"""Writing test media with PyAV: the one loop that feeds mono samples to an audio encoder.

Both the evaluation clips (:func:`emostream.tools.evaluate.speakers.write_clip`) and the codec
augmentation of training (``export/speech_room.py``) encode mono audio the same way: cut into the
encoder's frame size, each frame stamped with its sample position, the encoder flushed at the end.
"""

from __future__ import annotations

import av
import numpy as np

__all__ = ["mux_audio"]


def mux_audio(out: av.container.OutputContainer, stream: av.audio.stream.AudioStream, samples: np.ndarray,
              fmt: str, rate: int) -> None:  # fmt: skip
    """Encode mono ``samples`` (already in the encoder's sample ``fmt`` and ``rate``) into ``stream``
    of ``out``, then flush the encoder."""
    size = stream.codec_context.frame_size or 1024
    pts = 0
    for i in range(0, len(samples), size):
        chunk = np.ascontiguousarray(samples[i : i + size])
        frame = av.AudioFrame.from_ndarray(chunk[None, :], format=fmt, layout="mono")
        frame.sample_rate, frame.pts = rate, pts
        pts += len(chunk)
        for pkt in stream.encode(frame):
            out.mux(pkt)
    for pkt in stream.encode(None):
        out.mux(pkt)
