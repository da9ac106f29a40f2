"""Every sentence a student reads, in one place: what is wrong, and what to do next.

Tests import these constants, so wording can change without breaking them.
"""

CASE_NAMES = {"sigmoid": "case 1 (sigmoid outputs)", "softmax": "case 2 (softmax outputs)"}
LAYER_NAMES = {"W_ji": "dE/dW_ji (output layer)", "W_kj": "dE/dW_kj (hidden layer)"}
LAYER_AXES = {"W_ji": "rows for hidden units j, columns for outputs i",
              "W_kj": "rows for inputs k, columns for hidden units j"}

# Why a call gave no usable gradient, by the worker's failure kind.
FAILURE = {
    "not_implemented": "compute_gradients is not implemented yet (it raises NotImplementedError). "
                       "Replace the `raise NotImplementedError` in backprop.py with your gradients.",
    "returned_none": "compute_gradients returned None: end it with `return dE_dW_kj, dE_dW_ji`.",
    "not_a_pair": "{message}: return a pair `(dE_dW_kj, dE_dW_ji)`, hidden layer first.",
    "wrong_count": "{message}: return exactly two arrays, `(dE_dW_kj, dE_dW_ji)`.",
    "non_numeric": "{message}. Return numpy arrays (or lists) of floats.",
    "too_large": "{message}: far larger than the weight matrices. Return arrays shaped like W_kj and W_ji.",
    "exception": "Your code raised an exception:\n\n```\n{traceback}```",
    "exit": "{message}. Do not exit; return the gradients instead.",
    "timeout": "Your code gave {message}, so it was stopped. Look for an endless loop or a very slow step.",
    "died": "{message}. It may have run out of memory ({memory_mb} MB allowed) or CPU time, or exited on purpose.",
    "protocol": "The grader could not read what your code returned ({message}). Return plain arrays of floats.",
    "skipped": "Not run: {message}.",
    "syntax_error": "backprop.py has a syntax error: {message}. Run `python backprop.py` to see it.",
    "import_error": "Importing your submission failed:\n\n```\n{traceback}```",
    "forbidden_import": "{message}",
    "missing_function": "Your file does not define `compute_gradients(z, t, W_kj, W_ji, case)`."
                        " It defines: {names}.",
    "not_found": "{message}",
}

WRONG_SHAPE = ("{layer} has shape {got}, expected {expected}: return it with {axes} "
               "(the shape of {layer_matrix}).")
NOT_FINITE = "{layer} contains NaN or infinity at {count} of {size} entries (first at {where})."
WRONG_VALUES = "{layer} is wrong: the largest error is {error:.3g} at {where}."
PASSED = "Passed."
PASSED_ALL = "Passed on all {count} networks."
PASSED_SHARE = "Passed on {passed} of {count} networks: {points:g} of {max_points:g} points."
HIDDEN_FAILED = "Failed on {failed} of {count} hidden networks. Details appear after the due date."
GATED = ("This test counts only when {first} and {second} (the worked example) pass, so that a wrong formula "
         "that happens to give zeros here earns nothing. They do not pass yet.")
FD_WRONG = ("{layer} disagrees with central finite differences of E (the grader's forward pass) on {network}: "
            "largest difference {error:.3g} at {where}.")

INFO_FOUND = "Found and imported {file}."
INFO_NOT_FOUND = "Your submission could not be imported, so no test could run:\n\n{reason}"
INFO_INPUTS_KEPT = "compute_gradients left its input arrays unchanged."
INFO_INPUTS_MODIFIED = ("compute_gradients modified its input {names} (on {count} networks). Work on copies "
                        "(`W_ji = W_ji.copy()`) or avoid in-place operations such as `+=` on arguments.")
INFO_FINITE = "Every gradient returned was a finite float array."
INFO_NOT_FINITE = "Some returned gradients were not finite floats (NaN or infinity) on {count} networks."
INFO_NO_FORBIDDEN = "No autodiff library was imported."
INFO_FORBIDDEN = ("Your code tried to import {names}, which this assignment does not allow: the point is to "
                  "derive the gradients yourself.")
INFO_NOT_NUMERICAL = "Your gradients look analytic (not numerically differentiated)."
INFO_NUMERICAL = ("Your gradients match only to finite-difference accuracy and move with the input scale the way "
                  "finite differences do: they look numerically differentiated. The assignment asks for the "
                  "closed-form gradients.")

AUTOGRADER_FAULT = ("The autograder itself failed while grading this submission. This is not your fault and "
                    "says nothing about your code; your instructor can see the details. Please let them know.")
ISOLATION_REDUCED_PREFIX = "Isolation is reduced"
SUMMARY_ALL_PASSED = "All visible tests passed. Hidden tests are graded after the due date."
SUMMARY_FIRST_FIX = "Start with test {number} ({name}): {reason}"
NOTE_DISCOVERY = "Note: {note}"
STUDENT_OUTPUT = "\n\nWhat your code printed (first {limit} characters):\n\n```\n{text}\n```"
