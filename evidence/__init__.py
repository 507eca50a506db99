"""Evidence for the inspection corps: capture each flagged page, export it, verify it.

Capture (``crawler/pipelines/evidence.py``) packs, for every flagged ad, the
raw HTTP records, a full-page screenshot, the rendered DOM and a capture
record into one WACZ file whose ``datapackage.json`` lists every file with its
SHA-256; that manifest's own hash is stored with each hit.  ``export`` bundles
packages with a Chinese PDF report, a CSV index and a chain-of-custody record;
``verify`` recomputes every hash.
"""
