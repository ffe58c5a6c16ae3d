"""Evaluation: "RAG or LoRA?" answered on a person's own questions.

sets.py      evaluation sets (.jsonl / .json with question, answer, optional gold file/pages), stored by hash
scores.py    normalized exact match, contains, token F1, numbers as numbers, retrieval hit@k and MRR
config.py    EvalConfig: a set, a base model and the matrix {adapters + none} x {collections + no documents}
run.py       the run as a job: every question in every cell, through the Chat tab's prompt path; resumable
report.py    the table (cells x metrics), per-question side by side, CSV / JSON, comparison with an earlier run
service.py   EvaluationService (studio.evaluation): what the UI, the API and the command line call
__main__.py  `python -m engine.evaluate CONFIG.yaml`: a run from a YAML file, headless, prints the table
"""
