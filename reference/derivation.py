"""Symbolic proof, with sympy, that the closed-form gradients of SPEC section 1 are the derivatives of E.

We write the error E exactly as the homework defines it, let sympy differentiate it with respect to a weight, and
show that `sympy derivative − closed form` is exactly 0. Nothing is sampled. The proof runs in two independent
lines:

- **Every size.** The network has K, J, I units, written with indexed symbols (z_k, w_kj, ...) and sums Σ_k,
  Σ_j, Σ_i whose upper limits are symbols. The weight differentiated is w_kj at k = k₀, j = j₀ (and w_ji at
  j = j₀, i = i₀), with K = k₀ + K′, J = j₀ + J′, I = i₀ + I′ for symbols k₀, j₀, i₀ ≥ 1 and K′, J′, I′ ≥ 0:
  every size and every weight of that size is one choice of these symbols, so what holds for the symbols holds
  for every network. sympy's `diff` differentiates under the sums, producing Kronecker deltas δ_kk₀; a sum
  Σ_{k=1}^{k₀+K′} δ_kk₀ f(k) collapses to f(k₀) only because sympy can decide 1 ≤ k₀ ≤ k₀ + K′ from these
  assumptions (were it unable to, a Piecewise would remain and the difference would not reduce to 0). Then
  `_normal_form` brings both sides to one form using only what holds for sums of any length: algebra on each
  term, linearity (Σ_i (c f_i + g_i) = c Σ_i f_i + Σ_i g_i when c does not depend on i), Σ_{i=1}^{n} 1 = n, and
  renaming the summation index. What
  is left is a rational function in which each remaining sum and each σ(…) is an unknown; if it cancels to 0
  with the unknowns independent, it is 0 for the actual values too.
- **Fixed sizes.** The same error for a few explicit networks (`SHAPES`), with one symbol per weight, every
  derivative taken and compared weight by weight, with no sums and no normal form: a second check that does not
  depend on the first one's machinery.

The derivation the closed forms come from, in the order a student does it:

1. Forward pass. s_j = Σ_k w_kj z_k, y_j = σ(s_j), a_i = Σ_j w_ji y_j, and x_i = σ(a_i) (case 1) or
   x_i = e^(a_i) / Σ_m e^(a_m) (case 2).
2. The sigmoid's derivative (Lemma 1): σ'(u) = e^(−u) / (1 + e^(−u))² = σ(u) (1 − σ(u)).
3. The softmax Jacobian (Lemma 2): ∂x_i/∂a_m = x_i (δ_im − x_m), with δ_im = 1 if i = m and 0 otherwise.
4. The output delta (Lemma 3), δ_i = ∂E/∂a_i.
   Case 1: ∂/∂a_i [−t_i ln σ(a_i) − (1 − t_i) ln(1 − σ(a_i))] = −t_i (1 − x_i) + (1 − t_i) x_i = x_i − t_i.
   Case 2: ∂/∂a_i [−Σ_m t_m ln x_m] = −Σ_m t_m (δ_mi − x_i) = x_i Σ_m t_m − t_i. Only when the targets sum to 1
   is this the familiar x_i − t_i; the proof keeps the t_i general.
5. Chain rule, output layer: w_ji only enters a_i, and ∂a_i/∂w_ji = y_j, so ∂E/∂w_ji = δ_i y_j.
6. Chain rule, hidden layer: w_kj only enters s_j, which reaches E through y_j and then every a_i:
   ∂E/∂w_kj = Σ_i δ_i · ∂a_i/∂y_j · ∂y_j/∂s_j · ∂s_j/∂w_kj = Σ_i δ_i w_ji · y_j (1 − y_j) · z_k.

How the proof stays fast. Writing σ(u) out as 1 / (1 + e^(−u)) everywhere makes expressions of nested
exponentials that take minutes to simplify. Instead σ is a sympy function, `Sigmoid`, whose derivative is
declared as σ(1 − σ); Lemma 1 proves that declaration from the definition of σ.

Run `python -m reference.derivation` to print the proof, one line per step. This module is the only one that
imports sympy; nothing on the grading path imports it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import sympy as sp

CASES = ("sigmoid", "softmax")
LAYERS = ("W_kj", "W_ji")

# The networks of the fixed-size line: K inputs, J hidden units, I outputs. One square, one with all sizes different.
SHAPES = ((2, 2, 2), (3, 2, 4))


class Sigmoid(sp.Function):
    """The logistic sigmoid σ(u) = 1 / (1 + e^(−u)), with its derivative σ'(u) = σ(u) (1 − σ(u))."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        """σ' = σ (1 − σ): what sympy's chain rule uses whenever it differentiates σ (proved in Lemma 1)."""
        s = Sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, u, **kwargs) -> sp.Expr:
        """The definition, σ(u) = 1 / (1 + e^(−u)), for `expr.rewrite(sp.exp)`."""
        return 1 / (1 + sp.exp(-u))


