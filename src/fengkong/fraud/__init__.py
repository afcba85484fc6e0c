"""Fraud prevention (反欺诈): black/grey/white lists and identity checks, and the graph nodes
that run them in a decision flow.

* :mod:`fengkong.fraud.keys` — canonical and masked forms of identifier keys;
* :mod:`fengkong.fraud.lists` — list CSV files and their in-memory index;
* :mod:`fengkong.fraud.identity` — resident ID number, mobile, bank card, consistency;
* :mod:`fengkong.fraud.node` — the ``list`` and ``identity`` node kinds.

Everything here is plain Python with no heavy dependency. See
``docs/fraud-lists-identity.md``.
"""

from __future__ import annotations

from fengkong.fraud.identity import (
    REASONS,
    IdNumberCheck,
    age_on,
    check_id_number,
    check_identity,
    is_mobile_number,
    luhn_valid,
)
from fengkong.fraud.keys import mask, normalise
from fengkong.fraud.lists import (
    ListEntry,
    ListFile,
    ListFileError,
    ListIndex,
    load_list_file,
    load_lists,
    parse_list,
)

__all__ = [
    "REASONS",
    "IdNumberCheck",
    "ListEntry",
    "ListFile",
    "ListFileError",
    "ListIndex",
    "age_on",
    "check_id_number",
    "check_identity",
    "is_mobile_number",
    "load_list_file",
    "load_lists",
    "luhn_valid",
    "mask",
    "normalise",
    "parse_list",
]
