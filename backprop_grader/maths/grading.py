"""Ask the worker for the student's gradients on every network once, and judge them against the reference.

One Grading object serves a whole run: tests N.3 and N.4 share the same replies, and the gated tests read the
worked example's verdicts, so the order in which pytest runs the tests never changes a score.

Networks come in two phases. The visible ones (those of tests a student sees before the due date, the worked
example and the scale probes) are asked of one worker; the hidden ones only afterwards, of another worker started
once every visible group has been answered and the first worker, with all it started and left, is gone. So nothing
a student sees before the due date (printed text, exceptions, which networks failed, files left behind) can depend
on a hidden network.
"""

from __future__ import annotations

import numpy as np

from reference.backprop import compute_gradients

from ..config import CASE_NUMBERS
from ..errors import GraderError
from ..sandbox import Reply
from . import networks as nets
from .verdicts import LAYERS, Verdict, finite_differences, judge

MAX_TIMEOUTS_PER_CASE = 2  # after this many time-outs in one case, its remaining calls are skipped
MAX_DEATHS_PER_CASE = 3  # likewise after this many calls that ended the worker (each costs a restart)
PROBE_SCALES = (1e-3, 1e2)  # z scaled by s and W_kj by 1/s: the same forward pass, dE/dW_kj scaled by s
# The network groups each case's graded tests ask about, and the scale probes of the numerical check.
GRADED_GROUPS = {"sigmoid": ("worked", "random", "fd", "edge"),
                 "softmax": ("worked", "random", "fd", "edge", "general")}
PROBE_GROUPS = ("probe0", "probe1")
ALWAYS_VISIBLE = ("worked", *PROBE_GROUPS)  # read by the visible checks 0.2 to 0.5 whatever the rubric says
GROUP_TESTS = {"worked": ("1", "2"), "random": ("3", "4"), "fd": ("5",), "edge": ("6",), "general": ("7",)}
GATED_GROUPS = ("edge", "general")  # read only by the gated tests (1.6, 2.6, 2.7), and only once the gate opens
GATE_SHARE = 0.8  # the gated tests open when both layers pass on this share of the case's random networks
NUMERICAL_NOISE = 1e-9  # relative errors up to this may be rounding of analytic work: never taken for differences
NUMERICAL_CEILING = 1e-3  # above this the gradient is simply wrong, and the tests say so
NUMERICAL_SPREAD = 30  # finite differences move by far more across PROBE_SCALES; float32 by a factor of a few
# Scaling the inputs down by 1e-3 multiplies a difference quotient's rounding error by about 1e3 (it goes as 1/scale),
# but an error term proportional to W_kj (weight decay, a gradient recovered from a weight update) by 1e6: below
# this ratio the growth is a difference quotient's, above it a weight term's.
WEIGHT_TERM_RATIO = 10 ** 4.5


