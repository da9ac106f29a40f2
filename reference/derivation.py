"""Symbolic proof, with sympy, that the closed-form gradients of SPEC section 1 are the derivatives of E.

For a small network with symbolic inputs z_k, targets t_i and weights w_kj, w_ji, we write the error E exactly as
the homework defines it, let sympy differentiate it with respect to every single weight, and show that
`sympy derivative − closed form` cancels to exactly 0. Nothing is sampled: the cancellation is an identity of
rational functions, so it holds for every value of every symbol.

The derivation the closed forms come from, in the order a student does it:

1. Forward pass. s_j = Σ_k w_kj z_k, y_j = σ(s_j), a_i = Σ_j w_ji y_j, and x_i = σ(a_i) (case 1) or
   x_i = e^(a_i) / Σ_m e^(a_m) (case 2).
2. The sigmoid's derivative (Lemma 1): σ'(u) = e^(−u) / (1 + e^(−u))² = σ(u) (1 − σ(u)).
3. The softmax Jacobian (Lemma 2): ∂x_i/∂a_m = x_i (δ_im − x_m), with δ_im = 1 if i = m and 0 otherwise.
4. The output delta (Lemma 3), δ_i = ∂E/∂a_i.
   Case 1: ∂/∂a_i [−t_i ln σ(a_i) − (1 − t_i) ln(1 − σ(a_i))] = −t_i (1 − x_i) + (1 − t_i) x_i = x_i − t_i.
   Case 2: ∂/∂a_i [−Σ_m t_m ln x_m] = −Σ_m t_m (δ_mi − x_i) = x_i Σ_m t_m − t_i. Only when the targets sum to 1
   is this the familiar x_i − t_i; the proof below keeps the t_i general.
5. Chain rule, output layer: w_ji only enters a_i, and ∂a_i/∂w_ji = y_j, so ∂E/∂w_ji = δ_i y_j.
6. Chain rule, hidden layer: w_kj only enters s_j, which reaches E through y_j and then every a_i:
   ∂E/∂w_kj = Σ_i δ_i · ∂a_i/∂y_j · ∂y_j/∂s_j · ∂s_j/∂w_kj = Σ_i δ_i w_ji · y_j (1 − y_j) · z_k.

How the proof stays fast. Writing σ(u) out as 1 / (1 + e^(−u)) everywhere makes expressions of nested
exponentials that take minutes to simplify. Instead σ is a sympy function, `Sigmoid`, whose derivative is
declared as σ(1 − σ); Lemma 1 proves that declaration from the definition of σ. sympy's `diff` then applies the
chain rule mechanically, and every derivative is a rational function of the weights, inputs, targets and the
values σ(s_j), σ(a_i), e^(a_i). `sympy.cancel` treats those values as independent unknowns: a rational function
that cancels to 0 with independent unknowns is 0 whatever values they take, in particular the actual ones.

Run `python -m reference.derivation` to print the proof. This module is the only one that imports sympy; nothing
on the grading path imports it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

CASES = ("sigmoid", "softmax")

# The networks of the proof: K inputs, J hidden units, I outputs. One square, one with all three sizes different.
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


@dataclass(frozen=True)
class SymbolicNetwork:
    """A network whose every quantity is a sympy expression (SPEC section 1)."""

    case: str
    z: list[sp.Symbol]  # (K,)   inputs z_k
    t: list[sp.Symbol]  # (I,)   targets t_i, general: not assumed to sum to 1
    W_kj: sp.Matrix  # (K, J) input-to-hidden weights w_kj
    W_ji: sp.Matrix  # (J, I) hidden-to-output weights w_ji
    y: list[sp.Expr]  # (J,)   hidden units y_j = σ(Σ_k w_kj z_k)
    a: list[sp.Expr]  # (I,)   output activations a_i = Σ_j w_ji y_j
    x: list[sp.Expr]  # (I,)   outputs x_i
    E: sp.Expr  # the cross-entropy error


def build_network(case: str, K: int, J: int, I: int) -> SymbolicNetwork:
    """Write the forward pass and the error E exactly as SPEC section 1 states them, with symbols for everything."""
    _check_case(case)
    z = [sp.Symbol(f"z_{k + 1}") for k in range(K)]
    t = [sp.Symbol(f"t_{i + 1}") for i in range(I)]
    W_kj = sp.Matrix(K, J, lambda k, j: sp.Symbol(f"w_k{k + 1}j{j + 1}"))
    W_ji = sp.Matrix(J, I, lambda j, i: sp.Symbol(f"w_j{j + 1}i{i + 1}"))
    y = [Sigmoid(sum(W_kj[k, j] * z[k] for k in range(K))) for j in range(J)]
    a = [sum(W_ji[j, i] * y[j] for j in range(J)) for i in range(I)]
    if case == "sigmoid":
        x = [Sigmoid(a_i) for a_i in a]
        E = -sum(t[i] * sp.log(x[i]) + (1 - t[i]) * sp.log(1 - x[i]) for i in range(I))
    else:
        total = sum(sp.exp(a_m) for a_m in a)
        x = [sp.exp(a_i) / total for a_i in a]
        E = -sum(t[i] * sp.log(x[i]) for i in range(I))
    return SymbolicNetwork(case, z, t, W_kj, W_ji, y, a, x, E)


def output_delta(net: SymbolicNetwork) -> list[sp.Expr]:
    """δ_i = ∂E/∂a_i in closed form: x_i − t_i (case 1), x_i Σ_m t_m − t_i (case 2, general targets)."""
    if net.case == "sigmoid":
        return [x_i - t_i for x_i, t_i in zip(net.x, net.t)]
    return [x_i * sum(net.t) - t_i for x_i, t_i in zip(net.x, net.t)]


ClosedForms = Callable[[SymbolicNetwork], dict[sp.Symbol, sp.Expr]]


def closed_forms(net: SymbolicNetwork) -> dict[sp.Symbol, sp.Expr]:
    """The students' formulas, one per weight: ∂E/∂w_ji = δ_i y_j and ∂E/∂w_kj = Σ_i δ_i w_ji y_j (1 − y_j) z_k."""
    delta = output_delta(net)
    K, J = net.W_kj.shape
    I = net.W_ji.shape[1]
    forms = {}
    for j in range(J):
        for i in range(I):
            forms[net.W_ji[j, i]] = delta[i] * net.y[j]
    for k in range(K):
        for j in range(J):
            back = sum(delta[i] * net.W_ji[j, i] for i in range(I))  # δ sent back to hidden unit j
            forms[net.W_kj[k, j]] = back * net.y[j] * (1 - net.y[j]) * net.z[k]
    return forms


