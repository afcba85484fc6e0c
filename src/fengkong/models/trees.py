"""LightGBM's text model as flat arrays, and the compiled kernels that score and explain a row.

The request path must not import LightGBM (a training dependency) and must explain every
score, so this module reads ``model.txt`` itself into a :class:`Forest` of flat NumPy
arrays and walks them with numba-compiled kernels that follow LightGBM's own split rules:

* numerical split: value ``<=`` threshold goes left. ``decision_type`` bit 1 is "missing
  goes left", bits 2-3 the missing type: *None* (NaN is read as 0.0), *Zero* (0 and NaN go
  the default way) or *NaN* (NaN goes the default way);
* categorical split (bit 0): the category code goes left when its bit is set in the node's
  ``cat_threshold`` bitset; NaN and negative codes go right.

Reasons are exact path-dependent TreeSHAP values — the numbers LightGBM's
``predict(pred_contrib=True)`` gives — computed leaf by leaf rather than by the recursive
algorithm. For one leaf with value ``v`` whose path splits on ``d`` distinct features, each
with the share ``z`` of training rows that follow the path's splits on that feature, the
row only matters through which of the ``d`` features it "satisfies" (goes the leaf's way at
every split on it). With ``P`` that set, ``Z`` the product of ``z`` outside ``P`` and
``C(Q) = sum_s w(s) e_{|Q|-s}(z_Q)`` (``e_k`` the elementary symmetric polynomials,
``w(s) = s! (d-s-1)! / d!``), the leaf adds ``v (1 - z_j) Z C(P - j)`` to a satisfied
feature ``j`` and ``-v Z C(P)`` to every other path feature. Those ``d`` numbers depend on
``P`` alone, so for leaves with ``d <=`` :data:`TABLE_DEPTH` they are tabulated for every
``P`` when the model loads (Fast TreeSHAP v2) and a row costs one table row per leaf:
O(trees x leaves x depth) instead of LightGBM's O(trees x leaves x depth²). Deeper leaves
are computed on the fly in O(depth²).

The same pass gives the raw score: the leaf the row reaches is the one whose every path
feature is satisfied.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numba import njit

from fengkong.errors import ModelArtifactError

MAX_DEPTH = 62  # distinct features on one leaf's path: they are bits of an int64 mask
TABLE_DEPTH = 6  # leaves with at most this many distinct path features get a lookup table
TREE_TABLE_NODES = 7  # trees with at most this many splits get one table for the whole tree
ZERO_THRESHOLD = 1e-35  # LightGBM's kZeroThreshold: |x| <= this is "zero" for missing type Zero
# decision_type: bit 0 categorical, bit 1 missing goes left, bits 2-3 the missing type
CATEGORICAL, DEFAULT_LEFT = 1, 2
MISSING_ZERO, MISSING_NAN = 1, 2


@dataclass(frozen=True, slots=True)
class Forest:
    """A LightGBM binary model as flat arrays.

    Tree ``t`` owns nodes ``tree_nodes[t]:tree_nodes[t + 1]`` and leaves
    ``tree_leaves[t]:tree_leaves[t + 1]``. Its internal nodes are renumbered in preorder (a
    parent before its children, so one forward pass can push state down the tree); children
    are local: ``>= 0`` an internal node, ``< 0`` the leaf ``~child``. ``node_slot`` is the
    position of the node's feature among the distinct features of any path through it —
    the same for every leaf below, since it only depends on the nodes above. A leaf's
    distinct path features and their zero fractions are ``slot_feature``/``slot_zero`` from
    ``leaf_slots``; its contribution table, when it has one, starts at ``leaf_table``.
    """

    feature_names: tuple[str, ...]
    tree_nodes: np.ndarray      # int64 [T + 1]
    tree_leaves: np.ndarray     # int64 [T + 1]
    node_feature: np.ndarray    # int64 [N]
    node_threshold: np.ndarray  # float64 [N]
    node_decision: np.ndarray   # int64 [N], LightGBM's decision_type
    node_left: np.ndarray       # int64 [N]
    node_right: np.ndarray      # int64 [N]
    node_slot: np.ndarray       # int64 [N]
    node_cats: np.ndarray       # int64 [N, 2]: the node's words in cat_bits
    cat_bits: np.ndarray        # uint32
    leaf_value: np.ndarray      # float64 [M]
    leaf_depth: np.ndarray      # int64 [M]
    leaf_slots: np.ndarray      # int64 [M]
    leaf_table: np.ndarray      # int64 [M], -1: computed on the fly
    slot_feature: np.ndarray    # int64 [S]
    slot_zero: np.ndarray       # float64 [S]
    tables: np.ndarray          # float64: per tabulated leaf, 2**d rows of d contributions
    tree_table: np.ndarray      # int64 [T], -1: no whole-tree table
    tree_columns: np.ndarray    # int64 [T + 1]: the tree's distinct features in tree_feature
    tree_feature: np.ndarray    # int64
    tree_tables: np.ndarray     # float64: per small tree, 2**n rows of (leaf value, phi...)
    expected_value: float       # sum over trees of the training-weighted mean leaf value
    max_nodes: int              # the most internal nodes in one tree (buffer sizes)
    max_leaves: int

    @property
    def n_trees(self) -> int:
        return int(self.tree_nodes.shape[0] - 1)

    def raw_score(self, x: np.ndarray) -> float:
        """The raw log-odds of one row (float64, one value per feature, NaN missing)."""
        return float(raw_score(x, self.tree_nodes, self.tree_leaves, self.node_feature,
                               self.node_threshold, self.node_decision, self.node_left,
                               self.node_right, self.node_cats, self.cat_bits, self.leaf_value,
                               self.max_nodes))

    def explain(self, x: np.ndarray, top: int) -> tuple[float, np.ndarray, np.ndarray]:
        """Raw score, and the ``top`` features with the largest positive contribution
        (indices and contributions, largest first; fewer when fewer are positive)."""
        return explain(x, top, self.tree_nodes, self.tree_leaves, self.node_feature,
                       self.node_threshold, self.node_decision, self.node_left,
                       self.node_right, self.node_cats, self.cat_bits, self.node_slot,
                       self.leaf_value,
                       self.leaf_depth, self.leaf_slots, self.leaf_table, self.slot_feature,
                       self.slot_zero, self.tables, self.tree_table, self.tree_columns,
                       self.tree_feature, self.tree_tables, self.max_nodes, self.max_leaves)

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Every feature's TreeSHAP contribution, then the expected value (LightGBM's
        ``pred_contrib`` layout); they sum to the raw score."""
        phi = np.zeros(len(self.feature_names) + 1)
        contributions(x, phi, self.tree_nodes, self.tree_leaves, self.node_feature,
                      self.node_threshold, self.node_decision, self.node_left,
                      self.node_right, self.node_cats, self.cat_bits, self.node_slot,
                      self.leaf_value,
                      self.leaf_depth, self.leaf_slots, self.leaf_table, self.slot_feature,
                      self.slot_zero, self.tables, self.tree_table, self.tree_columns,
                      self.tree_feature, self.tree_tables, self.max_nodes, self.max_leaves)
        phi[-1] += self.expected_value
        return phi


