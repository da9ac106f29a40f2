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
    "exception": "Your code raised an exception:\n\n{traceback}",
    "exit": "{message}. Do not exit; return the gradients instead.",
    "timeout": "Your code gave {message}, so it was stopped. Look for an endless loop or a very slow step.",
    "died": "{message}. It may have used more than the {memory_mb} MB of memory or the CPU time your code may "
            "use, or exited on purpose.",
    "protocol": "The grader could not read what your code returned ({message}). Return plain arrays of floats.",
    "skipped": "Not run: {message}.",
    "syntax_error": "Your code has a syntax error in {message}:\n\n{traceback}\n\n"
                    "Fix that line: running your file (or Run All in Jupyter) before uploading shows the same error.",
    "import_error": "Importing your submission failed:\n\n{traceback}",
    "forbidden_import": "{message}",
    "missing_function": "{message}: define `compute_gradients(z, t, W_kj, W_ji, case)` at the top level of the file."
                        " It defines: {names}.",
    "wrong_signature": "Your function is defined as {message}, but the grader calls it with five arguments, in "
                       "this order: `compute_gradients(z, t, W_kj, W_ji, case)`. Change its parameters to match.",
    "missing_module": "Importing your submission failed: {message}. Available here: {names}. Remove that import "
                      "(nothing beyond numpy is needed for the gradients), or, if it is a file of yours, upload it "
                      "beside your main file.",
    "not_utf8": "{message}. Save the file as UTF-8 (in VS Code: click the encoding in the status bar, then "
                "\"Save with Encoding\", UTF-8; in Notepad: Save As, Encoding: UTF-8) and upload it again.",
    "not_found": "{message}",
}

# The start of a missing_function failure, the file's and function's names escaped (markup.escape).
MISSING_FUNCTION = "{file} does not define `compute_gradients`"
NOT_A_FUNCTION = "In {file}, `compute_gradients` is a {what}, not a function"
DID_YOU_MEAN = " (did you mean {close}? rename it)"

WRONG_SHAPE = ("{layer} has shape {got}, expected {expected}: return it with {axes} "
               "(the shape of {layer_matrix}).")
NOT_FINITE = "{layer} contains NaN or infinity at {count} of {size} entries (first at {where})."
WRONG_VALUES = "{layer} is wrong: the largest error is {error:.3g} at {where}."
PASSED = "Passed."
PASSED_ALL = "Passed on all {count} networks."
PASSED_SHARE = "Passed on {passed} of {count} networks: {points:g} of {max_points:g} points."
HIDDEN_FAILED = "Failed on {failed} of {count} networks."
HIDDEN_UNPUBLISHED = ("These networks stay unpublished, so this test shows only how many failed, how, and any mistake "
                      "the grader recognised; the visible tests show worked numbers.")  # once per test
HIDDEN_KINDS = {"values": "the values were wrong", "shape": "the shape was wrong",
                "not_finite": "your code returned NaN or infinity", "exception": "your code raised an exception",
                "timeout": "your code took too long", "died": "your code's process ended",
                "skipped": "your code was not run (an earlier limit was reached)",
                "not_implemented": "compute_gradients is not implemented yet (it raises NotImplementedError)",
                "returned_none": "your code returned None", "exit": "your code called exit",
                "forbidden_import": "your code tried to import a library this assignment does not allow"}
HIDDEN_KIND_OTHER = "your code returned something that is not a usable gradient"
HIDDEN_KINDS_ALL = "On all of them {what}."
HIDDEN_KIND_COUNT = "on {count} of them {what}"
NOT_RUN_IMPORT = "Not run: your submission could not be imported, so no test could run. Test 0.1 says why."
MEMORY_LIMIT = "Your code used more than the {memory_mb} MB of memory it may use, so the allocation failed."
PROVIDED_FORWARD_NAME = "the kit's forward.py (the grader provides it)"
GATED = ("This test counts only when {first} and {second} (the worked example) pass and both gradients are right "
         "on at least four in five of this case's random networks, so that only a derivation that is right in general "
         "earns these special networks, never a wrong formula that happens to give zeros here. That is not the "
         "case yet.")
