"""List CSV files: loading, matching, expiry, kinds and every error a file can have."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from fengkong.fraud.lists import ListFileError, load_list_file, load_lists, parse_list

ON = date(2026, 5, 1)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_folder_loads_every_list(tmp_path: Path) -> None:
    write(tmp_path, "blacklist.csv", "type,value,reason,added,expires,note\n"
          "id_number,11010519491231002x,L01,2025-01-02,,case 17\n"
          "phone,+86 138 1234 5678,L02,,,\n")
    write(tmp_path, "greylist.csv", "type,value\ndevice,ABCDEF0123456789\n")
    write(tmp_path, "notes.txt", "not a list")
    index = load_lists(tmp_path)
    assert [listed.name for listed in index.lists] == ["blacklist", "greylist"]
    assert len(index) == 3
    assert index.types == ["device", "id_number", "phone"]
    [entry] = index.lookup("id_number", "11010519491231002X", ON)
    assert (entry.list, entry.kind, entry.reason, entry.added, entry.line) == (
        "blacklist", "black", "L01", date(2025, 1, 2), 2)
    assert index.lookup("phone", "13812345678", ON)[0].reason == "L02"
    assert index.lookup("device", "abcdef0123456789", ON)[0].kind == "grey"
    assert index.lookup("phone", "13812345679", ON) == []
    assert index.lookup("email", "a@b.cn", ON) == []  # a type no list holds


def test_one_file_loads_alone(tmp_path: Path) -> None:
    path = write(tmp_path, "whitelist.csv", "value,type\n13812345678,phone\n")
    index = load_lists(path)
    assert index.lookup("phone", "13812345678", ON)[0].kind == "white"


def test_entries_hit_from_added_to_expires_inclusive(tmp_path: Path) -> None:
    path = write(tmp_path, "blacklist.csv", "type,value,added,expires\n"
                 "phone,13812345678,2026-03-01,2026-04-30\n")
    index = load_lists(path)
    assert index.lookup("phone", "13812345678", date(2026, 2, 28)) == []  # not added yet
    assert index.lookup("phone", "13812345678", date(2026, 3, 1))
    assert index.lookup("phone", "13812345678", date(2026, 4, 30))
    assert index.lookup("phone", "13812345678", date(2026, 5, 1)) == []  # expired


@pytest.mark.parametrize(("name", "kind"), [
    ("blacklist", "black"), ("device_blacklist", "black"), ("Greylist", "grey"),
    ("graylist-2026", "grey"), ("whitelist", "white")])
def test_the_kind_comes_from_the_file_name(name: str, kind: str) -> None:
    listed = parse_list("type,value\nphone,13812345678\n", f"{name}.csv")
    assert listed.kind == kind and listed.entries[0].kind == kind


def test_a_kind_setting_or_column_gives_the_kind() -> None:
    listed = parse_list("# kind: grey\n# Source: partner fraud consortium\n"
                        "type,value,kind\nphone,13812345678,\nphone,13912345678,black\n",
                        "partners.csv")
    assert listed.kind == "grey"
    assert [entry.kind for entry in listed.entries] == ["grey", "black"]
    assert listed.entries[0].line == 4


def test_a_row_without_any_kind_is_an_error() -> None:
    with pytest.raises(ListFileError) as caught:
        parse_list("type,value\nphone,13812345678\n", "lists/partners.csv")
    assert "partners.csv:2, column 'kind'" in str(caught.value)
    assert "# kind" in str(caught.value)


def test_identical_duplicates_are_merged() -> None:
    listed = parse_list("type,value,reason\nphone,13812345678,L01\nphone,+8613812345678,L01\n",
                        "blacklist.csv")
    assert len(listed.entries) == 1


def test_a_bom_blank_lines_and_quoted_fields_are_read() -> None:
    listed = parse_list('\ufefftype,value,note\n\nphone,13812345678,"two\nlines"\n'
                        "device,abcdef0123456789,\n", "blacklist.csv")
    assert [entry.line for entry in listed.entries] == [3, 5]


def test_tokenized_lists_are_marked() -> None:
    listed = parse_list("# tokenized: true\ntype,value\nphone,3f2a9c\n", "blacklist.csv")
    assert listed.tokenized


def test_a_utf8_bom_file_from_excel(tmp_path: Path) -> None:
    path = tmp_path / "blacklist.csv"
    path.write_bytes("type,value,note\nphone,13812345678,中文备注\n".encode("utf-8-sig"))
    assert load_list_file(path).entries[0].value == "13812345678"


@pytest.mark.parametrize(("text", "message"), [
    ("type,value,source\n", "blacklist.csv:1, column 'source': unknown column 'source' "
                            "(columns: type, value, kind, reason, added, expires, note)"),
    ("type,type,value\n", "blacklist.csv:1, column 'type': the column appears twice"),
    ("type,reason\n", "blacklist.csv:1: no 'value' column"),
    ("type,value\nphone,\n", "blacklist.csv:2, column 'value': empty value"),
    ("type,value\n,13812345678\n", "blacklist.csv:2, column 'type': empty value"),
    ("type,value,added\nphone,13812345678,2026/05/01\n",
     "blacklist.csv:2, column 'added': bad date '2026/05/01' (expected YYYY-MM-DD)"),
    ("type,value,expires\nphone,13812345678,2026-02-30\n",
     "blacklist.csv:2, column 'expires': bad date '2026-02-30'"),
    ("type,value,added,expires\nphone,13812345678,2026-05-01,2026-04-01\n",
     "blacklist.csv:2, column 'expires': expires (2026-04-01) is before added (2026-05-01)"),
    ("type,value,reason\nphone,13812345678,L01\n\nphone,+86 138 1234 5678,L02\n",
     "blacklist.csv:4, column 'reason': duplicate phone entry (also on line 2) with a "
     "different reason"),
    ("type,value,kind\nphone,13812345678,blue\n",
     "blacklist.csv:2, column 'kind': unknown kind 'blue' (kinds: black, grey, white)"),
    ("type,value\nphone,13812345678,extra\n",
     "blacklist.csv:2: 3 fields but the header names 2 columns"),
    ('type,value\nphone,"13812345678\n', "blacklist.csv:2: not valid CSV"),
    ("# kind: blue\ntype,value\n", "blacklist.csv:1: unknown list kind 'blue'"),
    ("# tokenised: true\ntype,value\n",
     "blacklist.csv:1: unknown setting 'tokenised' (did you mean 'tokenized'?"),
    ("# tokenized: maybe\ntype,value\n", "setting tokenized must be true or false"),
    ("# only comments\n", "blacklist.csv: no header row"),
])
def test_errors_name_the_file_line_and_column(text: str, message: str) -> None:
    with pytest.raises(ListFileError) as caught:
        parse_list(text, "lists/blacklist.csv")
    assert message in str(caught.value)
    error = caught.value.to_dict()
    assert error["type"] == "list_file" and error["file"].endswith("blacklist.csv")


def test_a_missing_or_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ListFileError, match="no such folder or file"):
        load_lists(tmp_path / "lists")
    with pytest.raises(ListFileError, match=r"holds no list files \(\*\.csv\)"):
        load_lists(tmp_path)


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "blacklist.csv"
    path.write_bytes("type,value,note\nphone,13812345678,黑名单\n".encode("gbk"))
    with pytest.raises(ListFileError, match=r"blacklist\.csv: not UTF-8 text"):
        load_lists(path)


def test_two_lists_of_one_name(tmp_path: Path) -> None:
    first = parse_list("type,value\nphone,13812345678\n", tmp_path / "a" / "blacklist.csv")
    second = parse_list("type,value\nphone,13812345679\n", tmp_path / "b" / "blacklist.csv")
    from fengkong.fraud.lists import ListIndex

    with pytest.raises(ListFileError, match="a second list named 'blacklist'"):
        ListIndex.of([first, second])
