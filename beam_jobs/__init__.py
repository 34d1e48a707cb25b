"""Apache Beam jobs over nlp_core pipelines.

- `python -m beam_jobs.annotate`: annotate JSONL / .spacy corpora -> Parquet (annotate.py).

Shared pieces: options.py (flags), io.py (reading corpora), records.py (record checks and
dead letters), checking.py (duplicate ids, length batching), model.py (loading the pipeline
once per worker), arrow.py (Doc arrays -> Arrow), parquet.py (Parquet sink), summary.py
(run_summary.json). Beam is imported by these modules only; nlp_core never imports it.
"""