FD_WRONG = ("{layer} disagrees with central finite differences of E (the grader's forward pass) on {network}: "
            "largest difference {error:.3g} at {where}.")

INFO_FOUND = "Found and imported {file}."
INFO_NOT_FOUND = "Your submission could not be imported, so no test could run:\n\n{reason}"
INFO_INPUTS_MODIFIED = ("compute_gradients modified its input {names} (on {count} networks). Work on copies "
                        "(`W_ji = W_ji.copy()`) or avoid in-place operations such as `+=` on arguments.")
INFO_NOT_FINITE = "Some returned gradients were not finite floats (NaN or infinity) on {count} networks."
INFO_FORBIDDEN = ("Your code tried to import {names}, which this assignment does not allow: the point is to "
                  "derive the gradients yourself.")
INFO_NUMERICAL = ("Your gradients pass, but their tiny error behaves like that of finite differences: when the "
                  "inputs z are scaled (and W_kj scaled back, so that the network computes the same thing), it changes "
                  "the way a difference quotient's error changes with its step, which rounding in exact formulas "
                  "does not do. If you computed the gradients numerically (from E at slightly changed weights), "
                  "replace that with the formulas you derived: the assignment asks for them. If you wrote out the "
                  "formulas, nothing needs to change: this check is worth no points, and your instructor can see "
                  "its numbers.")

CHECK_NOT_IMPORTED = ("Not checked: your submission could not be imported, so there was nothing to check. Test "
                      "0.1 says why.")
CHECK_NOT_RUN = ("Could not be checked: your code returned no gradients on any network (the tests above say "
                 "why).")
CHECK_NUMERICAL_NOT_RUN = ("Could not be checked: this check needs gradients that match the expected ones on the "
                           "worked example, and yours do not yet in either case.")
CHECK_NUMERICAL_NOT_RUN_ONE_CASE = ("Could not be checked: this check needs gradients that match the expected ones "
                                    "on the worked example, and yours do not yet.")
AUTOGRADER_FAULT = ("The autograder itself failed while grading this submission. This is not your fault and "
                    "says nothing about your code; your instructor can see the details. Please let them know.")
SUMMARY_ALL_PASSED = ("All visible tests passed. The other tests are graded now; their results appear after the due "
                      "date.")
SUMMARY_FIRST_FIX = "Start with test {number} ({name}): {reason}"
NOTE_DISCOVERY = "Note: {note}"
WORKED_EXAMPLE_INPUTS = ("The worked example, to follow your code through by hand (the student kit has it too, in "
                         "worked_example.json):\n\n{block}")
STUDENT_OUTPUT = "\n\nWhat your code printed (first {limit} characters):\n\n{block}"
OUTPUT_TRUNCATED = "[... the rest was cut: print less, or only while debugging]"

# ---------------------------------------------------------------------------------------------------------------
# Diagnosis of wrong gradients (backprop_grader.maths.diagnosis and .feedback).
# Names carry no number from a network, so hidden tests may show them; details and patterns are for visible tests.
# ---------------------------------------------------------------------------------------------------------------

