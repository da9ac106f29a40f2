"""autograder.toml validation: every key is checked, and a bad one stops grading with a message naming the key,
the file and what is allowed; the rubric's points must add up to its total."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from helpers import PROJECT, run_grader

from backprop_grader.config import TEST_NUMBERS, VISIBILITIES, load_config
from backprop_grader.errors import GraderError

DEFAULT = (PROJECT / "autograder.toml").read_text(encoding="utf-8")
CASES_LINE = 'cases = ["sigmoid", "softmax"]'


def _write(tmp_path, text: str):
    path = tmp_path / "autograder.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path, text: str) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(GraderError) as raised:
        load_config(path)
    message = str(raised.value)
    assert str(path) in message  # every message names the file
    return message


def test_the_project_configuration_is_valid_and_adds_up():
    config = load_config()
    assert set(config.tests) == set(TEST_NUMBERS)
    assert sum(t.points for t in config.tests.values()) == config.total == 100


@pytest.mark.parametrize("old, new, names", [
    ("[limits]", "[limits]\ncall_secs = 3", ["limits.call_secs", "call_seconds"]),
    ("[rubric]", "[rubrics]\n[rubric]", ["rubrics", "rubric, networks"]),
    ('[rubric.tests."1.1"]', '[rubric.tests."1.8"]\npoints = 0\n[rubric.tests."1.1"]', ['rubric.tests.1.8', "2.7"]),
    ('visibility = "visible"', 'visibility = "visible"\nweight = 2', ['rubric.tests."1.1".weight', "points"]),
    ("[imports]", "[imports]\nallowed = []", ["imports.allowed", "forbidden"]),
])
def test_unknown_keys_are_named_with_the_allowed_ones(tmp_path, old, new, names):
    message = _error(tmp_path, DEFAULT.replace(old, new, 1))
    assert "unknown key" in message
    for name in names:
        assert name in message


def test_invalid_visibility_lists_the_allowed_values(tmp_path):
    message = _error(tmp_path, DEFAULT.replace('visibility = "visible"', 'visibility = "hiden"', 1))
    assert '"1.1".visibility' in message and "'hiden'" in message
    assert all(v in message for v in VISIBILITIES), message


@pytest.mark.parametrize("key, bad", [("call_seconds", "-1"), ("memory_mb", "1.5"), ("random_count", '"25"'),
                                      ("rtol", "true"), ("seed", "-3")])
def test_invalid_numbers_name_the_key_and_the_range(tmp_path, key, bad):
    message = _error(tmp_path, re.sub(rf"(?m)^{key} = .*$", f"{key} = {bad}", DEFAULT))
    assert f".{key}" in message and "expected" in message and " to " in message


def test_points_must_add_up_to_the_total(tmp_path):
    message = _error(tmp_path, DEFAULT.replace("total = 100", "total = 90", 1))
    assert "add up to 100" in message and "rubric.total" in message and "90" in message


@pytest.mark.parametrize("old, new, words", [
    ('[rubric.tests."2.7"]\npoints = 2\nvisibility = "after_due_date"\n', "", ['"2.7"', "missing"]),
    ('[rubric.tests."2.7"]\npoints = 2\n', '[rubric.tests."2.7"]\n', ['"2.7".points', "missing"]),
    ("[networks]\nseed = 20261128", "[networks]", ["networks.seed", "missing"]),
    ("[imports]\nforbidden = [", '[imports]\nforbidden = ["not a module", ', ["imports.forbidden"]),
    ("min_units = 2 ", "min_units = 9 ", ["min_units", "max_units"]),
])
def test_missing_or_inconsistent_values_are_named(tmp_path, old, new, words):
    assert old in DEFAULT
    message = _error(tmp_path, DEFAULT.replace(old, new, 1))
    for word in words:
        assert word in message


def test_tables_that_are_not_tables_are_named(tmp_path):
    rubric_tests = DEFAULT.split('[rubric.tests."1.1"]')[0] + "\n[networks]" + DEFAULT.split("[networks]")[1]
    assert "[rubric.tests] " in _error(tmp_path, rubric_tests.replace("total = 100", "total = 100\ntests = 3"))
    no_limits = DEFAULT.split("[limits]")[0] + "[imports]" + DEFAULT.split("[imports]")[1]
    assert "[limits] " in _error(tmp_path, "limits = 3\n" + no_limits)


def test_not_toml_is_named(tmp_path):
    assert "not valid TOML" in _error(tmp_path, DEFAULT + "\n[[[")


def test_a_bad_configuration_stops_the_grader_with_one_clear_line(tmp_path):
    path = _write(tmp_path, DEFAULT.replace("total = 100", "total = 99", 1))
    done = run_grader("batch", str(tmp_path), "--out", str(tmp_path / "out"), "--config", str(path))
    assert done.returncode == 2 and "rubric.total" in done.stderr and str(path) in done.stderr


def test_grade_takes_points_and_visibility_from_the_configuration_given(tmp_path):
    """`grade --config X` grades by X's rubric: the plugin gives each graded test X's points and visibility (the
    one route the configuration takes to the graded suite); without --config, the project's."""
    edited = re.sub(r'(\[rubric\.tests\."1\.3"\]\npoints = )12', r"\g<1>10", DEFAULT)
    edited = re.sub(r'(\[rubric\.tests\."1\.4"\]\npoints = )12', r"\g<1>14", edited)
    edited = re.sub(r'(\[rubric\.tests\."1\.1"\]\npoints = 8\nvisibility = )"visible"', r'\g<1>"after_published"',
                    edited)
    assert edited.count("points = 10") == 1 and edited.count("points = 14") == 1 and "after_published" in edited
    correct = PROJECT / "selftest" / "submissions" / "correct" / "vectorized"
    tests = {}
    for name, extra in (("edited", ("--config", str(_write(tmp_path, edited)))), ("default", ())):
        done = run_grader("grade", str(correct), "--results", str(tmp_path / f"{name}.json"), "--quiet", *extra)
        assert done.returncode == 0, done.stderr[-3000:]
        tests[name] = {t["number"]: t for t in json.loads((tmp_path / f"{name}.json").read_text())["tests"]}
    assert [tests["edited"][n]["max_score"] for n in ("1.3", "1.4")] == [10, 14]
    assert [tests["edited"][n]["score"] for n in ("1.3", "1.4")] == [10, 14]
    assert tests["edited"]["1.1"]["visibility"] == "after_published"
    assert [tests["default"][n]["max_score"] for n in ("1.3", "1.4")] == [12, 12]
    assert tests["default"]["1.1"]["visibility"] == "visible"


