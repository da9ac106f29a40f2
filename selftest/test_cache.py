"""The disk cache of the seeded networks (maths/cache.py): what a grading reads back is what was computed."""

from __future__ import annotations

import os

import numpy as np
import pytest

from backprop_grader import cache_files
from backprop_grader.config import load_config
from backprop_grader.maths import cache
from backprop_grader.maths.grading import Grading
from backprop_grader.maths.verdicts import LAYERS


@pytest.fixture
def cache_folder(tmp_path, monkeypatch):
    """A cache folder of this test's own (real files), empty at first."""
    monkeypatch.setattr(cache_files, "CACHE_DIR", tmp_path / "cache")
    return tmp_path / "cache"


def _all_networks(grading: Grading) -> list:
    return [net for case, groups in cache.GROUPS.items() for group in groups for net in grading.networks(case, group)]


@pytest.mark.parametrize("shape", [(3,), (2, 4), (4, 1), (1, 1), (3, 0), (0,)])
def test_arrays_come_back_exactly(shape):
    """Every float64 bit, the shape (empty arrays too), and a writable copy."""
    rng = np.random.default_rng(7)
    array = rng.standard_normal(shape) * 10.0 ** rng.integers(-300, 300, shape)
    back = cache._unarray(cache._array(array))
    assert back.shape == array.shape and back.dtype == np.float64
    assert back.tobytes() == array.tobytes()
    back[...] = 1.0  # writable


def test_a_grading_reads_back_the_networks_estimates_and_reference(cache_folder):
    """The first grading computes and stores; the second reads every network, estimate and reference gradient
    back, equal to what the first computed, without running the reference again."""
    config = load_config()
    first = Grading(config, None, None)
    cache.prepare(first)
    stored = list(cache_folder.glob("networks-*.json"))
    assert len(stored) == 1, f"expected one cache file, found {stored}"

    second = Grading(config, None, None)
    cache.prepare(second)
    assert len(list(cache_folder.glob("networks-*.json"))) == 1
    pairs = list(zip(_all_networks(first), _all_networks(second)))
    assert len(pairs) > 50
    for a, b in pairs:
        assert a is not b and a.label == b.label and a.case == b.case
        for name in ("z", "t", "W_kj", "W_ji"):
            assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), (a.label, name)
        assert second._expected.get(b) is not None, f"{b.label}: reference not read from the cache"
        for index, layer in enumerate(LAYERS):
            assert first.reference(a)[index].tobytes() == second.reference(b)[index].tobytes(), (a.label, layer)
    for case in cache.GROUPS:
        for a, b in zip(first.networks(case, "fd"), second.networks(case, "fd")):
            assert all(x.tobytes() == y.tobytes() for x, y in zip(first.estimates(a), second.estimates(b)))


def test_stored_reference_is_the_reference(cache_folder):
    """What the cache hands out is the reference's own result on that network (computed again here)."""
    from reference.backprop import compute_gradients

    config = load_config()
    cache.prepare(Grading(config, None, None))  # stores
    grading = Grading(config, None, None)
    cache.prepare(grading)  # reads
    for net in _all_networks(grading):
        for stored, computed in zip(grading.reference(net), compute_gradients(*net.arguments())):
            assert stored.shape == computed.shape
            assert np.allclose(stored, computed, rtol=1e-12, atol=0), net.label


def test_a_damaged_cache_file_is_computed_again(cache_folder):
    """A cache file that does not parse is not an error: the networks are drawn again."""
    config = load_config()
    cache.prepare(Grading(config, None, None))
    (path,) = cache_folder.glob("networks-*.json")
    path.write_text("{not json")
    grading = Grading(config, None, None)
    cache.prepare(grading)
    assert len(_all_networks(grading)) > 50


@pytest.mark.parametrize("content", ['{}', '{"groups": {"sigmoid/worked": [{"label": "x"}]}, "estimates": {}}',
                                     '[]', '{"groups": [], "estimates": 3}'])
def test_a_cache_file_of_another_shape_is_computed_again(cache_folder, content):
    """JSON that parses but is not what prepare stores (damaged, hand-edited, an older format) is replaced."""
    config = load_config()
    cache.prepare(Grading(config, None, None))
    (path,) = cache_folder.glob("networks-*.json")
    path.write_text(content)
    grading = Grading(config, None, None)
    cache.prepare(grading)
    assert len(_all_networks(grading)) > 50 and all(grading.reference(n) is not None for n in _all_networks(grading))
    assert path.read_text() != content


def test_old_files_of_a_kind_are_removed_past_the_number_kept(cache_folder):
    """A checkout whose code or configuration changes writes a networks file per version: the oldest go, so
    that they do not pile up; the newest and other kinds stay."""
    cache_folder.mkdir()
    for n in range(cache_files.KEPT_PER_KIND + 3):
        (cache_folder / f"networks-old{n:02d}.json").write_text("{}")
        os.utime(cache_folder / f"networks-old{n:02d}.json", (1_000_000 + n, 1_000_000 + n))
    (cache_folder / "fresh-modules-abc.json").write_text("[]")
    os.utime(cache_folder / "fresh-modules-abc.json", (1, 1))  # older than all: another kind, kept
    cache_files.write("networks-new.json", {"x": 1})
    left = sorted(p.name for p in cache_folder.iterdir())
    newest = [f"networks-old{n:02d}.json" for n in range(3 + 1, cache_files.KEPT_PER_KIND + 3)]
    assert left == sorted(["fresh-modules-abc.json", "networks-new.json", *newest])
    assert cache_files.read("networks-new.json") == {"x": 1}