MISTAKE_NAMES = {
    "sign_flipped": "the sign is flipped (this is the gradient of −E)",
    "constant_factor": "off by a constant factor",
    "transposed": "transposed",
    "swapped_order": "the two gradients are returned in swapped order",
    "tanh_hidden_units": "your hidden units look like tanh (y_j = tanh(s_j), with s_j = Σ_k w_kj z_k), but "
                         "this homework's are sigmoids, y_j = σ(s_j), whose derivative is y_j(1−y_j), not 1 − y_j²",
    "relu_hidden_units": "your hidden units look like ReLU (y_j = max(0, s_j), with s_j = Σ_k w_kj z_k), but "
                         "this homework's are sigmoids, y_j = σ(s_j), whose derivative is y_j(1−y_j), not a step "
                         "from 0 to 1",
    "linear_hidden_units": "your hidden units look linear (y_j = s_j = Σ_k w_kj z_k, with no activation), but "
                           "this homework's are sigmoids, y_j = σ(s_j), whose derivative is y_j(1−y_j)",
    "sigmoid_outputs_for_softmax": "your outputs look like separate sigmoids (x_i = σ(a_i), δ_i = x_i − t_i), but "
                                   "case 2's outputs are a softmax over all outputs",
    "softmax_outputs_for_sigmoid": "your outputs look like a softmax (δ_i = x_i − t_i with x = softmax(a)), but "
                                   "case 1's outputs are separate sigmoids, x_i = σ(a_i)",
    "mse_factor_added": "an extra factor x(1−x) in the output delta (the mean-squared-error derivative)",
    "mse_delta_doubled": "the output delta is the mean-squared error's, 2(x_i − t_i)x_i(1−x_i) (the derivative of "
                         "Σ_i (x_i − t_i)²), where this homework's cross-entropy belongs",
    "sum_t_taken_as_one": "Σ_m t_m taken as 1 in the softmax delta",
    "activation_for_output": "the activation a_i used where the output x_i belongs in the output delta",
    "softmax_without_exp": "the softmax computed without the exponential (a_i / Σ_m a_m)",
    "softmax_jacobian_diagonal": "only the diagonal of the softmax Jacobian is used (δ_i = t_i(x_i − 1))",
    "targets_to_label": "the targets reduced to one class label (the largest t_i set to 1, the others to 0)",
    "mean_over_outputs": "the error averaged over the outputs (divided by I)",
    "sigmoid_wrong_sign": "the sigmoid has the wrong sign (1 / (1 + e^(+a)) instead of 1 / (1 + e^(−a)))",
    "missing_sigmoid_derivative": "the sigmoid derivative y(1−y) is missing from the hidden layer",
    "x_derivative_for_y": "the output derivative x(1−x) used instead of y(1−y) in the hidden layer",
    "tanh_derivative_for_y": "tanh's derivative 1 − y² used instead of the sigmoid's y(1−y) in the hidden layer",
    "one_output_term": "the sum over outputs i is dropped (only one output's term is used)",
    "transposed_weights_in_backprop": "the transposed weight matrix (W_ji.T) is used in back-propagation",
}
MISTAKE_RECHECKS = {  # where to look in the derivation, without handing over the result
    "sign_flipped": "Re-check the sign of ∂E/∂a_i: differentiate E by a_i once more, keeping track of the minus "
                    "sign in front of the sum. The gradient points uphill; the update subtracts it.",
    "constant_factor": "Re-check the constants: write down E exactly as defined (no 1/2, no mean) and carry every "
                       "constant through the chain rule; a factor close to 1 can also be a rounded constant.",
    "transposed": "Re-check the orientation: entry [a, b] of the gradient must be the derivative by W[a, b], so it "
                  "has the shape of the weight matrix itself.",
    "swapped_order": "Re-check the return statement: the docstring asks for (dE_dW_kj, dE_dW_ji), hidden layer "
                     "first.",
    "tanh_hidden_units": "Re-check the hidden units: this homework's are sigmoids, y_j = 1 / (1 + e^(−s_j)), in "
                         "the forward pass and in the derivative you back-propagate through.",
    "relu_hidden_units": "Re-check the hidden units: this homework's are sigmoids, y_j = 1 / (1 + e^(−s_j)), in "
                         "the forward pass and in the derivative you back-propagate through.",
    "linear_hidden_units": "Re-check the hidden units: this homework's apply a sigmoid, y_j = 1 / (1 + e^(−s_j)), "
                           "in the forward pass and in the derivative you back-propagate through.",
    "sigmoid_outputs_for_softmax": "Re-check case 2's output units: each x_i is e^(a_i) divided by the sum of "
                                   "e^(a_m), and its error is −Σ_i t_i ln x_i.",
    "softmax_outputs_for_sigmoid": "Re-check case 1's output units: each x_i = σ(a_i) is a sigmoid of its own "
                                   "activation, and its error is −Σ_i [t_i ln x_i + (1 − t_i) ln(1 − x_i)].",
    "mse_factor_added": "Re-check ∂E/∂a_i for the cross-entropy error: work out ∂E/∂x_i and ∂x_i/∂a_i and see "
                        "what cancels when you multiply them.",
    "mse_delta_doubled": "Re-check which error you differentiate: this homework's E is the cross-entropy, not a "
                         "squared error; work out ∂E/∂x_i and ∂x_i/∂a_i for it and see what cancels.",
    "sum_t_taken_as_one": "Re-check the softmax delta for general targets: the assignment's targets need not sum "
                          "to 1, so keep Σ_m t_m wherever it appears.",
    "activation_for_output": "Re-check which quantity enters the output delta: a_i is the weighted sum going into "
                             "output unit i, x_i is what comes out of it.",
    "softmax_without_exp": "Re-check the softmax itself: each output is e^(a_i) divided by the sum of e^(a_m).",
    "softmax_jacobian_diagonal": "Re-check ∂E/∂a_i for softmax outputs: every output x_m depends on every a_i, so "
                                 "the chain rule sums over m, not only m = i.",
    "targets_to_label": "Re-check how you use the targets: they can be probabilities (or, in case 1, any values "
                        "from 0 to 1); use t as given, not the class it points to.",
    "mean_over_outputs": "Re-check E: it is a sum over the outputs, not a mean, so nothing is divided by I.",
    "sigmoid_wrong_sign": "Re-check your sigmoid: σ(a) = 1 / (1 + e^(−a)), which is near 1 for large positive a.",
    "missing_sigmoid_derivative": "Re-check the chain rule through the hidden units: y_j is a sigmoid of its net "
                                  "input, and that step has a derivative too.",
    "x_derivative_for_y": "Re-check which unit's derivative belongs in the hidden layer: the chain rule passes "
                          "through the hidden unit's own sigmoid.",
    "tanh_derivative_for_y": "Re-check the derivative of the hidden units' activation: these units are sigmoids, "
                             "not tanh, and the sigmoid's derivative is written with y_j and 1 − y_j.",
    "one_output_term": "Re-check ∂E/∂y_j: a hidden unit feeds every output, so its error collects a term from each "
                       "of them.",
    "transposed_weights_in_backprop": "Re-check the back-propagation step: which index of W_ji belongs to the hidden "
                                      "unit, and which to the output?",
}
RECHECK_UNKNOWN = ("Re-derive this gradient one factor at a time, and check each factor of your code on the worked "
                   "example by hand.")