Index = Any  # an int (fixed sizes, from 0) or a sympy integer symbol (every size, from 1)


@dataclass(frozen=True)
class Network:
    """A network whose every quantity is a sympy expression (SPEC section 1), read through index functions.

    Both lines build one, so that a closed form (right or wrong) is written once, as a function of these.
    """

    case: str
    E: sp.Expr  # the cross-entropy error
    z: Callable[[Index], sp.Expr]  # z(k)        inputs
    t: Callable[[Index], sp.Expr]  # t(i)        targets, general: not assumed to sum to 1
    w_kj: Callable[[Index, Index], sp.Expr]  # w_kj(k, j)  input-to-hidden weights
    w_ji: Callable[[Index, Index], sp.Expr]  # w_ji(j, i)  hidden-to-output weights
    y: Callable[[Index], sp.Expr]  # y(j)        hidden units σ(Σ_k w_kj z_k)
    x: Callable[[Index], sp.Expr]  # x(i)        outputs
    sum_over_outputs: Callable[[Callable[[Index], sp.Expr]], sp.Expr]  # f ↦ Σ_i f(i)
    first_output: Index  # the index of output 1, for closed forms that single one out

    def delta(self, i: Index) -> sp.Expr:
        """δ_i = ∂E/∂a_i in closed form: x_i − t_i (case 1), x_i Σ_m t_m − t_i (case 2, general targets)."""
        if self.case == "sigmoid":
            return self.x(i) - self.t(i)
        return self.x(i) * self.sum_over_outputs(self.t) - self.t(i)

    def weight(self, layer: str, p: Index, q: Index) -> sp.Expr:
        """The weight w_kj (layer "W_kj", k = p, j = q) or w_ji (layer "W_ji", j = p, i = q)."""
        return self.w_kj(p, q) if layer == "W_kj" else self.w_ji(p, q)


Formula = Callable[[Network, str, Index, Index], sp.Expr]


def closed_form(net: Network, layer: str, p: Index, q: Index) -> sp.Expr:
    """The students' formulas: ∂E/∂w_ji = δ_i y_j (j = p, i = q); ∂E/∂w_kj = Σ_i δ_i w_ji y_j (1 − y_j) z_k."""
    if layer == "W_ji":
        return net.delta(q) * net.y(p)
    back = net.sum_over_outputs(lambda i: net.delta(i) * net.w_ji(q, i))  # δ sent back to hidden unit j = q
    return back * net.y(q) * (1 - net.y(q)) * net.z(p)


def _error(case: str, a: Callable[[Index], sp.Expr], t: Callable[[Index], sp.Expr], sum_i) -> tuple[Callable, sp.Expr]:
    """(x, E) from the activations a(i), exactly as SPEC section 1 writes them; `sum_i(f)` is Σ_i f(i)."""
    if case == "sigmoid":
        def x(i):
            return Sigmoid(a(i))
        return x, -sum_i(lambda i: t(i) * sp.log(x(i)) + (1 - t(i)) * sp.log(1 - x(i)))
    total = sum_i(lambda m: sp.exp(a(m)))

    def x(i):
        return sp.exp(a(i)) / total
    return x, -sum_i(lambda i: t(i) * sp.log(x(i)))


# ---------------------------------------------------------------------------------------------------------------
# Every size


_SIZE = {"integer": True, "positive": True}
_REST = {"integer": True, "nonnegative": True}
k0, j0, i0 = sp.symbols("k₀ j₀ i₀", **_SIZE)  # the differentiated weight: w_kj at (k₀, j₀), w_ji at (j₀, i₀)
K = k0 + sp.Symbol("K′", **_REST)  # K ≥ k₀: every K ≥ 1 and every k₀ ≤ K is one choice of k₀ and K′
J = j0 + sp.Symbol("J′", **_REST)
I = i0 + sp.Symbol("I′", **_REST)
CLAIMED = {"W_kj": (k0, j0), "W_ji": (j0, i0)}