PACKAGES_LINE = 'packages = ["numpy", "scipy", "matplotlib"]'


@pytest.mark.parametrize("packages, words", [
    ('["numpy", "scipy", "torch"]', ["environment.packages", "torch", "imports.forbidden"]),
    ('["numpy", "json"]', ["environment.packages", "json", "standard library"]),
    ('["scipy"]', ["environment.packages", "must include numpy"]),
    ('["numpy", "scikit learn"]', ["environment.packages", "module names"]),
    ('"numpy"', ["environment.packages", "list"]),
])
def test_the_package_list_is_checked(tmp_path, packages, words):
    assert PACKAGES_LINE in DEFAULT
    message = _error(tmp_path, DEFAULT.replace(PACKAGES_LINE, f"packages = {packages}"))
    for word in words:
        assert word in message, message


def test_the_package_list_is_required(tmp_path):
    assert "environment.packages is missing" in _error(tmp_path, DEFAULT.replace(PACKAGES_LINE, ""))


def test_a_package_without_a_pinned_version_is_refused_by_build(tmp_path):
    """setup.sh could not install it at a known version, so build refuses to ship it, naming the pins file."""
    path = _write(tmp_path, DEFAULT.replace(PACKAGES_LINE, 'packages = ["numpy", "sympy"]'))
    assert load_config(path).packages == ("numpy", "sympy")  # a valid list: only the pins are missing
    done = run_grader("build", "--out", str(tmp_path / "autograder.zip"), "--config", str(path))
    assert done.returncode == 2 and not (tmp_path / "autograder.zip").exists()
    assert "sympy" in done.stderr and "requirements-packages.txt" in done.stderr and str(path) in done.stderr