# --------------------------------------------------------------------------- parsing

def parse_model(text: str, feature_names: tuple[str, ...] | None = None,
                table_depth: int = TABLE_DEPTH) -> Forest:
    """Read LightGBM's text model (``Booster.model_to_string()``) into a :class:`Forest`.

    Refuses, with :class:`ModelArtifactError`, anything this scorer would not score the
    way LightGBM does: multiclass, linear trees, random-forest averaging, malformed arrays,
    a tree whose children do not form a tree, feature names other than ``feature_names``.
    Leaves with at most ``table_depth`` distinct path features get a contribution table.
    """
    try:
        return _parse(text, feature_names, table_depth)
    except ModelArtifactError:
        raise
    except (ValueError, IndexError, KeyError, OverflowError) as error:
        raise ModelArtifactError(f"model.txt is not a readable LightGBM model: {error}") from None


def _parse(text: str, feature_names: tuple[str, ...] | None, table_depth: int) -> Forest:
    header, _, body = text.partition("\nTree=")
    if not body or not header.startswith("tree"):
        raise ModelArtifactError("model.txt is not a LightGBM text model (no 'tree' header "
                                 "or no trees)")
    head = _fields(header.splitlines()[1:])
    if int(head.get("num_class", "1")) != 1 or int(head.get("num_tree_per_iteration", "1")) != 1:
        raise ModelArtifactError("model.txt is a multiclass model; a gbdt scorer needs a "
                                 "binary one")
    if not head.get("objective", "").startswith("binary"):
        raise ModelArtifactError(f"model.txt has objective {head.get('objective')!r}; a gbdt "
                                 "scorer needs 'binary'")
    if "average_output" in header.splitlines():
        raise ModelArtifactError("model.txt averages its trees (random forest); not supported")
    names = tuple(head["feature_names"].split(" "))
    if int(head["max_feature_idx"]) + 1 != len(names):
        raise ModelArtifactError("model.txt: max_feature_idx does not match feature_names")
    if feature_names is not None:
        expected = tuple(name.replace(" ", "_") for name in feature_names)
        if names != expected:
            raise ModelArtifactError(
                f"model.txt has the features {list(names)[:5]}... but the metadata lists "
                f"{list(feature_names)[:5]}...; the files belong to different models")
        names = feature_names
    body = body.split("\nend of trees", 1)[0]
    blocks = ["Tree=" + block for block in body.split("\nTree=")]
    builder = _Builder(len(names), table_depth)
    for number, block in enumerate(blocks):
        lines = block.strip().splitlines()
        if lines[0] != f"Tree={number}":
            raise ModelArtifactError(f"model.txt: expected Tree={number}, found {lines[0]!r}")
        builder.add(number, _fields(lines[1:]))
    return builder.build(names)