def build_indexed_network(case: str) -> Network:
    """The network of every size: indexed symbols, and sums up to K, J, I."""
    _check_case(case)
    z, t, v, w = (sp.IndexedBase(name) for name in ("z", "t", "w^(1)", "w^(2)"))

    def sum_i(f):
        return _sum_over(f, I)

    def y(j):
        return Sigmoid(_sum_over(lambda k: v[k, j] * z[k], K))

    def a(i):
        return _sum_over(lambda j: w[j, i] * y(j), J)

    x, E = _error(case, a, lambda i: t[i], sum_i)
    return Network(case, E, lambda k: z[k], lambda i: t[i], lambda k, j: v[k, j], lambda j, i: w[j, i], y, x, sum_i, 1)


def _sum_over(f: Callable[[Index], sp.Expr], upper: sp.Expr) -> sp.Expr:
    """Σ_{m=1}^{upper} f(m), with a summation index of its own (nested sums never share one)."""
    m = sp.Dummy("m", integer=True)
    return sp.Sum(f(m), (m, 1, upper))


def prove_every_size(case: str, formula: Formula = closed_form) -> list[tuple[str, sp.Expr]]:
    """For both layers, (statement, normal form of ∂E/∂w − formula) for every size; the proof holds when all are 0.

    `formula` is the closed form under test; passing a wrong one shows that the proof can fail.
    """
    net = build_indexed_network(case)
    differences = {layer: _derivative_every_size(case, layer) - formula(net, layer, *CLAIMED[layer])
                   for layer in LAYERS}
    return [(_STATEMENTS[layer], _normal_form(difference)) for layer, difference in differences.items()]


_STATEMENTS = {"W_kj": "∂E/∂w_kj = Σ_i δ_i w_ji y_j (1 − y_j) z_k", "W_ji": "∂E/∂w_ji = δ_i y_j"}


@cache
def _derivative_every_size(case: str, layer: str) -> sp.Expr:
    """∂E/∂w for the claimed weight of `layer`, its Kronecker deltas collapsed (computed once per case and
    layer: it does not depend on the formula under test)."""
    net = build_indexed_network(case)
    return _collapse_deltas(sp.diff(net.E, net.weight(layer, *CLAIMED[layer])))


def _collapse_deltas(expr: sp.Expr) -> sp.Expr:
    """Σ_k δ_kk₀ f(k) = f(k₀), innermost sums first, where sympy can decide that k₀ is in the sum's range.

    Only the sums that hold a Kronecker delta are evaluated: asking sympy to evaluate the others (Σ_k w_kj z_k)
    only costs time, since they have no closed form.
    """
    return expr.replace(lambda e: isinstance(e, sp.Sum) and e.function.has(sp.KroneckerDelta),
                        lambda e: e.doit(deep=False))


def prove_output_delta_every_size(case: str) -> tuple[str, sp.Expr]:
    """Lemma 3 for every I: ∂E/∂a_i = δ_i, with the activations a_i as free indexed symbols."""
    a, t = sp.IndexedBase("a"), sp.IndexedBase("t")
    x, E = _error(case, lambda i: a[i], lambda i: t[i], lambda f: _sum_over(f, I))
    delta = x(i0) - t[i0] if case == "sigmoid" else x(i0) * _sum_over(lambda m: t[m], I) - t[i0]
    statement = "x_i − t_i" if case == "sigmoid" else "x_i Σ_m t_m − t_i"
    difference = _normal_form(_collapse_deltas(sp.diff(E, a[i0])) - delta)
    return f"Lemma 3, case {case!r}, every I: ∂E/∂a_i = {statement}", difference


def _normal_form(expr: sp.Expr) -> sp.Expr:
    """expr with every sum made linear and canonical, then cancelled with sums and σ(…) as unknowns.

    0 means expr is 0 for every size: each step is an identity of finite sums of any length.
    """
    masked, _ = _as_unknowns(_linear_sums(expr))
    return sp.cancel(masked)


def _linear_sums(expr: sp.Expr) -> sp.Expr:
    """Innermost sums first, rewrite each Σ_i f as Σ_terms c · Σ_n g: c free of i, g one product, n canonical."""
    if isinstance(expr, sp.Sum):
        return _linearise(sp.Sum(_linear_sums(expr.function), *expr.limits))
    if not expr.args or isinstance(expr, (sp.Indexed, sp.Symbol)):
        return expr
    return expr.func(*(_linear_sums(arg) for arg in expr.args))