DIAGNOSIS_EITHER = "it matches more than one known mistake equally well: {options}"
DIAGNOSIS_BOTH = "two mistakes at once: {first}, and {second}"
DIAGNOSIS_UNKNOWN = "no known mistake matches"
DIAGNOSIS_FACTOR = "your values are the expected ones times {factor}"
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
    ("W_ji", 0): "each column is off by its own factor: the factor y_j is right, the output term δ_i is wrong",
    ("W_ji", 1): "each row is off by its own factor: the output term δ_i is right, the factor y_j is wrong",
    ("W_kj", 0): "each column is off by its own factor: the factor z_k is right, the hidden term "
                 "δ_j = y_j(1−y_j) Σ_i δ_i w_ji is wrong",
    ("W_kj", 1): "each row is off by its own factor: the hidden term δ_j is right, the factor z_k is wrong",
}
PATTERN_NETWORK_FACTOR = ("on this network your values are the expected ones times {factor}, but the factor is "
                          "not the same on the other networks checked, so it is not a constant: look for a factor "
                          "that depends on the network (a size such as I, or a sum)")
PATTERN_DELTA_RIGHT = ("your δ_i is right (your dE/dW_ji passes), so look at the sum over i of δ_i w_ji and at "
                       "the factor y_j(1−y_j)")
PATTERN_OWN_DELTA = ("your hidden layer back-propagates your own δ_i correctly: the mistake is in δ_i, and fixing "
                     "it fixes both gradients")
PATTERN_OTHER_UNITS = ("your hidden units look like {units}, and both gradients follow from them and from your own "
                       "output term δ_i, which is not this homework's either: this homework's hidden units are "
                       "sigmoids, y_j = σ(s_j), whose derivative is y_j(1−y_j)")
