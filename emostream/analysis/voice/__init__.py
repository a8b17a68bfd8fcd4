"""The voice path of one audio source: voice activity, log-mel features, speech emotion.

:class:`~emostream.analysis.voice.analyzer.VoiceAnalyzer` windows one source's audio and holds its
state; the speech model's session is shared by every source.
"""
