"""What the frames and the audio mean: faces (detect → classify → track), voices (VAD → features →
speech emotion), and what both share (the debouncer on media time, box geometry)."""
