"""Apache Beam jobs over nlp_core pipelines.

- `python -m beam_jobs.annotate`: annotate JSONL / .spacy corpora -> Parquet (annotate.py).
- `python -m beam_jobs.convert_vectors`: a word-vector file -> the pipeline directory `init
  vectors` writes (convert_vectors.py, with vector_options.py, vector_rows.py,
  vector_table.py, vector_writer.py, vector_memory.py: peak RSS per worker).
- `python -m beam_jobs.prepare_pretraining`: raw text -> a cleaned, filtered, deduplicated,
  shuffled and sharded pretraining corpus (prepare_pretraining.py, with
  pretraining_options.py, pretraining_read.py: every input format, pretraining_text.py:
  normalisation and boilerplate lines, pretraining_filters.py: the Gopher rules, pretraining_langid.py: --lang,
  pretraining_exact.py: exact dedupe and dropping near duplicates, pretraining_pieces.py:
  sentences and --max-tokens pieces, pretraining_shards.py: shuffle and shards,
  pretraining_stats.py: stats.json).
- `NearDedupe` (near_dedupe.py, with minhash.py): the near-duplicate removal transform of the
  pretraining-corpus job (MinHash, LSH, verified pairs, distributed connected components).

Shared pieces, in the order a record meets them: options.py (flags), io.py (reading
corpora in byte ranges) with compressed.py (bounded, checked decompression), records.py
(record checks and dead letters), checking.py (duplicate ids, length batching), model.py
(loading the pipeline once per worker) with pieces.py (long documents in pieces),
annotating.py (the annotate DoFn), arrow.py (Doc arrays -> Arrow), tensors.py (the tensors
table), parquet.py (Parquet sink), summary.py (run_summary.json), output_dir.py and
output_lock.py (staging, the swap into --output, the lock), job_runner.py (a job's run
life cycle and command line), shards.py and shard_annotating.py (the annotate job's input
shards, each committed to OUTPUT.partial/ for --resume), peak_memory.py (each worker's
peak RSS as a Beam metric). Beam is imported by these
modules only; nlp_core never imports it.
"""
