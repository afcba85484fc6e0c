"""Identity checks: ID numbers (cross-checked against python-stdnum over generated and
corrupted numbers), mobiles, bank cards, consistency, and inputs of the wrong type."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric
from stdnum.exceptions import ValidationError
from stdnum.luhn import is_valid as stdnum_luhn_valid

from fengkong.datasets.identities import bank_card_numbers, mobile_numbers, resident_id_numbers
from fengkong.errors import InputValidationError
from fengkong.fraud.identity import (
    PROVINCES,
    REASONS,
    age_on,
    bank_card_problem,
    check_id_number,
    check_identity,
    id_check_character,
    is_mobile_number,
    luhn_valid,
)

ON = date(2026, 5, 1)
TODAY = date(2100, 1, 1)  # far enough that no generated birth date is in the future


def generated_ids(count: int, seed: int) -> list[str]:
    """ID numbers from the synthetic generator: every province, birth dates 1900-2026."""
    rng = np.random.default_rng(seed)
    provinces = np.array([int(code) for code in PROVINCES if code not in ("71", "83")])
    regions = rng.choice(provinces, count) * 10_000 + rng.integers(1, 100, count) * 100 + \
        rng.integers(1, 30, count)
    first, last = (date(1900, 1, 1) - date(1970, 1, 1)).days, (ON - date(1970, 1, 1)).days
    days = rng.integers(first, last, count)
    return [str(number) for number in
            resident_id_numbers(regions, days, rng.integers(0, 1000, count))]


def stdnum_structure_ok(number: str) -> bool:
    """stdnum's length, format, checksum and birth date checks (not its county database,
    which knows which districts existed in which year)."""
    try:
        ric.validate(number)
    except ValidationError as error:
        return type(error).__name__ == "InvalidComponent" and _stdnum_date_ok(number)
    except KeyError:  # stdnum 2.x fails this way on a province without that district
        return _stdnum_date_ok(number)
    return True


def _stdnum_date_ok(number: str) -> bool:
    try:
        ric.get_birth_date(number)
    except ValidationError:
        return False
    return True


def test_generated_numbers_agree_with_stdnum() -> None:
    numbers = generated_ids(20_000, seed=11)
    for number in numbers:
        checked = check_id_number(number, TODAY)
        assert checked.valid, number
        assert checked.birth_date == ric.get_birth_date(number)
        assert ric.calc_check_digit(number) == number[17] == id_check_character(number[:17])


def test_real_districts_are_fully_valid_for_stdnum() -> None:
    # generated_ids makes up districts; stdnum's county database knows the real ones.
    rng = np.random.default_rng(3)
    count = 5_000
    days = rng.integers((date(1950, 1, 1) - date(1970, 1, 1)).days,
                        (date(2005, 1, 1) - date(1970, 1, 1)).days, count)
    codes = rng.choice([110105, 110108, 310104, 120104], count)
    for number in resident_id_numbers(codes, days, rng.integers(0, 1000, count)):
        assert ric.is_valid(str(number)) and check_id_number(str(number), ON).valid


def corrupt(number: str, rng: np.random.Generator) -> str:
    """One typing mistake: a changed character, two swapped neighbours, or a dropped one."""
    choice = rng.integers(0, 3)
    position = int(rng.integers(0, len(number) - 1))
    if choice == 0:
        return number[:position] + str(rng.integers(0, 10)) + number[position + 1:]
    if choice == 1:
        chars = list(number)
        chars[position], chars[position + 1] = chars[position + 1], chars[position]
        return "".join(chars)
    return number[:position] + number[position + 1:]


def test_corrupted_numbers_agree_with_stdnum() -> None:
    rng = np.random.default_rng(21)
    caught = 0
    for number in generated_ids(20_000, seed=13):
        bad = corrupt(number, rng)
        ours = check_id_number(bad, TODAY)
        if bad == number:
            continue
        # Where stdnum finds a wrong length, format, checksum or date, so do we; where it
        # finds none, we find none either unless the province code is unknown.
        # (We also refuse birth years before 1900 and births after the application.)
        assert ours.valid == stdnum_structure_ok(bad) or ours.code in ("ID03", "ID04", "ID05")
        if ours.code in ("ID03", "ID04") and stdnum_structure_ok(bad):
            assert not "1900" <= bad[6:10] <= "2099", bad
        caught += not ours.valid
        if ours.code == "ID02":
            assert ric.calc_check_digit(bad) != bad[17]
    assert caught > 18_000  # MOD 11-2 catches every single change and most swaps


@settings(max_examples=2_000, deadline=None)
@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_the_check_character_is_stdnums(body: str) -> None:
    assert id_check_character(body) == ric.calc_check_digit(body + "0")


@settings(max_examples=2_000, deadline=None)
@given(st.text(alphabet="0123456789X", min_size=15, max_size=19))
def test_any_number_is_valid_only_if_stdnum_finds_its_structure_valid(number: str) -> None:
    ours = check_id_number(number, TODAY)
    if ours.valid:
        assert stdnum_structure_ok(number)
        assert ours.province == PROVINCES[number[:2]]
    elif ours.code in ("ID01", "ID06", "ID02", "ID03"):
        assert not stdnum_structure_ok(number) or number[6:10] < "1900"


@pytest.mark.parametrize(("number", "code"), [
    ("11010519491231002X", None),
    ("11010519491231002x", None),
    ("11010519491231002 X", None),
    ("110105194912310021", "ID02"),
    ("1101051949123100", "ID01"),
    ("11010519491231002Y", "ID01"),
    ("110105491231002", "ID06"),
    ("110105194902300025", "ID03"),  # 30 February
    ("110105189912310021", "ID03"),  # before 1900
    ("110105202706010021", "ID04"),  # born after the application date
    ("990105199001010021", "ID05"),
])
def test_id_number_reason_codes(number: str, code: str | None) -> None:
    if code in ("ID03", "ID04", "ID05") or number.startswith("990"):
        number = number[:17] + id_check_character(number[:17])  # a right check character
    checked = check_id_number(number, ON)
    assert checked.code == code and checked.valid is (code is None)
    if code is None:
        assert (checked.birth_date, checked.sex, checked.province) == (
            date(1949, 12, 31), "F", "北京市")
    else:
        assert checked.birth_date is None and checked.sex is None


def test_sex_from_the_17th_digit() -> None:
    body = "11010519900101001"
    assert check_id_number(body + id_check_character(body), ON).sex == "M"


@pytest.mark.parametrize(("birth", "on", "age"), [
    (date(1990, 5, 1), date(2026, 5, 1), 36),
    (date(1990, 5, 2), date(2026, 5, 1), 35),
    (date(2004, 2, 29), date(2022, 2, 28), 17),
    (date(2004, 2, 29), date(2022, 3, 1), 18),
])
def test_age_on(birth: date, on: date, age: int) -> None:
    assert age_on(birth, on) == age


@pytest.mark.parametrize(("phone", "valid"), [
    ("13812345678", True), ("+86 138 1234 5678", True), ("8619912345678", True),
    ("12812345678", False), ("1381234567", False), ("138123456789", False),
    ("+1 415 555 0100", False), ("010-12345678", False), ("", False)])
def test_mobile_numbers(phone: str, valid: bool) -> None:
    assert is_mobile_number(phone) is valid


def test_generated_mobiles_and_cards_are_valid() -> None:
    rng = np.random.default_rng(4)
    assert all(is_mobile_number(str(phone)) for phone in mobile_numbers(rng, 2_000))
    for card in bank_card_numbers(rng, 2_000):
        assert bank_card_problem(str(card)) is None and stdnum_luhn_valid(str(card))


@settings(max_examples=2_000, deadline=None)
@given(st.text(alphabet="0123456789", min_size=1, max_size=25))
def test_luhn_is_stdnums(digits: str) -> None:
    assert luhn_valid(digits) is stdnum_luhn_valid(digits)


@pytest.mark.parametrize(("card", "code"), [
    ("4111 1111 1111 1112", "BC02"), ("4111111111111111", None), ("411111111111111", "BC01"),
    ("41111111111111111111", "BC01"), ("4111-1111-1111-1111", None), ("4111a11111111111", "BC01")])
def test_bank_cards(card: str, code: str | None) -> None:
    assert bank_card_problem(card) == code


FULL = {"idNumber": "11010519491231002X", "phone": "13812345678", "bankCard": "4111111111111111",
        "name": "张伟", "age": 76, "birthDate": "1949-12-31", "sex": "女"}


def test_a_consistent_applicant_passes() -> None:
    result = check_identity(FULL, ON)
    assert result == {"idNumberValid": True, "age": 76, "sex": "F", "province": "北京市",
                      "phoneValid": True, "bankCardValid": True, "nameGiven": True,
                      "ageMatches": True, "birthDateMatches": True, "sexMatches": True,
                      "passed": True, "failed": [], "codes": []}


def test_mismatches_and_missing_values_fail_with_reasons() -> None:
    result = check_identity({**FULL, "age": 30, "birthDate": "19491230", "sex": "M",
                             "phone": None, "name": "  "}, ON)
    assert result["codes"] == ["PH09", "NM09", "CN01", "CN02", "CN03"]
    assert result["failed"][0] == {"check": "phoneValid", "code": "PH09",
                                   "zh": "未提供手机号码", "en": "no mobile number given"}
    assert not result["passed"] and result["phoneValid"] is False


def test_declared_values_cannot_be_checked_against_an_invalid_number() -> None:
    result = check_identity({"idNumber": "110105194912310021", "age": 76, "sex": None}, ON)
    assert result["codes"] == ["ID02", "CN08", "CN09"]
    assert result["age"] is None and result["ageMatches"] is False
    both = check_identity({"idNumber": "110105194912310021", "age": 76, "sex": "F"}, ON)
    assert [entry["code"] for entry in both["failed"]] == ["ID02", "CN08", "CN08"]
    assert both["codes"] == ["ID02", "CN08"]  # each code once


def test_only_the_inputs_given_are_checked() -> None:
    assert check_identity({"phone": "13812345678"}, ON) == {
        "phoneValid": True, "passed": True, "failed": [], "codes": []}
    assert check_identity({"idNumber": None}, ON)["codes"] == ["ID09"]


def test_every_code_has_both_texts() -> None:
    for code, (chinese, english) in REASONS.items():
        assert len(code) == 4 and chinese and english


@pytest.mark.parametrize(("field", "value", "message"), [
    ("idNumber", 110105194912310021, "idNumber must be text (send identifiers as JSON strings), "
                                     "got a number"),
    ("phone", ["13812345678"], "phone must be text"),
    ("bankCard", {"number": "4111"}, "bankCard must be text"),
    ("name", True, "name must be text (send identifiers as JSON strings), got a boolean"),
    ("age", "76", "age must be a whole number of years >= 0, got text"),
    ("age", 75.5, "age must be a whole number"),
    ("age", -1, "age must be a whole number"),
    ("birthDate", "31/12/1949", "birthDate must be a date as text, YYYY-MM-DD or YYYYMMDD"),
    ("sex", "X", "sex must be one of M/F, male/female, 男/女 or 1/2"),
])
def test_wrong_types_name_the_field_and_not_the_value(field: str, value: Any,
                                                      message: str) -> None:
    with pytest.raises(InputValidationError) as caught:
        check_identity({**FULL, field: value}, ON)
    assert caught.value.field == field and message in caught.value.message
    assert "110105194912310021" not in str(caught.value)


@pytest.mark.parametrize("sex", ["M", "male", "男", 1, "1", " m "])
def test_declared_sex_forms(sex: Any) -> None:
    body = "11010519900101001"
    number = body + id_check_character(body)
    assert check_identity({"idNumber": number, "sex": sex}, ON)["sexMatches"] is True