def _fields(lines: list[str]) -> dict[str, str]:
    fields = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def _numbers(fields: dict[str, str], key: str, count: int, kind: type) -> list:
    text = fields.get(key, "")
    values = [kind(item) for item in text.split()] if text else []
    if len(values) != count:
        raise ModelArtifactError(f"model.txt: {key} has {len(values)} values, expected {count}")
    return values


class _Builder:
    """Accumulates the trees' arrays and the per-leaf TreeSHAP data."""

    def __init__(self, n_features: int, table_depth: int) -> None:
        self.n_features = n_features
        self.table_depth = table_depth
        self.tree_nodes = [0]
        self.tree_leaves = [0]
        self.node_columns: dict[str, list] = {key: [] for key in (
            "feature", "threshold", "decision", "left", "right", "slot", "cats")}
        self.cat_bits: list[int] = []
        self.leaf_columns: dict[str, list] = {key: [] for key in (
            "value", "depth", "slots", "table")}
        self.slot_feature: list[int] = []
        self.slot_zero: list[float] = []
        self.tables: list[np.ndarray] = []
        self.table_size = 0
        self.expected_value = 0.0
        self.max_nodes = 1
        self.max_leaves = 1

    def add(self, number: int, fields: dict[str, str]) -> None:
        where = f"model.txt Tree={number}"
        if fields.get("is_linear", "0") != "0":
            raise ModelArtifactError(f"{where} is a linear tree; not supported")
        n_leaves = int(fields["num_leaves"])
        if n_leaves < 1:
            raise ModelArtifactError(f"{where}: num_leaves must be at least 1")
        values = _numbers(fields, "leaf_value", n_leaves, float)
        self.max_leaves = max(self.max_leaves, n_leaves)
        if n_leaves == 1:
            self.expected_value += values[0]
            self._add_leaf(values[0], [])
            self._close_tree()
            return
        n = n_leaves - 1
        self.max_nodes = max(self.max_nodes, n)
        feature = _numbers(fields, "split_feature", n, int)
        threshold = _numbers(fields, "threshold", n, float)
        decision = _numbers(fields, "decision_type", n, int)
        left = _numbers(fields, "left_child", n, int)
        right = _numbers(fields, "right_child", n, int)
        leaf_count = _numbers(fields, "leaf_count", n_leaves, float)
        internal_count = _numbers(fields, "internal_count", n, float)
        n_cat = int(fields.get("num_cat", "0"))
        boundaries = _numbers(fields, "cat_boundaries", n_cat + 1, int) if n_cat else [0]
        bits = _numbers(fields, "cat_threshold", boundaries[-1], int) if n_cat else []
        if any(not 0 <= f < self.n_features for f in feature):
            raise ModelArtifactError(f"{where}: a split_feature is out of range")
        if any(c <= 0 for c in leaf_count) or any(c <= 0 for c in internal_count):
            raise ModelArtifactError(f"{where}: leaf_count/internal_count must be positive "
                                     "(TreeSHAP weighs paths by them)")

        # One walk from the root: preorder numbering, each node's slot, each leaf's path.
        order: list[int] = []
        slot_of: list[int] = [0] * n
        paths: list[list[tuple[int, float]] | None] = [None] * n_leaves
        seen = [False] * n
        stack: list[tuple[int, list[tuple[int, float]]]] = [(0, [])]
        while stack:
            node, path = stack.pop()
            if node < 0:
                leaf = ~node
                if not 0 <= leaf < n_leaves or paths[leaf] is not None:
                    raise ModelArtifactError(f"{where}: leaf {leaf} is missing or reached twice")
                paths[leaf] = path
                continue
            if node >= n or seen[node]:
                raise ModelArtifactError(f"{where}: node {node} is missing or reached twice")
            seen[node] = True
            order.append(node)
            features_above = list(dict.fromkeys(f for f, _ in path))
            slot_of[node] = (features_above.index(feature[node])
                             if feature[node] in features_above else len(features_above))
            for child in (right[node], left[node]):
                count = leaf_count[~child] if -n_leaves <= child < 0 else (
                    internal_count[child] if 0 <= child < n else 0.0)
                stack.append((child, [*path, (feature[node], count / internal_count[node])]))
        if not all(seen) or any(path is None for path in paths):
            raise ModelArtifactError(f"{where}: some nodes or leaves are not reachable")

        position = {node: index for index, node in enumerate(order)}

        def local(child: int) -> int:
            return child if child < 0 else position[child]

        cat_base = len(self.cat_bits)
        self.cat_bits.extend(bits)
        columns = self.node_columns
        for node in order:
            cats = (0, 0)
            if decision[node] & CATEGORICAL:
                index = int(threshold[node])
                if not 0 <= index < n_cat or boundaries[index] > boundaries[index + 1]:
                    raise ModelArtifactError(f"{where}: categorical split {node} points "
                                             "outside cat_boundaries")
                cats = (cat_base + boundaries[index], cat_base + boundaries[index + 1])
            columns["feature"].append(feature[node])
            columns["threshold"].append(threshold[node])
            columns["decision"].append(decision[node])
            columns["left"].append(local(left[node]))
            columns["right"].append(local(right[node]))
            columns["slot"].append(slot_of[node])
            columns["cats"].append(cats)
        total = internal_count[0]
        for leaf, leaf_path in enumerate(paths):
            assert leaf_path is not None
            self.expected_value += leaf_count[leaf] / total * values[leaf]
            self._add_leaf(values[leaf], leaf_path)
        self._close_tree()

    def _add_leaf(self, value: float, path: list[tuple[int, float]]) -> None:
        """A leaf, its distinct path features with their zero fractions (the product of the
        shares of training rows that followed the path at each split on the feature), and
        its contribution table."""
        zeros: dict[int, float] = {}
        for feature, share in path:
            zeros[feature] = zeros.get(feature, 1.0) * share
        depth = len(zeros)
        if depth > MAX_DEPTH:
            raise ModelArtifactError(f"model.txt has a leaf {depth} distinct features deep; "
                                     f"the scorer supports at most {MAX_DEPTH}")
        columns = self.leaf_columns
        columns["value"].append(value)
        columns["depth"].append(depth)
        columns["slots"].append(len(self.slot_feature))
        self.slot_feature.extend(zeros)
        self.slot_zero.extend(zeros.values())
        if depth and depth <= self.table_depth:
            table = leaf_table(np.array(list(zeros.values())), value)
            columns["table"].append(self.table_size)
            self.tables.append(table)
            self.table_size += table.size
        else:
            columns["table"].append(-1)

    def _close_tree(self) -> None:
        self.tree_nodes.append(len(self.node_columns["feature"]))
        self.tree_leaves.append(len(self.leaf_columns["value"]))

    def build(self, names: tuple[str, ...]) -> Forest:
        def ints(values: list) -> np.ndarray:
            return np.array(values, dtype=np.int64)

        nodes, leaves = self.node_columns, self.leaf_columns
        forest = Forest(
            feature_names=names,
            tree_nodes=ints(self.tree_nodes),
            tree_leaves=ints(self.tree_leaves),
            node_feature=ints(nodes["feature"]),
            node_threshold=np.array(nodes["threshold"], dtype=np.float64),
            node_decision=ints(nodes["decision"]),
            node_left=ints(nodes["left"]),
            node_right=ints(nodes["right"]),
            node_slot=ints(nodes["slot"]),
            node_cats=ints(nodes["cats"]).reshape(-1, 2),
            cat_bits=np.array(self.cat_bits, dtype=np.uint32),
            leaf_value=np.array(leaves["value"], dtype=np.float64),
            leaf_depth=ints(leaves["depth"]),
            leaf_slots=ints(leaves["slots"]),
            leaf_table=ints(leaves["table"]),
            slot_feature=ints(self.slot_feature),
            slot_zero=np.array(self.slot_zero, dtype=np.float64),
            tables=np.concatenate(self.tables) if self.tables else np.zeros(0),
            tree_table=np.full(len(self.tree_nodes) - 1, -1, dtype=np.int64),
            tree_columns=np.zeros(len(self.tree_nodes), dtype=np.int64),
            tree_feature=np.zeros(0, dtype=np.int64),
            tree_tables=np.zeros(0),
            expected_value=self.expected_value,
            max_nodes=self.max_nodes,
            max_leaves=self.max_leaves,
        )
        return _with_tree_tables(forest)


