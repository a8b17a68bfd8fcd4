"""Who is speaking: a camera's mouths against its microphone's voice, and the fused emotion.

:mod:`.board` is where a camera's analysis leaves each track's mouth opening and face scores for
the voice analysis to read (the two run on different threads, on one media clock); :mod:`.sync`
scores how well a mouth follows a voice; :mod:`.attribution` picks the speaker of each voiced window
and holds it across a segment; :mod:`.fusion` maps face and voice probabilities to one label set and
combines them.
"""
