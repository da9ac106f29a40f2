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
    "syntax_error": "Your code has a syntax error in {message}:\n\n```\n{traceback}```\n\n"
                    "Fix that line: running your file (or Run All in Jupyter) before uploading shows the same error.",
    "import_error": "Importing your submission failed:\n\n```\n{traceback}```",
    "forbidden_import": "{message}",
    "missing_function": "{message}: define `compute_gradients(z, t, W_kj, W_ji, case)` at the top level of the file."
                        " It defines: {names}.",
    "wrong_signature": "Your function is defined as `{message}`, but the grader calls it with five arguments, in "
                       "this order: `compute_gradients(z, t, W_kj, W_ji, case)`. Change its parameters to match.",
    "missing_module": "Importing your submission failed: {message}. Available here: {names}. Remove that import "
                      "(nothing beyond numpy is needed for the gradients), or, if it is a file of yours, upload it "
                      "beside your main file.",
    "not_utf8": "{message}. Save the file as UTF-8 (in VS Code: click the encoding in the status bar, then "
                "\"Save with Encoding\", UTF-8; in Notepad: Save As, Encoding: UTF-8) and upload it again.",
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
INFO_INPUTS_MODIFIED = ("compute_gradients modified its input {names} (on {count} networks). Work on copies "
                        "(`W_ji = W_ji.copy()`) or avoid in-place operations such as `+=` on arguments.")
INFO_NOT_FINITE = "Some returned gradients were not finite floats (NaN or infinity) on {count} networks."
INFO_FORBIDDEN = ("Your code tried to import {names}, which this assignment does not allow: the point is to "
                  "derive the gradients yourself.")
INFO_NUMERICAL = ("Your gradients match the exact ones only to finite-difference accuracy (rescaling the inputs "
                  "moves their error the way it moves a finite-difference error, or the error is too large for "
                  "float64 work and too small for float32): they look numerically differentiated. The assignment "
                  "asks for the closed-form gradients.")

AUTOGRADER_FAULT = ("The autograder itself failed while grading this submission. This is not your fault and "
                    "says nothing about your code; your instructor can see the details. Please let them know.")
SUMMARY_ALL_PASSED = "All visible tests passed. Hidden tests are graded after the due date."
SUMMARY_FIRST_FIX = "Start with test {number} ({name}): {reason}"
NOTE_DISCOVERY = "Note: {note}"
STUDENT_OUTPUT = "\n\nWhat your code printed (first {limit} characters):\n\n```\n{text}\n```"
OUTPUT_TRUNCATED = "[... the rest was cut: print less, or only while debugging]"

# ---------------------------------------------------------------------------------------------------------------
# Diagnosis of wrong gradients (backprop_grader.diagnosis, backprop_grader.feedback).
# Names carry no number from a network, so hidden tests may show them; details and patterns are for visible tests.
# ---------------------------------------------------------------------------------------------------------------

MISTAKE_NAMES = {
    "sign_flipped": "the sign is flipped",
    "constant_factor": "off by a constant factor",
    "transposed": "transposed",
    "swapped_order": "the two gradients are returned in swapped order",
    "mse_factor_added": "an extra factor x(1−x) in the output delta (the mean-squared-error derivative)",
    "sum_t_taken_as_one": "Σ_m t_m taken as 1 in the softmax delta",
    "missing_sigmoid_derivative": "the sigmoid derivative y(1−y) is missing from the hidden layer",
    "x_derivative_for_y": "the output derivative x(1−x) used instead of y(1−y) in the hidden layer",
    "one_output_term": "the sum over outputs i is dropped (only one output's term is used)",
    "transposed_weights_in_backprop": "the transposed weight matrix (W_ji.T) is used in back-propagation",
}
MISTAKE_RECHECKS = {  # where to look in the derivation, without handing over the result
    "sign_flipped": "Re-check the sign of ∂E/∂a_i: differentiate E by a_i once more, keeping track of the minus "
                    "sign in front of the sum.",
    "constant_factor": "Re-check the constants: write down E exactly as defined (is there a 1/2, or a mean?) and "
                       "carry every constant through the chain rule.",
    "transposed": "Re-check the orientation: entry [a, b] of the gradient must be the derivative by W[a, b], so it "
                  "has the shape of the weight matrix itself.",
    "swapped_order": "Re-check the return statement: the docstring asks for (dE_dW_kj, dE_dW_ji), hidden layer "
                     "first.",
    "mse_factor_added": "Re-check ∂E/∂a_i for the cross-entropy error: work out ∂E/∂x_i and ∂x_i/∂a_i and see "
                        "what cancels when you multiply them.",
    "sum_t_taken_as_one": "Re-check the softmax delta for general targets: the assignment's targets need not sum "
                          "to 1, so keep Σ_m t_m wherever it appears.",
    "missing_sigmoid_derivative": "Re-check the chain rule through the hidden units: y_j is a sigmoid of its net "
                                  "input, and that step has a derivative too.",
    "x_derivative_for_y": "Re-check which unit's derivative belongs in the hidden layer: the chain rule passes "
                          "through the hidden unit's own sigmoid.",
    "one_output_term": "Re-check ∂E/∂y_j: a hidden unit feeds every output, so its error collects a term from each "
                       "of them.",
    "transposed_weights_in_backprop": "Re-check the back-propagation step: which index of W_ji belongs to the hidden "
                                      "unit, and which to the output?",
}
RECHECK_UNKNOWN = ("Re-derive this gradient one factor at a time, and check each factor of your code on the worked "
                   "example by hand.")