def _with_tree_tables(forest: Forest) -> Forest:
    """Add one table per small tree: for every combination of its splits' answers, the
    leaf reached and the tree's contribution to each of its features. A row then costs one
    table row per tree instead of one per leaf."""
    n_trees = forest.n_trees
    tree_table = np.full(n_trees, -1, dtype=np.int64)
    tree_columns = np.zeros(n_trees + 1, dtype=np.int64)
    features: list[np.ndarray] = []
    tables: list[np.ndarray] = []
    size = 0
    column_of = np.full(len(forest.feature_names), -1, dtype=np.int64)
    for tree in range(n_trees):
        n_nodes = int(forest.tree_nodes[tree + 1] - forest.tree_nodes[tree])
        columns = np.unique(forest.node_feature[forest.tree_nodes[tree]:
                                                forest.tree_nodes[tree + 1]])
        tree_columns[tree + 1] = tree_columns[tree] + len(columns)
        features.append(columns)
        if not 0 < n_nodes <= TREE_TABLE_NODES:
            continue
        column_of[columns] = np.arange(len(columns))
        table = np.zeros((1 << n_nodes) * (1 + len(columns)))
        _fill_tree_table(tree, forest.tree_nodes, forest.tree_leaves, forest.node_left,
                         forest.node_right, forest.node_slot, forest.leaf_value,
                         forest.leaf_depth, forest.leaf_slots, forest.leaf_table,
                         forest.slot_feature, forest.slot_zero, forest.tables, column_of,
                         table)
        column_of[columns] = -1
        tree_table[tree] = size
        tables.append(table)
        size += table.size
    return dataclasses.replace(
        forest, tree_table=tree_table, tree_columns=tree_columns,
        tree_feature=np.concatenate(features) if features else np.zeros(0, dtype=np.int64),
        tree_tables=np.concatenate(tables) if tables else np.zeros(0))


