"""Hypothesis strategies derived from the settings declarations: values each field refuses."""

from __future__ import annotations

import math
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from hypothesis import strategies as st
from pydantic.fields import FieldInfo

from qaaan.settings import Settings

WRONG_TYPES = {
    int: [1.5, "3", True, None, [1]],
    float: ["0.1", True, None, [0.1], math.nan, math.inf],
    str: [3, 1.5, True, [], {"a": 1}],
    bool: ["yes", 1, 0.0, None],
    dict: [3, "beta=1", [1, 2], True],
    list: [3, "a", {"a": 1}],
}


def _kinds(annotation: Any) -> list[Any]:
    """The types of a union (X | None), or the type itself."""
    if get_origin(annotation) in (Union, UnionType):
        return [k for k in get_args(annotation) if k is not type(None)]
    return [annotation]


def bad_values(field: FieldInfo) -> st.SearchStrategy:
    """Values `field` must refuse: other types, out-of-range numbers, unknown choices."""
    kinds = _kinds(field.annotation)
    kind = kinds[0]
    if get_origin(kind) is Annotated:
        kind = get_args(kind)[0]
    kind = get_origin(kind) or kind
    if kind is Literal:
        return st.sampled_from(["not-a-choice", 3, None])
    optional = type(None) in get_args(field.annotation)
    wrong = [v for v in WRONG_TYPES[kind] if not (optional and v is None)]
    strategies = [st.sampled_from(wrong)]
    for rule in field.metadata:
        for name, offset in (("ge", -1), ("gt", 0), ("le", 1), ("lt", 0)):
            bound = getattr(rule, name, None)
            if bound is not None and kind in (int, float) and bound < 2**62:
                strategies.append(st.just(bound + offset))
    return st.one_of(strategies)


def one_bad_setting(model: type[Settings], skip: tuple[str, ...] = ()) -> st.SearchStrategy:
    """(name, value) with one field of `model` given a value it refuses."""
    names = [name for name in model.model_fields if name not in skip]
    return st.sampled_from(names).flatmap(
        lambda name: st.tuples(st.just(name), bad_values(model.model_fields[name]))
    )
