"""The validation run: a study's responses analysed per COSMIN measurement property.

:mod:`.data` reads the analysed rows (one per participant and wave, excluded sessions left
out unless asked) into frames per instrument version; the section modules turn those frames
into plain, JSON-ready dictionaries with :mod:`psychometrics`; :mod:`.run` puts the sections
together with the run's inputs so that the same inputs give the same JSON.
"""