DIAGNOSIS_EITHER = "it matches more than one known mistake equally well: {options}"
DIAGNOSIS_BOTH = "two mistakes at once: {first}, and {second}"
DIAGNOSIS_SEVERAL = "more than one thing is wrong (no single known mistake explains it)"
DIAGNOSIS_UNKNOWN = "no known mistake matches"
DIAGNOSIS_FACTOR = "your values are the expected ones times {factor:g}"
DIAGNOSIS_ONE_OUTPUT = "the term used is that of output i={i}"
DIAGNOSIS_LABEL = "**Diagnosis:**"
RECHECK_LABEL = "**What to re-check:**"

AXIS_NAMES = {"W_ji": (("hidden unit", "j"), ("output", "i")), "W_kj": (("input", "k"), ("hidden unit", "j"))}
LINE_WORD = {0: "column", 1: "row"}
PATTERN_ALL_ZERO = "every entry is zero"
PATTERN_ONLY_RIGHT = "only the {line} of {label} {lines} is right; every other entry is wrong"
PATTERN_EVERY_WRONG = "every entry in the {line} of {label} {lines} is wrong; the rest is right"
PATTERN_UP_TO_SIGN = "the entries are right up to sign: the sign is wrong in {where}"
PATTERN_LINE_FACTORS = {  # (layer, axis): 0 means each column has its own factor, 1 each row
    ("W_ji", 0): "each column is off by its own factor: the output term δ_i is wrong, y_j is right",
    ("W_ji", 1): "each row is off by its own factor: the hidden-unit factor y_j is wrong, δ_i is right",
    ("W_kj", 0): "each column is off by its own factor: the hidden term δ_j is wrong, z_k is right",
    ("W_kj", 1): "each row is off by its own factor: the input factor z_k is wrong, δ_j is right",
}
PATTERN_SOME_RIGHT = "{right} of {size} entries are right, with no pattern the grader recognises"
PATTERN_ALL_WRONG = "every entry is wrong, with no pattern the grader recognises"

# ---------------------------------------------------------------------------------------------------------------
# Finding the submission (backprop_grader.discovery, backprop_grader.notebook; SPEC section 2).
# ---------------------------------------------------------------------------------------------------------------

EXPECTED_SUBMISSION = ("Expected: a file `backprop.py` that defines `compute_gradients(z, t, W_kj, W_ji, case)` "
                       "(or a notebook `backprop.ipynb` with it in a code cell).")
DISCOVERY_EMPTY = "Your submission is empty: upload `backprop.py`."
DISCOVERY_AMBIGUOUS = ("Your submission has {count} files named `{name}` ({where}), and the grader cannot tell "
                       "which one to grade: keep exactly one.")
DISCOVERY_NOTHING = "No `backprop.py` was found in your submission."
DISCOVERY_NEAR_MISS = ("`{file}` defines `{defined}`, not `compute_gradients`: rename the function and the file "
                       "(`backprop.py`).")
DISCOVERY_LISTING = "{problem}\n\n{expected}\n\nYou submitted:\n\n{listing}"
DISCOVERY_LISTING_MORE = "- … and {count} more"
NOTE_NESTED = "graded `{file}`, found below the top level of your submission."
NOTE_NOTEBOOK = ("graded the code cells of the notebook `{file}`, in order, with IPython magics and shell lines "
                 "(`%…`, `!…`) skipped; cell numbers in messages count every cell from the top.")
NOTE_OTHER_NAME = ("graded `{file}`, the only Python file that defines `compute_gradients`; name it `backprop.py` "
                   "next time.")
SUBMISSION_TOO_LARGE_START = "Your submission is too large to grade"
SUBMISSION_TOO_LARGE = (SUBMISSION_TOO_LARGE_START + ": {what}. Upload only `backprop.py` (or your notebook) and the "
                        "`.py` files it imports, not a whole folder with data, environments or outputs.")
TOO_MANY_FILES = "it holds {count} files and folders, and at most {limit} are accepted"
TOO_MANY_BYTES = "it holds {size} unpacked, and at most {limit} are accepted"
NOTEBOOK_TOO_DEEP = "it is nested too deeply to read"
NOTEBOOK_NOT_UTF8 = ("The notebook `{file}` could not be read: it is not UTF-8 text ({detail}). Open it in "
                     "Jupyter, save it, and upload it again.")
NOTEBOOK_NOT_JSON = ("The notebook `{file}` could not be read: it is not a notebook file ({detail}). Download it "
                     "again from Jupyter (File, Download, .ipynb) and upload that.")
NOTEBOOK_INVALID = ("The notebook `{file}` could not be read: it does not follow the notebook format ({detail}). "
                    "Open it in Jupyter, save it, and upload it again.")

# Failing-test reports and the summary (backprop_grader.feedback).
ON_NETWORK_START = "On the "
ON_NETWORK = ON_NETWORK_START + "{network} (K, J, I = {shape})"
SHAPES = ": your array has shape {got}, expected {expected}."
SHAPES_RIGHT = ": your array has the right shape {shape}."
FAILED_ON = "Failed on {failed} of {count} networks."
PASSED_SHARE_START = "Passed on "
TABLE_HEAD = "| entry | yours | expected | finite differences | difference |"
HIDDEN_DIAGNOSIS = "{name} (on {count} of {failed} failing networks)"
HIDDEN_DIAGNOSIS_SAMPLED = "{name} (on {count} of the {examined} failing networks examined, of {failed})"
SUMMARY_PASSED = "**Visible tests:** {passed} of {count} passed ({score:g} of {max_score:g} points)."
SUMMARY_HIDDEN = "{count} more tests are graded now and shown after the due date."