def _linearise(total: sp.Sum) -> sp.Expr:
    """Σ_i (c₁ g₁(i) + c₂ g₂(i) + …) = c₁ Σ_n g₁(n) + c₂ Σ_n g₂(n) + …, the summand first cancelled and expanded."""
    ((i, lower, upper),) = total.limits
    masked, back = _as_unknowns(total.function)
    numerator, denominator = sp.fraction(sp.cancel(masked))
    result = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(numerator)):
        c, g = (term / denominator).xreplace(back).as_independent(i, as_Add=False)
        if g == 1:
            result += c * (upper - lower + 1)
        else:
            n = _canonical_index(_depth(g) + 1)  # deeper than every sum inside g, so it captures none of theirs
            result += c * sp.Sum(g.xreplace({i: n}), (n, lower, upper))
    return result


@cache
def _canonical_index(depth: int) -> sp.Dummy:
    """The one summation index of every sum of this nesting depth, so that equal sums are equal expressions."""
    return sp.Dummy(f"n{depth}", integer=True)


def _depth(expr: sp.Expr) -> int:
    """How deeply sums nest in expr (0 when it has none)."""
    inner = max((_depth(arg) for arg in expr.args), default=0)
    return inner + 1 if isinstance(expr, sp.Sum) else inner


def _as_unknowns(expr: sp.Expr) -> tuple[sp.Expr, dict]:
    """Replace each distinct outermost sum and σ(…) by a fresh unknown; return it and the way back.

    Sound because the same sum or σ(…) always becomes the same unknown: an identity that holds for any values of
    the unknowns holds for the actual values. It also saves time (sympy no longer inspects their insides).
    """
    unknowns = {atom: sp.Dummy("u") for atom in expr.atoms(sp.Sum, Sigmoid)}
    return expr.xreplace(unknowns), {u: atom for atom, u in unknowns.items()}


# ---------------------------------------------------------------------------------------------------------------
# Fixed sizes


def build_network(case: str, K: int, J: int, I: int) -> Network:
    """The network of one size, with one symbol per input, target and weight (indices from 0)."""
    _check_case(case)
    z = [sp.Symbol(f"z_{k + 1}") for k in range(K)]
    t = [sp.Symbol(f"t_{i + 1}") for i in range(I)]
    W_kj = sp.Matrix(K, J, lambda k, j: sp.Symbol(f"w_k{k + 1}j{j + 1}"))
    W_ji = sp.Matrix(J, I, lambda j, i: sp.Symbol(f"w_j{j + 1}i{i + 1}"))
    y = [Sigmoid(sum(W_kj[k, j] * z[k] for k in range(K))) for j in range(J)]
    a = [sum(W_ji[j, i] * y[j] for j in range(J)) for i in range(I)]

    def sum_i(f):
        return sum(f(i) for i in range(I))

    x, E = _error(case, a.__getitem__, t.__getitem__, sum_i)
    return Network(case, E, z.__getitem__, t.__getitem__, lambda k, j: W_kj[k, j], lambda j, i: W_ji[j, i],
                   y.__getitem__, x, sum_i, 0)


def prove(case: str, K: int, J: int, I: int, formula: Formula = closed_form) -> list[tuple[str, sp.Expr]]:
    """For every weight w of the K, J, I network, (name of w, cancel(∂E/∂w − formula)); the proof holds when all are 0.

    Every derivative is a rational function of the weights, inputs, targets and the values σ(s_j), σ(a_i),
    e^(a_i); with those values as independent unknowns, a difference that cancels to 0 is 0.
    """
    net = build_network(case, K, J, I)
    sizes = {"W_kj": (K, J), "W_ji": (J, I)}
    rows = []
    for layer in LAYERS:
        for p in range(sizes[layer][0]):
            for q in range(sizes[layer][1]):
                w = net.weight(layer, p, q)
                difference = sp.diff(net.E, w) - formula(net, layer, p, q)
                rows.append((str(w), sp.cancel(_as_unknowns(difference)[0])))
    return rows