def prove(case: str, K: int, J: int, I: int, formulas: ClosedForms = closed_forms) -> list[tuple[str, sp.Expr]]:
    """For every weight w, return (name of w, cancel(∂E/∂w − closed form)); the proof holds when all are 0.

    `formulas` is the closed form under test; the default is SPEC section 1. Passing a wrong one (say with
    y_j (1 − y_j) left out) shows that the proof can fail: its differences are then not 0.
    """
    net = build_network(case, K, J, I)
    return [(str(w), sp.cancel(_sigmoids_as_unknowns(sp.diff(net.E, w) - form))) for w, form in formulas(net).items()]


def _sigmoids_as_unknowns(expr: sp.Expr) -> sp.Expr:
    """Replace each distinct value σ(…) by a fresh unknown, so that `cancel` sees plain symbols.

    Sound because the same σ(…) always becomes the same unknown: an identity that holds for any values of the
    unknowns holds for the actual values. It only saves time (sympy no longer inspects σ's arguments).
    """
    return expr.xreplace({s: sp.Dummy("σ") for s in expr.atoms(Sigmoid)})


def prove_lemmas() -> list[tuple[str, sp.Expr]]:
    """Lemmas 1 to 3 of the module docstring, each as (statement, difference that must be 0)."""
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
        proofs.append((f"Lemma 3, case 1: ∂E/∂a_{i + 1} = x_{i + 1} − t_{i + 1}",
                       sp.cancel(sp.diff(E_sigmoid, a[i]) - (Sigmoid(a[i]) - t[i]))))
        proofs.append((f"Lemma 3, case 2: ∂E/∂a_{i + 1} = x_{i + 1} Σ_m t_m − t_{i + 1}",
                       sp.cancel(sp.diff(E_softmax, a[i]) - (x[i] * sum(t) - t[i]))))
    return proofs


@dataclass(frozen=True)
class ProofReport:
    """Every difference the proof computed, and how long it took."""

    lemmas: list[tuple[str, sp.Expr]]
    networks: dict[tuple[str, int, int, int], list[tuple[str, sp.Expr]]]  # (case, K, J, I) -> per weight
    seconds: float

    @property
    def holds(self) -> bool:
        """True when every difference is exactly 0."""
        differences = [d for _, d in self.lemmas] + [d for rows in self.networks.values() for _, d in rows]
        return all(d == 0 for d in differences)

    def text(self) -> str:
        """The report a student reads: one line per lemma and per network, with any non-zero difference."""
        lines = [f"✓ {name}" if d == 0 else f"✗ {name}: difference {d}" for name, d in self.lemmas]
        for (case, K, J, I), rows in self.networks.items():
            wrong = [(w, d) for w, d in rows if d != 0]
            verdict = "all differences are 0" if not wrong else f"{len(wrong)} differences are NOT 0"
            lines.append(f"case {case!r}, K={K}, J={J}, I={I}: {len(rows)} weights, {verdict}")
            lines.extend(f"    ∂E/∂{w} − closed form = {d}" for w, d in wrong)
        lines.append(f"{'PROVED' if self.holds else 'NOT PROVED'} in {self.seconds:.1f} s")
        return "\n".join(lines)


def prove_all(shapes: tuple[tuple[int, int, int], ...] = SHAPES) -> ProofReport:
    """The lemmas, then the closed forms for both cases on every shape."""
    start = time.perf_counter()
    lemmas = prove_lemmas()
    networks = {(case, *shape): prove(case, *shape) for case in CASES for shape in shapes}
    return ProofReport(lemmas, networks, time.perf_counter() - start)


def _check_case(case) -> None:
    """Refuse an unknown case by name."""
    if case not in CASES:
        raise ValueError(f"case must be one of {CASES}, got {case!r}")


if __name__ == "__main__":
    report = prove_all()
    print(report.text())
    raise SystemExit(0 if report.holds else 1)
