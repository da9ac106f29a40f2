"""The front ends: one module per command, and what the commands share.

- the commands (`python -m backprop_grader COMMAND`, each with `register(commands)` and `run(args)`):
  `grade_command` over `grade` (grade one submission, always writing results.json), `batch` over `batch_job`
  (a whole class, one long-lived grading job per core), `build` (the upload), `simulate` with
  `simulate_container` (Gradescope on this machine), `student_kit`, `cleanup`;
- finding the submission: `discovery`, `notebook`, `metadata` (Gradescope's submission_metadata);
- what they write: `plugin` (the pytest plugin) and `results` (results.json), `report` and `pages` (batch's
  report and its pages), `writable` (output paths that cannot be written say so in one line).

Nothing is imported here: `grade`'s early fork needs its own imports to hold nothing secret (sandbox/policy.py), and
each command imports only what it needs.
"""