def test_a_refused_library_in_the_list_stops_build(tmp_path):
    path = _write(tmp_path, DEFAULT.replace(PACKAGES_LINE, 'packages = ["numpy", "jax"]'))
    done = run_grader("build", "--out", str(tmp_path / "autograder.zip"), "--config", str(path))
    assert done.returncode == 2 and "jax" in done.stderr and "environment.packages" in done.stderr


def test_the_worker_is_told_the_refused_names_and_the_list():
    config = load_config()
    assert config.forbidden_imports == ("torch", "tensorflow", "jax", "autograd", "+numpy", "+scipy", "+matplotlib")


@pytest.mark.parametrize("key, bad", [("max_files", "0"), ("max_megabytes", '"100"')])
def test_submission_caps_are_checked(tmp_path, key, bad):
    message = _error(tmp_path, re.sub(rf"(?m)^{key} = .*$", f"{key} = {bad}", DEFAULT))
    assert f"submission.{key}" in message


def test_submission_caps_are_read_without_holding_the_seeds(tmp_path):
    """grade reads the caps before it forks the worker: a child reads the file, so this process records no
    configuration read (config.READ_HERE), and a bad file is still a clear error."""
    code = ("from backprop_grader import config\nprint(config.submission_caps()['max_files'], config.READ_HERE)\n"
            f"config.submission_caps({str(_write(tmp_path, DEFAULT.replace('total = 100', 'total = 9')))!r})\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines()[0] == "2000 []"
    assert "GraderError" in done.stderr and "rubric.total" in done.stderr


@pytest.mark.parametrize("cases", ['["sigmoid", "sigmoid"]', "[]", '["tanh"]', '"sigmoid"', '["Sigmoid"]'])
def test_a_bad_list_of_cases_is_one_line_naming_the_setting(tmp_path, cases):
    assert CASES_LINE in DEFAULT
    path = _write(tmp_path, DEFAULT.replace(CASES_LINE, f"cases = {cases}", 1))
    done = run_grader("grade", str(PROJECT / "selftest" / "submissions" / "correct" / "vectorized"), "--config",
                      str(path), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "rubric.cases" in lines[0] and str(path) in lines[0], done.stderr
    assert "'sigmoid', 'softmax'" in lines[0]  # what is allowed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["autograder.toml"]  # nothing graded, nothing written


def test_the_total_must_be_the_graded_cases_points(tmp_path):
    message = _error(tmp_path, DEFAULT.replace(CASES_LINE, 'cases = ["softmax"]', 1))
    assert "add up to 50" in message and "rubric.cases" in message and "rubric.total" in message


def test_a_case_switched_off_needs_no_tables_and_its_tables_may_stay(tmp_path):
    softmax_only = DEFAULT.replace(CASES_LINE, 'cases = ["softmax"]', 1)
    kept = load_config(_write(tmp_path, softmax_only.replace("total = 100", "total = 50", 1)))
    assert kept.cases == ("softmax",) and sorted(kept.tests) == ["2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7"]
    assert kept.total == 50
    without = re.sub(r'\[rubric\.tests\."1\.\d"\]\npoints = \d+\nvisibility = "\w+"\n', "", DEFAULT)
    dropped = load_config(_write(tmp_path, without.replace(CASES_LINE, 'cases = ["softmax"]', 1).replace(
        "total = 100", "total = 50", 1)))
    assert dropped.tests == kept.tests
    message = _error(tmp_path, without.replace("total = 100", "total = 50", 1))  # both cases: 1.x are needed
    assert 'rubric.tests."1.1" is missing' in message
    assert load_config().cases == ("sigmoid", "softmax")  # the project's grades both
    unsaid = load_config(_write(tmp_path, DEFAULT.replace(CASES_LINE + "\n", "", 1)))
    assert unsaid.cases == ("sigmoid", "softmax")  # and so does a configuration that does not say