UNIT_NAMES = {"tanh_hidden_units": "tanh (y_j = tanh(s_j), with s_j = Σ_k w_kj z_k)",
              "relu_hidden_units": "ReLU (y_j = max(0, s_j), with s_j = Σ_k w_kj z_k)",
              "linear_hidden_units": "linear (y_j = s_j = Σ_k w_kj z_k, with no activation)"}
PATTERN_SOME_RIGHT = "{right} of {size} entries are right, with no pattern the grader recognises"
PATTERN_ALL_WRONG = "every entry is wrong, with no pattern the grader recognises"

# ---------------------------------------------------------------------------------------------------------------
# Finding the submission (frontends/discovery.py and notebook.py; SPEC section 2).
# ---------------------------------------------------------------------------------------------------------------

EXPECTED_SUBMISSION = ("Expected: a file `backprop.py` that defines `compute_gradients(z, t, W_kj, W_ji, case)` "
                       "(or a notebook `backprop.ipynb` with it in a code cell).")
DISCOVERY_EMPTY = "Your submission is empty: upload `backprop.py`."
DISCOVERY_AMBIGUOUS = ("Your submission has {count} files named {name} ({where}), and the grader cannot tell "
                       "which one to grade: keep exactly one.")
DISCOVERY_NOTHING = "No `backprop.py` was found in your submission."
DISCOVERY_NEAR_MISS = ("{file} defines {defined}, not `compute_gradients`: rename the function and the file "
                       "(`backprop.py`).")
DISCOVERY_LISTING = "{problem}\n\n{expected}\n\nYou submitted:\n\n{listing}"
DISCOVERY_LISTING_MORE = "- … and {count} more"
NOTE_NESTED = "graded {file}, found below the top level of your submission."
NOTE_NOTEBOOK = ("graded the code cells of the notebook {file}, in order, with IPython magics and shell lines "
                 "(`%…`, `!…`) skipped; cell numbers in messages count every cell from the top.")
NOTE_OTHER_NAME = ("graded {file}, the only Python file that defines `compute_gradients`; name it `backprop.py` "
                   "next time.")
SUBMISSION_TOO_LARGE_START = "Your submission is too large to grade"
SUBMISSION_TOO_LARGE = (SUBMISSION_TOO_LARGE_START + ": {what}. Upload only `backprop.py` (or your notebook) and the "
                        "`.py` files it imports, not a whole folder with data, environments or outputs.")
TOO_MANY_FILES = "it holds {count} files and folders, and at most {limit} are accepted"
TOO_MANY_BYTES = "it holds {size} unpacked, and at most {limit} are accepted"
NOTEBOOK_TOO_DEEP = "it is nested too deeply to read"
NOTEBOOK_NOT_UTF8 = ("The notebook {file} could not be read: it is not UTF-8 text ({detail}). Open it in "
                     "Jupyter, save it, and upload it again.")
NOTEBOOK_NOT_JSON = ("The notebook {file} could not be read: it is not a notebook file ({detail}). Download it "
                     "again from Jupyter (File, Download, .ipynb) and upload that.")
NOTEBOOK_INVALID = ("The notebook {file} could not be read: it does not follow the notebook format ({detail}). "
                    "Open it in Jupyter, save it, and upload it again.")

# Failing-test reports and the summary (backprop_grader.maths.feedback).
ON_NETWORK_START = "On the "
ON_NETWORK = ON_NETWORK_START + "{network} ({details})"  # details: what the network's name says, and its sizes
NETWORK_SIZES = "K, J, I = {K}, {J}, {I}"
SHAPES = ": your array has shape {got}, expected {expected}."
SHAPES_RIGHT = ": your array has the right shape {shape}."
FAILED_ON = "Failed on {failed} of {count} networks."
PASSED_SHARE_START = "Passed on "
TABLE_HEAD = "| entry | yours | expected | finite differences | difference |"
HIDDEN_DIAGNOSIS = "{name} (on {count} of {failed} failing networks)"
HIDDEN_DIAGNOSIS_SAMPLED = "{name} (on {count} of the {examined} failing networks examined, of {failed})"
SUMMARY_PASSED = "**Visible tests:** {passed} of {count} passed ({score:g} of {max_score:g} points)."
SUMMARY_HIDDEN = "{count} more tests are graded now; their scores and outputs appear after the due date."