def prove_lemmas() -> list[tuple[str, sp.Expr]]:
    """Lemma 1, and Lemmas 2 and 3 for I = 3, each as (statement, difference that must be 0)."""
    u = sp.Symbol("u")
    explicit = 1 / (1 + sp.exp(-u))
    proofs = [
        # Lemma 1: differentiate the definition itself, then compare with σ(1 − σ) written out.
        ("Lemma 1: d/du 1/(1+e^-u) = σ(u)(1 − σ(u))", sp.simplify(sp.diff(explicit, u) - explicit * (1 - explicit))),
        # ... and the derivative declared on Sigmoid is that same function.
        ("Lemma 1: Sigmoid.fdiff agrees with the definition",
         sp.simplify(sp.diff(Sigmoid(u), u).rewrite(sp.exp) - sp.diff(explicit, u))),
    ]
    a = sp.symbols("a_1:4")
    t = sp.symbols("t_1:4")
    total = sum(sp.exp(a_m) for a_m in a)
    x = [sp.exp(a_i) / total for a_i in a]
    for i in range(3):
        for m in range(3):
            jacobian = x[i] * ((1 if i == m else 0) - x[m])
            proofs.append((f"Lemma 2: ∂x_{i + 1}/∂a_{m + 1} = x_{i + 1}(δ_{i + 1}{m + 1} − x_{m + 1})",
                           sp.cancel(sp.diff(x[i], a[m]) - jacobian)))
    E_softmax = -sum(t_i * sp.log(x_i) for t_i, x_i in zip(t, x))
    E_sigmoid = -sum(t_i * sp.log(Sigmoid(a_i)) + (1 - t_i) * sp.log(1 - Sigmoid(a_i)) for t_i, a_i in zip(t, a))
    for i in range(3):
        proofs.append((f"Lemma 3, I = 3, case 1: ∂E/∂a_{i + 1} = x_{i + 1} − t_{i + 1}",
                       sp.cancel(sp.diff(E_sigmoid, a[i]) - (Sigmoid(a[i]) - t[i]))))
        proofs.append((f"Lemma 3, I = 3, case 2: ∂E/∂a_{i + 1} = x_{i + 1} Σ_m t_m − t_{i + 1}",
                       sp.cancel(sp.diff(E_softmax, a[i]) - (x[i] * sum(t) - t[i]))))
    return proofs


# ---------------------------------------------------------------------------------------------------------------
# The whole proof


@dataclass(frozen=True)
class ProofReport:
    """Every difference the proof computed, and how long it took."""

    lemmas: list[tuple[str, sp.Expr]]
    every_size: dict[str, list[tuple[str, sp.Expr]]]  # case -> (statement, difference) per layer
    networks: dict[tuple[str, int, int, int], list[tuple[str, sp.Expr]]]  # (case, K, J, I) -> per weight
    seconds: float

    @property
    def holds(self) -> bool:
        """True when every difference is exactly 0."""
        rows = [*self.lemmas, *(r for rs in self.every_size.values() for r in rs),
                *(r for rs in self.networks.values() for r in rs)]
        return all(d == 0 for _, d in rows)

    def text(self) -> str:
        """The report a student reads: one line per step proved, with any non-zero difference."""
        lines = [_checked(name, d) for name, d in self.lemmas]
        for case, rows in self.every_size.items():
            lines.extend(_checked(f"case {case!r}, every K, J, I and every weight: {name}", d) for name, d in rows)
        for (case, K, J, I), rows in self.networks.items():
            wrong = [(w, d) for w, d in rows if d != 0]
            verdict = "all differences are 0" if not wrong else f"{len(wrong)} differences are NOT 0"
            lines.append(f"{'✓' if not wrong else '✗'} case {case!r}, K={K}, J={J}, I={I}: {len(rows)} weights, "
                         f"{verdict}")
            lines.extend(f"    ∂E/∂{w} − closed form = {d}" for w, d in wrong)
        lines.append(f"{'PROVED' if self.holds else 'NOT PROVED'} in {self.seconds:.1f} s")
        return "\n".join(lines)


def _checked(name: str, difference: sp.Expr) -> str:
    """One line of the report: ✓ and the statement, or ✗ and what is left of the difference."""
    return f"✓ {name}" if difference == 0 else f"✗ {name}: difference {difference}"


def prove_all(shapes: tuple[tuple[int, int, int], ...] = SHAPES) -> ProofReport:
    """The lemmas, then the closed forms for both cases: for every size, and on each fixed shape."""
    start = time.perf_counter()
    lemmas = prove_lemmas() + [prove_output_delta_every_size(case) for case in CASES]
    every_size = {case: prove_every_size(case) for case in CASES}
    networks = {(case, *shape): prove(case, *shape) for case in CASES for shape in shapes}
    return ProofReport(lemmas, every_size, networks, time.perf_counter() - start)


def _check_case(case) -> None:
    """Refuse an unknown case by name."""
    if case not in CASES:
        raise ValueError(f"case must be one of {CASES}, got {case!r}")


if __name__ == "__main__":
    report = prove_all()
    print(report.text())
    raise SystemExit(0 if report.holds else 1)
