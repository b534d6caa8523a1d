"""Random expression trees for property tests of the NumPy engines (shared by tests/reverse and tests/rules).

A tree is ``("x",)``, ``("u", name, sub)`` or ``("b", name, left, right)``; the names index
dictionaries of unary and binary NumPy functions given by each test module.
"""

from __future__ import annotations

from hypothesis import strategies as st


def tree_strategy(unary, binary, max_leaves):
    """Hypothesis strategy of trees over the functions in ``unary`` and ``binary``."""
    return st.recursive(
        st.just(("x",)),
        lambda sub: st.one_of(
            st.tuples(st.just("u"), st.sampled_from(sorted(unary)), sub),
            st.tuples(st.just("b"), st.sampled_from(sorted(binary)), sub, sub),
        ),
        max_leaves=max_leaves,
    )


def evaluate_tree(tree, x, unary, binary):
    """The value of ``tree`` at ``x`` (``x`` may be a plain array or an engine's traced/dual array)."""
    if tree[0] == "x":
        return x
    if tree[0] == "u":
        return unary[tree[1]](evaluate_tree(tree[2], x, unary, binary))
    return binary[tree[1]](evaluate_tree(tree[2], x, unary, binary), evaluate_tree(tree[3], x, unary, binary))
