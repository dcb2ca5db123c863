"""``leaklint.records`` behaves as the dataclasses it stands in for: each test declares the same
class both ways and holds the record to what the dataclass does."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path
from typing import ClassVar

import pytest

from leaklint import records
from leaklint.model import Edit, Location


def _both(frozen: bool = False, order: bool = False) -> tuple[type, type]:
    """The same class, declared as a record and as a dataclass."""
    made = []
    for declare, field in (
        (records.record(frozen=frozen, order=order), records.field),
        (dataclasses.dataclass(frozen=frozen, order=order), dataclasses.field),
    ):

        class Point:
            kind: ClassVar[str] = "point"
            x: int
            y: int = 0
            tags: list[str] = field(default_factory=list)
            note: str = field(default="", compare=False, repr=False)

        made.append(declare(Point))
    return made[0], made[1]


@pytest.mark.parametrize("frozen", [False, True])
def test_construction_repr_and_equality_are_the_dataclasses(frozen: bool) -> None:
    record, dataclass = _both(frozen=frozen)
    for args, kwargs in [((1,), {}), ((1, 2), {"tags": ["a"]}), ((), {"x": 3, "note": "n"})]:
        mine, theirs = record(*args, **kwargs), dataclass(*args, **kwargs)
        assert repr(mine) == repr(theirs)
        assert vars(mine) == vars(theirs)
    assert record(1, note="a") == record(1, note="b")  # a field left out of the comparison
    assert record(1) != record(2)
    assert record(1).tags is not record(1).tags  # a fresh default per instance
    assert record(1) != dataclass(1)  # another class is never equal, as with dataclasses
    assert "kind" not in vars(record(1)) and record.kind == "point"
    with pytest.raises(TypeError):
        record()


def test_a_frozen_record_hashes_by_its_compared_fields_and_refuses_assignment() -> None:
    record, dataclass = _both(frozen=True)
    tags = ("a",)  # hashable, as a frozen field must be to hash the instance
    assert hash(record(1, 2, tags)) == hash(dataclass(1, 2, tags))
    assert hash(record(1, 2, tags)) == hash(record(1, 2, tags, note="other"))
    assert len({record(1, 2, tags), record(1, 2, tags), record(2, 1, tags)}) == 2
    instance = record(1)
    with pytest.raises(AttributeError):
        instance.x = 2
    with pytest.raises(AttributeError):
        del instance.x
    with pytest.raises(records.FrozenInstanceError):
        instance.y = 5
    assert (instance.x, instance.y) == (1, 0)


def test_a_mutable_record_is_unhashable_as_a_mutable_dataclass_is() -> None:
    record, dataclass = _both()
    for cls in (record, dataclass):
        with pytest.raises(TypeError):
            hash(cls(1))
        instance = cls(1)
        instance.x = 5
        assert instance.x == 5


def test_order_compares_the_fields_in_order() -> None:
    record, dataclass = _both(frozen=True, order=True)
    pairs = [(1, 2), (1, 3), (0, 9), (2, 0), (1, 2)]
    assert [(r.x, r.y) for r in sorted(record(*p) for p in pairs)] == [
        (d.x, d.y) for d in sorted(dataclass(*p) for p in pairs)
    ]
    assert record(1, 2) <= record(1, 2) < record(1, 3) and record(2, 0) > record(1, 9)
    assert record(1).__lt__(dataclass(2)) is NotImplemented


def test_fields_are_inherited_and_post_init_runs() -> None:
    @records.record(frozen=True)
    class Base:
        a: int

    @records.record(frozen=True)
    class Derived(Base):
        b: int = 2
        seen: list[int] = records.field(default_factory=list, compare=False)

        def __post_init__(self) -> None:
            self.seen.append(self.a + self.b)

    derived = Derived(1)
    assert (derived.a, derived.b, derived.seen) == (1, 2, [3])
    assert (
        repr(derived)
        == "test_fields_are_inherited_and_post_init_runs.<locals>.Derived(a=1, b=2, seen=[3])"
    )
    assert (Derived(1, 5).b, Derived(a=4).a) == (5, 4)  # the base's fields come first


def test_replace_asdict_and_pickle_keep_the_model_whole() -> None:
    location = Location(7, 5)
    edit = Edit("db.close()", location, Location(7, 15))
    assert records.replace(location, row=8) == Location(8, 5)
    assert records.replace(location, row=8) != location
    with pytest.raises(TypeError):
        records.replace(location, nonsense=1)
    assert records.asdict(edit) == {
        "content": "db.close()",
        "location": {"row": 7, "column": 5},
        "end_location": {"row": 7, "column": 15},
    }
    assert records.asdict([edit]) == [dataclasses.asdict(_as_dataclass(edit))]
    assert pickle.loads(pickle.dumps(edit)) == edit
    assert Edit.__init__.__qualname__ == "Edit.__init__"  # as tracebacks show it
    assert hash(pickle.loads(pickle.dumps(location))) == hash(location)


def _as_dataclass(edit: Edit) -> object:
    @dataclasses.dataclass
    class Spot:
        row: int
        column: int

    @dataclasses.dataclass
    class Change:
        content: str
        location: Spot
        end_location: Spot

    def spot(location: Location) -> Spot:
        return Spot(location.row, location.column)

    return Change(edit.content, spot(edit.location), spot(edit.end_location))


def test_the_records_of_leaklint_take_their_init_from_the_generated_module() -> None:
    from leaklint import _record_inits

    assert records.ahead_of_time_module() == Path(_record_inits.__file__).read_text(
        encoding="utf-8"
    ), "leaklint/_record_inits.py is out of date: run `python -m leaklint.records`"
    for cls in (Edit, Location):
        assert Path(cls.__init__.__code__.co_filename).name == "_record_inits.py"
        assert cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__"


def test_a_record_the_generated_module_does_not_hold_is_compiled_as_it_is_made() -> None:
    record, _ = _both(frozen=True)
    assert record.__init__.__code__.co_filename == "<string>"  # these fields are nowhere else
    assert (record(1).x, record(1, 2).y, record(1).tags) == (1, 2, [])
