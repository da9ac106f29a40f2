"""The maths of grading, beside `reference/` (the one place of the formulas themselves).

- `networks`: the worked example and the seeded random networks;
- `mistakes`: each known formula mistake, as the gradients a student making it computes;
- `verdicts`: the pass rule, the verdict on one gradient, central finite differences of E;
- `grading`: asking the worker for every network in two phases, budgets, the scale probe (`Grading`);
- `diagnosis`: which named mistake explains a wrong gradient; `locate`: where it is wrong when none does;
- `feedback`: the Markdown a failing test shows; `suite`: what each graded test of `tests/` reports;
- `cache`: the seeded networks and their finite-difference estimates, kept on disk.

Every module here holds or uses the reference, so the whole package is secret: a process that has imported any
of it must never be forked into a student's worker (`sandbox/policy.py`). Nothing is imported here: a front end
imports the module it needs (`from backprop_grader.maths.grading import Grading`), and only once it may.
"""