def leaf_table(zeros: np.ndarray, value: float) -> np.ndarray:
    """The ``2**d x d`` table of one leaf's contributions to its path features. Row ``m``
    is for the row that misses the leaf's way on the path features in the bit set ``m``
    (bit ``k``: feature slot ``k``) and satisfies the others."""
    depth = len(zeros)
    full = (1 << depth) - 1
    table = np.empty(depth << depth)
    for missed in range(1 << depth):
        leaf_contributions(zeros, value, full ^ missed,
                           table[missed * depth:(missed + 1) * depth])
    return table


# --------------------------------------------------------------------------- kernels

@njit(cache=True, nogil=True)
def _prepare(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover
    """Per feature: the value with NaN read as 0.0, whether it was NaN, whether it is zero
    (LightGBM's IsZero of the NaN-as-0 value) — so each split is a few loads."""
    n = x.shape[0]
    value = np.empty(n)
    is_nan = np.empty(n, dtype=np.bool_)
    is_zero = np.empty(n, dtype=np.bool_)
    for feature in range(n):
        v = x[feature]
        is_nan[feature] = np.isnan(v)
        if is_nan[feature]:
            v = 0.0
        value[feature] = v
        is_zero[feature] = -ZERO_THRESHOLD <= v <= ZERO_THRESHOLD
    return value, is_nan, is_zero


# The split helpers take scalars only: a call that passes an array, even one never made,
# keeps numba from compiling the split loop tightly (measured: three times slower).

@njit(cache=True, nogil=True)
def _numeric_goes_left(value: float, is_nan: bool, is_zero: bool, decision: int,
                       threshold: float) -> bool:  # pragma: no cover - compiled
    """LightGBM's Tree::NumericalDecision, on the NaN-as-0 value."""
    missing = (decision >> 2) & 3
    if (missing == MISSING_NAN and is_nan) or (missing == MISSING_ZERO and is_zero):
        return (decision & DEFAULT_LEFT) != 0
    return value <= threshold


@njit(cache=True, nogil=True)
def _category_word(value: float, is_nan: bool, start: int,
                   stop: int) -> int:  # pragma: no cover - compiled
    """The word of the node's bitset (``cat_bits[start:stop]``) that holds the category
    code's bit, or -1 when the row goes right without looking: NaN, a negative code, a
    code past the bitset. The code is the value truncated towards zero, as LightGBM's
    ``static_cast<int>`` does: -0.5 is category 0. The caller tests the bit (see
    :func:`_category_bit`)."""
    if is_nan or value <= -1.0 or value >= (stop - start) * 32:
        return -1
    return start + (int(value) >> 5)


@njit(cache=True, nogil=True)
def _category_bit(word: np.uint32, value: float) -> bool:  # pragma: no cover - compiled
    """Whether the category code's bit is set in its bitset word: the row goes left."""
    return ((word >> np.uint32(int(value) & 31)) & np.uint32(1)) == 1


@njit(cache=True, nogil=True)
def raw_score(x: np.ndarray, tree_nodes: np.ndarray, tree_leaves: np.ndarray,
              node_feature: np.ndarray, node_threshold: np.ndarray, node_decision: np.ndarray,
              node_left: np.ndarray, node_right: np.ndarray, node_cats: np.ndarray,
              cat_bits: np.ndarray, leaf_value: np.ndarray,
              max_nodes: int) -> float:  # pragma: no cover - compiled
    """Sum of the leaves the row reaches, tree by tree (LightGBM's raw score). Every split
    of a tree is decided first (independent loads the CPU overlaps), then the walk only
    reads those answers."""
    value, is_nan, is_zero = _prepare(x)
    went_left = np.empty(max_nodes, dtype=np.bool_)
    total = 0.0
    for tree in range(tree_nodes.shape[0] - 1):
        base = tree_nodes[tree]
        for node in range(tree_nodes[tree + 1] - base):
            here = base + node
            feature = node_feature[here]
            decision = node_decision[here]
            if decision & CATEGORICAL:
                word = _category_word(value[feature], is_nan[feature], node_cats[here, 0],
                                      node_cats[here, 1])
                went_left[node] = word >= 0 and _category_bit(cat_bits[word], value[feature])
            else:
                went_left[node] = _numeric_goes_left(value[feature], is_nan[feature],
                                                     is_zero[feature], decision,
                                                     node_threshold[here])
        child = 0 if tree_nodes[tree + 1] > base else -1
        while child >= 0:
            child = node_left[base + child] if went_left[child] else node_right[base + child]
        total += leaf_value[tree_leaves[tree] + ~child]
    return total


@njit(cache=True, nogil=True)
def leaf_contributions(zeros: np.ndarray, value: float, pattern: int,
                       out: np.ndarray) -> None:  # pragma: no cover - compiled
    """One leaf's TreeSHAP contribution to each of its ``d`` path features, given the set
    ``pattern`` of path features the row satisfies (see the module docstring)."""
    depth = zeros.shape[0]
    # w(s) = s! (d-s-1)! / d!, the Shapley weight of a coalition of s of the other d-1.
    weights = np.empty(depth)
    weights[0] = 1.0 / depth
    for s in range(1, depth):
        weights[s] = weights[s - 1] * s / (depth - s)
    # e: elementary symmetric polynomials of z over the satisfied features; outside: the
    # product of z over the others.
    e = np.zeros(depth + 1)
    e[0] = 1.0
    size = 0
    outside = 1.0
    for k in range(depth):
        if (pattern >> k) & 1:
            size += 1
            for m in range(size, 0, -1):
                e[m] += zeros[k] * e[m - 1]
        else:
            outside *= zeros[k]
    whole = 0.0  # C(P)
    for s in range(size + 1):
        whole += weights[s] * e[size - s]
    reduced = np.empty(depth + 1)
    for k in range(depth):
        if (pattern >> k) & 1:
            # e over P - k by deflating the polynomial: e'_m = e_m - z_k e'_{m-1}
            reduced[0] = 1.0
            for m in range(1, size):
                reduced[m] = e[m] - zeros[k] * reduced[m - 1]
            without = 0.0  # C(P - k)
            for s in range(size):
                without += weights[s] * reduced[size - 1 - s]
            out[k] = value * (1.0 - zeros[k]) * outside * without
        else:
            out[k] = -value * outside * whole



@njit(cache=True, nogil=True)
def _fill_tree_table(tree: int, tree_nodes: np.ndarray, tree_leaves: np.ndarray,
                     node_left: np.ndarray, node_right: np.ndarray, node_slot: np.ndarray,
                     leaf_value: np.ndarray, leaf_depth: np.ndarray, leaf_slots: np.ndarray,
                     leaf_table: np.ndarray, slot_feature: np.ndarray, slot_zero: np.ndarray,
                     tables: np.ndarray, column_of: np.ndarray,
                     out: np.ndarray) -> None:  # pragma: no cover - compiled
    """One small tree's table (see :func:`_with_tree_tables`): row ``b`` is for the row
    whose split ``i`` (preorder) goes left exactly when bit ``i`` of ``b`` is set."""
    base = tree_nodes[tree]
    first = tree_leaves[tree]
    n_nodes = tree_nodes[tree + 1] - base
    n_leaves = tree_leaves[tree + 1] - first
    width = out.shape[0] >> n_nodes
    missed = np.empty(n_nodes, dtype=np.int64)
    leaf_missed = np.empty(n_leaves, dtype=np.int64)
    scratch = np.empty(MAX_DEPTH)
    for bits in range(1 << n_nodes):
        row = bits * width
        missed[0] = 0
        for node in range(n_nodes):
            here = base + node
            bit = np.int64(1) << node_slot[here]
            above = missed[node]
            left = (bits >> node) & 1
            to_left = above if left else above | bit
            to_right = above | bit if left else above
            for child, mask in ((node_left[here], to_left), (node_right[here], to_right)):
                if child >= 0:
                    missed[child] = mask
                else:
                    leaf_missed[~child] = mask
        for leaf in range(n_leaves):
            at = first + leaf
            mask = leaf_missed[leaf]
            if mask == 0:
                out[row] = leaf_value[at]
            depth = leaf_depth[at]
            slots = leaf_slots[at]
            if leaf_table[at] >= 0:
                values = tables[leaf_table[at] + mask * depth:leaf_table[at] + (mask + 1) * depth]
            else:
                values = scratch[:depth]
                leaf_contributions(slot_zero[slots:slots + depth], leaf_value[at],
                                   ((np.int64(1) << depth) - 1) ^ mask, values)
            for k in range(depth):
                out[row + 1 + column_of[slot_feature[slots + k]]] += values[k]


@njit(cache=True, nogil=True)
def contributions(x: np.ndarray, phi: np.ndarray, tree_nodes: np.ndarray,
                  tree_leaves: np.ndarray, node_feature: np.ndarray,
                  node_threshold: np.ndarray, node_decision: np.ndarray, node_left: np.ndarray,
                  node_right: np.ndarray, node_cats: np.ndarray, cat_bits: np.ndarray,
                  node_slot: np.ndarray, leaf_value: np.ndarray, leaf_depth: np.ndarray,
                  leaf_slots: np.ndarray, leaf_table: np.ndarray, slot_feature: np.ndarray,
                  slot_zero: np.ndarray, tables: np.ndarray, tree_table: np.ndarray,
                  tree_columns: np.ndarray, tree_feature: np.ndarray, tree_tables: np.ndarray,
                  max_nodes: int, max_leaves: int) -> float:  # pragma: no cover - compiled
    """Add every tree's TreeSHAP contributions to ``phi``; return the raw score.

    A small tree reads one row of its whole-tree table, chosen by its splits' answers.
    Otherwise one forward pass over the preorder nodes pushes down the set of path features
    the row has missed (a bit per slot); each leaf then reads its table row for that set.
    The leaf with nothing missed is the one the row reaches.
    """
    value, is_nan, is_zero = _prepare(x)
    missed = np.empty(max_nodes, dtype=np.int64)
    leaf_missed = np.empty(max_leaves, dtype=np.int64)
    scratch = np.empty(MAX_DEPTH)
    n_trees = tree_nodes.shape[0] - 1
    rows = np.full(n_trees, -1, dtype=np.int64)
    total = 0.0
    for tree in range(n_trees):
        base = tree_nodes[tree]
        first = tree_leaves[tree]
        if tree_nodes[tree + 1] == base:
            total += leaf_value[first]
            continue
        if tree_table[tree] >= 0:
            bits = 0
            for node in range(tree_nodes[tree + 1] - base):
                here = base + node
                feature = node_feature[here]
                decision = node_decision[here]
                if decision & CATEGORICAL:
                    word = _category_word(value[feature], is_nan[feature], node_cats[here, 0],
                                          node_cats[here, 1])
                    left = word >= 0 and _category_bit(cat_bits[word], value[feature])
                else:
                    left = _numeric_goes_left(value[feature], is_nan[feature],
                                              is_zero[feature], decision, node_threshold[here])
                bits |= int(left) << node  # no branch: the answers are unpredictable
            rows[tree] = tree_table[tree] + bits * (tree_columns[tree + 1] - tree_columns[tree]
                                                    + 1)
            continue
        missed[0] = 0
        for node in range(tree_nodes[tree + 1] - base):
            here = base + node
            bit = np.int64(1) << node_slot[here]
            above = missed[node]
            feature = node_feature[here]
            decision = node_decision[here]
            if decision & CATEGORICAL:
                word = _category_word(value[feature], is_nan[feature], node_cats[here, 0],
                                      node_cats[here, 1])
                left = word >= 0 and _category_bit(cat_bits[word], value[feature])
            else:
                left = _numeric_goes_left(value[feature], is_nan[feature], is_zero[feature],
                                          decision, node_threshold[here])
            to_left = above if left else above | bit
            to_right = above | bit if left else above
            child = node_left[here]
            if child >= 0:
                missed[child] = to_left
            else:
                leaf_missed[~child] = to_left
            child = node_right[here]
            if child >= 0:
                missed[child] = to_right
            else:
                leaf_missed[~child] = to_right
        for leaf in range(tree_leaves[tree + 1] - first):
            at = first + leaf
            mask = leaf_missed[leaf]
            if mask == 0:
                total += leaf_value[at]
            depth = leaf_depth[at]
            slots = leaf_slots[at]
            row = leaf_table[at]
            if row >= 0:
                row += mask * depth
                for k in range(depth):
                    phi[slot_feature[slots + k]] += tables[row + k]
            else:
                out = scratch[:depth]
                full = (np.int64(1) << depth) - 1
                leaf_contributions(slot_zero[slots:slots + depth], leaf_value[at],
                                   full ^ mask, out)
                for k in range(depth):
                    phi[slot_feature[slots + k]] += out[k]
    # The whole-tree table rows are read in a second, tight loop: their addresses are all
    # known by now, so the CPU overlaps the cache misses instead of waiting on each.
    for tree in range(n_trees):
        row = rows[tree]
        if row >= 0:
            total += tree_tables[row]
            columns = tree_columns[tree]
            for k in range(tree_columns[tree + 1] - columns):
                phi[tree_feature[columns + k]] += tree_tables[row + 1 + k]
    return total


@njit(cache=True, nogil=True)
def explain(x: np.ndarray, top: int, tree_nodes: np.ndarray, tree_leaves: np.ndarray,
            node_feature: np.ndarray, node_threshold: np.ndarray, node_decision: np.ndarray,
            node_left: np.ndarray, node_right: np.ndarray, node_cats: np.ndarray,
            cat_bits: np.ndarray, node_slot: np.ndarray, leaf_value: np.ndarray,
            leaf_depth: np.ndarray, leaf_slots: np.ndarray, leaf_table: np.ndarray,
            slot_feature: np.ndarray, slot_zero: np.ndarray, tables: np.ndarray,
            tree_table: np.ndarray, tree_columns: np.ndarray, tree_feature: np.ndarray,
            tree_tables: np.ndarray, max_nodes: int, max_leaves: int) -> tuple[float, np.ndarray, np.ndarray]:  # pragma: no cover
    """Raw score and the ``top`` largest positive contributions, in one call per row."""
    phi = np.zeros(x.shape[0])
    score = contributions(x, phi, tree_nodes, tree_leaves, node_feature, node_threshold,
                          node_decision, node_left, node_right, node_cats, cat_bits, node_slot,
                          leaf_value, leaf_depth, leaf_slots, leaf_table, slot_feature,
                          slot_zero, tables, tree_table, tree_columns, tree_feature,
                          tree_tables, max_nodes, max_leaves)
    index = np.empty(top, dtype=np.int64)
    impact = np.empty(top)
    found = 0
    while found < top:
        best = -1
        for feature in range(phi.shape[0]):
            if phi[feature] > 0.0 and (best < 0 or phi[feature] > phi[best]):
                best = feature
        if best < 0:
            break
        index[found] = best
        impact[found] = phi[best]
        phi[best] = 0.0
        found += 1
    return score, index[:found], impact[:found]