class Grading:
    """The student's replies on every network of the run, fetched through one worker per phase: all at once
    before the tests run (ask_everything), else when a test first reads them."""

    def __init__(self, config, worker, unavailable: Reply | None = None, hidden_worker=None):
        """worker runs the submission for the visible networks; hidden_worker() gives the worker for the hidden
        ones (called once, when the first hidden network is asked); `unavailable` is the reply to every call
        when there is nothing to run."""
        self.config, self.worker, self.unavailable = config, worker, unavailable
        self._hidden_worker, self.hidden_phase = hidden_worker, False
        self._replies: dict = {}
        self.extra: dict = {}  # instructor-only findings for results.json's extra_data
        self._networks: dict = {}
        self._estimates: dict = {}
        self._expected: dict = {}
        self._verdicts: dict = {}
        self._timeouts = {"sigmoid": 0, "softmax": 0}
        self._deaths = {"sigmoid": 0, "softmax": 0}
        self._spent = {"sigmoid": 0.0, "softmax": 0.0}  # wall-clock seconds of calls, per case

    def share_networks(self, other: Grading) -> None:
        """Use another Grading's networks, finite-difference estimates and reference gradients: they depend on the
        configuration only, so a batch job computes them once for all its submissions."""
        if other.config.path != self.config.path:
            raise ValueError("networks can be shared only under the same configuration")
        self._networks, self._estimates, self._expected = other._networks, other._estimates, other._expected

    def preload(self, case: str, group: str, networks: list[nets.Network]) -> None:
        """Use networks made earlier (the cache) instead of drawing them again."""
        self._networks[case, group] = networks

    def preload_reference(self, network: nets.Network, gradients: tuple) -> None:
        """Use the reference gradients computed earlier (the cache) for a network."""
        self._expected[network] = gradients

    def preload_estimates(self, network: nets.Network, estimates: tuple) -> None:
        """Use finite-difference estimates computed earlier (the cache) for a network."""
        self._estimates[network] = estimates

    def estimates(self, network: nets.Network) -> tuple[np.ndarray, np.ndarray]:
        """Central differences of E for both weight matrices of a network, computed once."""
        if network not in self._estimates:
            self._estimates[network] = finite_differences(network, self.config.tolerance["finite_difference_step"])
        return self._estimates[network]

    def networks(self, case: str, group: str) -> list[nets.Network]:
        """The networks of a group (made once per run): worked, random, fd, edge, general, or a probe."""
        if (case, group) not in self._networks:
            self._networks[case, group] = self._make_networks(case, group)
        return self._networks[case, group]

    def _make_networks(self, case: str, group: str) -> list[nets.Network]:
        """Draw or build the networks of a group from the configuration."""
        n = self.config.networks
        if group == "worked":
            return [nets.worked_example(case)]
        if group in ("random", "fd"):
            count = n["random_count"] if group == "random" else n["finite_difference_count"]
            return nets.random_networks(case, count, n["seed"], n["min_units"], n["max_units"], group)
        if group == "edge":
            return nets.edge_networks(case, n["seed"])
        if group == "general":
            return nets.general_target_networks(n["seed"])
        if group.startswith("probe"):
            return [_probe(nets.worked_example(case), PROBE_SCALES[int(group[-1])])]
        raise ValueError(f"unknown network group {group!r}")

    def replies(self, case: str, group: str) -> list[Reply]:
        """The worker's reply for each network of the group, asked once per run (a hidden group starts the
        hidden phase; a visible group must be asked before it)."""
        key = (case, group)
        if key not in self._replies:
            if not self.is_visible(case, group):
                self._enter_hidden_phase()
            elif self.hidden_phase:
                raise GraderError(f"visible networks ({case}, {group}) asked after hidden ones")
            self._replies[key] = self._ask_all(case, self.networks(case, group))
        return self._replies[key]

    def is_visible(self, case: str, group: str) -> bool:
        """Whether a group's replies feed anything a student sees before the due date."""
        if group in ALWAYS_VISIBLE:
            return True
        n = "1" if case == "sigmoid" else "2"
        numbers = [f"{n}.{m}" for m in GROUP_TESTS.get(group, ())]
        return any(self.config.rubric(number).visibility == "visible" for number in numbers
                   if number in self.config.tests)

    def visible_groups(self) -> list[tuple[str, str]]:
        """Every (case, group) of the visible phase, in the cases the configuration grades."""
        return [(case, group) for case in self.config.cases for group in (*GRADED_GROUPS[case], *PROBE_GROUPS)
                if self.is_visible(case, group)]

    def ask_everything(self) -> None:
        """Ask every group the graded suite reads, in one fixed order: each case's visible groups (graded ones,
        then the scale probes), then each case's hidden groups, the gated ones only where the gate opens. The
        tests then read replies already in, and a submission whose answers depend on what it was asked before
        meets the same order wherever it is graded (grade overlaps this with importing pytest; batch's jobs,
        whose pytest is loaded, ask the same way). A gated group made visible is left to its test."""
        try:
            for case, group in (*self.visible_groups(), *self._hidden_groups()):
                if group in GATED_GROUPS and (self.is_visible(case, group) or not self.gate_opens(case)):
                    continue  # its test asks nothing when the gate is shut
                self.replies(case, group)
        except Exception:  # a grader fault: the test that asks the same meets it again, and it costs that test alone
            return

    def _hidden_groups(self) -> list[tuple[str, str]]:
        """Every (case, group) of the hidden phase that a test of the rubric reads."""
        return [(case, group) for case in self.config.cases for group in GRADED_GROUPS[case]
                if not self.is_visible(case, group) and self._read_by_a_test(case, group)]

    def _read_by_a_test(self, case: str, group: str) -> bool:
        """Whether a test of this case's rubric reads the group."""
        return any(self.config.grades(f"{CASE_NUMBERS[case]}.{m}") for m in GROUP_TESTS.get(group, ()))

    def visible_replies(self) -> list[Reply]:
        """Every reply of the visible phase, for the informational checks (fetching any group not asked yet)."""
        return [reply for case, group in self.visible_groups() for reply in self.replies(case, group)]

    def _enter_hidden_phase(self) -> None:
        """Finish the visible phase (every visible group answered), end its worker with all it started and
        left, then take the hidden phase's own worker."""
        if self.hidden_phase:
            return
        self.visible_replies()
        self.hidden_phase = True
        if self.worker is not None and self._hidden_worker is not None:  # (none: an in-process test double)
            self.worker.close()
            self.worker = self._hidden_worker()
        self._timeouts = {"sigmoid": 0, "softmax": 0}  # a new worker, new budgets: the visible phase's calls
        self._deaths = {"sigmoid": 0, "softmax": 0}    # (what it cost) never shape the hidden ones, nor the
        self._spent = {"sigmoid": 0.0, "softmax": 0.0}  # reverse

    def close(self) -> None:
        """End the run's current worker (a hidden phase's worker parked and never needed is its parker's)."""
        if self.worker is not None:
            self.worker.close()

    def verdicts(self, case: str, group: str, layer: str) -> list[Verdict]:
        """One layer's verdict on each network of the group, against the reference."""
        key = (case, group, layer)
        if key not in self._verdicts:  # asked by several tests (N.3 and N.4, the gates, the probe): judged once
            self._verdicts[key] = [judge(net, reply, layer, self.reference(net)[LAYERS.index(layer)],
                                         self.config.tolerance)
                                   for net, reply in zip(self.networks(case, group), self.replies(case, group))]
        return self._verdicts[key]

    def reference(self, network: nets.Network) -> tuple[np.ndarray, np.ndarray]:
        """The reference gradients of a network, computed once for both layers."""
        if network not in self._expected:
            self._expected[network] = compute_gradients(*network.arguments())
        return self._expected[network]

    def finite_difference_verdicts(self, case: str) -> list[tuple[Verdict, Verdict]]:
        """Both layers on the N.5 networks, judged against central differences instead of the reference."""
        pairs = []
        for net, reply in zip(self.networks(case, "fd"), self.replies(case, "fd")):
            estimates = self.estimates(net)
            pairs.append(tuple(judge(net, reply, layer, estimates[i], self.config.tolerance)
                               for i, layer in enumerate(LAYERS)))
        return pairs

    def worked_example_passes(self, case: str) -> bool:
        """Both gradients of the worked example pass."""
        return all(v.passed for layer in LAYERS for v in self.verdicts(case, "worked", layer))

    def gate_opens(self, case: str) -> bool:
        """The gate of 1.6, 2.6 and 2.7: the worked example passes and both layers pass on at least GATE_SHARE of
        the case's random networks, so that only a derivation that is right in general earns the degenerate
        networks, never zeros that happen to match them nor one right on the worked example alone."""
        if not self.worked_example_passes(case):
            return False
        return all(sum(v.passed for v in self.verdicts(case, "random", layer))
                   >= GATE_SHARE * len(self.networks(case, "random")) for layer in LAYERS)

    def looks_numerical(self, case: str) -> dict:
        """Whether the gradients' error moves the way a finite-difference error does, on the scale probe alone.

        The probe scales z by s and W_kj by 1/s: the forward pass is the same, so a difference quotient with a fixed
        step h on W_kj becomes one with the step s·h. Its truncation error then grows with s (as s² for central
        differences, s for forward ones) and its rounding error as 1/s. Analytic work computes dE/dW_kj as z_k
        times quantities the probe leaves unchanged, so its relative error stays where it was whatever its
        precision (float32, mixed precision, another summation order); a term proportional to W_kj (a gradient
        recovered from a weight update divided by the learning rate, a tiny weight decay) shrinks as 1/s², so it
        grows by about 1e6 when the inputs are scaled down, never when they are scaled up. Only what no analytic
        rounding produces is flagged (SPEC section 3): an error that grows when the inputs are scaled up, to above
        NUMERICAL_NOISE, or a worked-example error above NUMERICAL_NOISE that grows as 1/s when they are scaled
        down.
        """
        probe = [self._relative_error(case, group, "W_kj") for group in ("worked", "probe0", "probe1")]
        if any(e is None for e in probe):
            return {"flagged": False, "relative_errors": None}
        worked, down, up = probe
        floor = max(worked, 1e-300)
        truncation = up > NUMERICAL_NOISE and up > NUMERICAL_SPREAD * floor
        rounding = worked > NUMERICAL_NOISE and NUMERICAL_SPREAD * worked < down < WEIGHT_TERM_RATIO * worked
        flagged = worked < NUMERICAL_CEILING and (truncation or rounding)
        reason = ("grows when the inputs are scaled up" if truncation else
                  "grows as 1/scale when the inputs are scaled down" if rounding else "")
        # extra_data shows 6 digits: the student's last bits may differ from run to run (SIMD exp on arrays of
        # another alignment), and an instructor needs the order of magnitude, not the bits
        spread = max(probe) / max(min(probe), 1e-300)
        return {"flagged": bool(flagged), "relative_errors": [float(f"{e:.6g}") for e in probe],
                "spread": float(f"{spread:.6g}"), "reason": reason if flagged else ""}

    def _relative_error(self, case: str, group: str, layer: str) -> float | None:
        """max|student − reference| / max|reference| for one layer of a one-network group; None if not comparable."""
        verdict = self.verdicts(case, group, layer)[0]
        if verdict.kind not in ("", "values"):
            return None
        scale = max(float(np.max(np.abs(verdict.expected))), 1e-300)
        return float(np.max(np.abs(verdict.student - verdict.expected))) / scale

    def startup(self) -> Reply:
        """How importing the submission went (the reason there is nothing to run, when there is not)."""
        return self.unavailable or self.worker.start()

    def _ask_all(self, case: str, networks: list[nets.Network]) -> list[Reply]:
        """A reply for each network: asked in one pipelined run while the case's budget lasts (a failure that
        ends the worker stops the run; the next run starts a new worker), then skipped once the budget is spent.

        A submission that loops, crashes its process or exhausts memory in one case then costs seconds, not
        minutes, and keeps every point it earns in the other case.
        """
        replies: list[Reply] = []
        while len(replies) < len(networks):
            refusal = self.unavailable or self._exhausted(case)
            if refusal:
                return replies + [refusal] * (len(networks) - len(replies))
            left = self.config.limits["case_seconds"] - self._spent[case]
            calls = [net.arguments()[:4] for net in networks[len(replies):]]
            for reply in self.worker.call_many(calls, case, left):
                self._spent[case] += reply.seconds
                self._timeouts[case] += reply.kind == "timeout"
                self._deaths[case] += reply.kind in ("died", "protocol")
                replies.append(reply)
        return replies

    def _exhausted(self, case: str) -> Reply | None:
        """The reply for a call that is not made because its case used up a budget: time-outs, deaths, seconds."""
        budget = self.config.limits["case_seconds"]
        if self._timeouts[case] >= MAX_TIMEOUTS_PER_CASE:
            return Reply(False, "skipped", f"{MAX_TIMEOUTS_PER_CASE} earlier calls in this case timed out")
        if self._deaths[case] >= MAX_DEATHS_PER_CASE:
            return Reply(False, "skipped", f"{MAX_DEATHS_PER_CASE} earlier calls in this case ended the process")
        if self._spent[case] >= budget:
            return Reply(False, "skipped", f"your code used up the {budget:g} s allowed for all calls in this case")
        return None


def _probe(net: nets.Network, scale: float) -> nets.Network:
    """The network with z × scale and W_kj ÷ scale: every activation is unchanged."""
    return nets.Network(f"{net.label}, inputs scaled by {scale:g}", net.case, net.z * scale, net.t,
                        net.W_kj / scale, net.W_ji)
