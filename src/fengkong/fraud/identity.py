"""Identity checks a consumer lender runs on every application: the resident ID number, the
mobile number, the bank card, and whether what the applicant declared agrees with the ID.

* **Resident ID number** (GB 11643-1999): 17 digits and an ISO 7064 MOD 11-2 check character
  (``0``-``9`` or ``X``). Digits 1-6 are the region (the first two a province), 7-14 the
  birth date, 15-17 the order code (odd for men, even for women). A number is valid when it
  has that shape, the right check character, a real birth date from 1900 on that is not
  after the application date, and a province code of GB/T 2260 (or 83, the code of Taiwan
  residents' residence permits). Legacy 15-digit numbers (no check character, two-digit
  year) are recognised and refused for lending: they stopped being valid in 2013.
* **Mobile number**: 11 digits starting ``13``-``19``, with or without ``+86``.
* **Bank card**: 16 to 19 digits passing the Luhn check.
* **Consistency**: the declared age (as of the application date), birth date and sex agree
  with those the ID number encodes; the name is given.

:func:`check_identity` returns a JSON-ready dict of booleans and derived values with the
failed checks as reason codes (:data:`REASONS`, Chinese and English text). A check whose
input is ``None`` fails with its "not given" code (``ID09``...): an absent ID number is not a
valid one. A value of the wrong type (a number for an ID number) is an
:class:`InputValidationError` naming the field; its message never repeats the value, which
is personal data. Everything is plain Python: a full check costs microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any, NamedTuple

from fengkong.errors import InputValidationError
from fengkong.fraud.keys import normalise_bank_card, normalise_id_number, normalise_phone

# code -> (Chinese, English). Codes of one input share a prefix; x9 is "not given".
REASONS: dict[str, tuple[str, str]] = {
    "ID01": ("身份证号码格式错误", "the ID number is not 17 digits and a check character"),
    "ID02": ("身份证号码校验位错误", "the check character of the ID number is wrong"),
    "ID03": ("身份证号码中的出生日期无效",
             "the birth date in the ID number is not a date from 1900 on"),
    "ID04": ("身份证号码中的出生日期晚于申请日期",
             "the birth date in the ID number is after the application date"),
    "ID05": ("身份证号码的地区代码无效", "the ID number's region code is not a province"),
    "ID06": ("15位旧版身份证号码，不可用于借款",
             "a legacy 15-digit ID number, not accepted for lending"),
    "ID09": ("未提供身份证号码", "no ID number given"),
    "PH01": ("手机号码无效", "not a valid mainland mobile number"),
    "PH09": ("未提供手机号码", "no mobile number given"),
    "BC01": ("银行卡号格式错误", "the bank card number is not 16 to 19 digits"),
    "BC02": ("银行卡号校验失败", "the bank card number fails its check digit (Luhn)"),
    "BC09": ("未提供银行卡号", "no bank card number given"),
    "NM09": ("未提供姓名", "no name given"),
    "CN01": ("申报年龄与身份证不符", "the declared age differs from the ID number's"),
    "CN02": ("申报出生日期与身份证不符", "the declared birth date differs from the ID number's"),
    "CN03": ("申报性别与身份证不符", "the declared sex differs from the ID number's"),
    "CN08": ("身份证号码无效，无法核对申报信息",
             "the declared value cannot be checked: the ID number is not valid"),
    "CN09": ("未提供申报信息", "the declared value is not given"),
}

# GB/T 2260 province-level codes (the first two digits of an ID number).
PROVINCES: dict[str, str] = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
    "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省",
    "36": "江西省", "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
    "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区",
    # Residence permits of Taiwan residents (港澳台居民居住证, 2018) use 83; Hong Kong and
    # Macau residents' permits use 81 and 82 as above.
    "83": "台湾省",
}

# ISO 7064 MOD 11-2: the check character c makes sum(digit_i * 2^(17-i)) + c = 1 (mod 11),
# i counted from 0 on the left. Since 13 = 2 (mod 11), reading the 17 digits as a base-13
# number gives sum(digit_i * 2^(16-i)) mod 11 in one C call, half the weighted sum: hence
# c = 1 - 2 * int(body, 13) (mod 11), with 10 written X (python-stdnum uses the same identity).
_CHECK = "0123456789X"
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_LEGACY_SHAPE = re.compile(r"[0-9]{15}")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_CARD = re.compile(r"[0-9]{16,19}")
# Luhn: the digit a digit contributes when doubled (2 -> 4, 7 -> 14 -> 1 + 4 = 5).
_DOUBLED = str.maketrans("0123456789", "0246813579")
_FIRST_YEAR = 1900
_SEXES = {"m": "M", "male": "M", "男": "M", "1": "M",
          "f": "F", "female": "F", "女": "F", "2": "F"}
CHECKS = ("idNumber", "phone", "bankCard", "name", "age", "birthDate", "sex")
DECLARED = ("age", "birthDate", "sex")


class IdNumberCheck(NamedTuple):
    """What an ID number says: whether it is valid, the reason code if not, and (valid
    numbers only) the birth date, sex (``M``/``F``) and province."""

    # A named tuple rather than a frozen dataclass: built on every application, and a
    # frozen dataclass's __init__ costs a microsecond.

    valid: bool
    code: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    province: str | None = None


def id_check_character(body: str) -> str:
    """The GB 11643 check character of the first 17 digits of an ID number."""
    return _CHECK[(1 - 2 * int(body, 13)) % 11]


def check_id_number(value: str, on: date) -> IdNumberCheck:
    """Check an 18-character resident ID number as of the application date ``on``."""
    number = normalise_id_number(value)
    if _ID_SHAPE.fullmatch(number) is None:
        return IdNumberCheck(False, "ID06" if _LEGACY_SHAPE.fullmatch(number) else "ID01")
    if id_check_character(number[:17]) != number[17]:
        return IdNumberCheck(False, "ID02")
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return IdNumberCheck(False, "ID03")
    if birth.year < _FIRST_YEAR:
        return IdNumberCheck(False, "ID03")
    if birth > on:
        return IdNumberCheck(False, "ID04")
    province = PROVINCES.get(number[:2])
    if province is None:
        return IdNumberCheck(False, "ID05")
    return IdNumberCheck(True, None, birth, "M" if int(number[16]) % 2 else "F", province)


def age_on(birth: date, on: date) -> int:
    """Whole years from ``birth`` to ``on`` (周岁): a 29 February birthday comes on 1 March in
    other years."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def is_mobile_number(value: str) -> bool:
    """Whether ``value`` is a mainland mobile number (``+86`` / ``86`` allowed)."""
    return _MOBILE.fullmatch(normalise_phone(value)) is not None


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check (its last digit the check digit)."""
    # Summing the ASCII codes in C and removing 48 ("0") per digit beats a Python loop 5x.
    kept, doubled = digits[-1::-2], digits[-2::-2].translate(_DOUBLED)
    total = sum(kept.encode()) + sum(doubled.encode()) - 48 * len(digits)
    return total % 10 == 0


def bank_card_problem(value: str) -> str | None:
    """The reason code of a bad bank card number (``BC01``, ``BC02``), or ``None``."""
    digits = normalise_bank_card(value)
    if _CARD.fullmatch(digits) is None:
        return "BC01"
    return None if luhn_valid(digits) else "BC02"


def reason(check: str, code: str) -> dict[str, str]:
    """A failed check as it appears in ``failed``: the check, its code and texts."""
    chinese, english = REASONS[code]
    return {"check": check, "code": code, "zh": chinese, "en": english}


def check_identity(values: Mapping[str, Any], on: date) -> dict[str, Any]:
    """Run the checks of the inputs in ``values`` (keys from :data:`CHECKS`; ``None`` means
    not given) as of the application date ``on``.

    The result has, for the inputs present: ``idNumberValid``, ``age``, ``sex``
    (``M``/``F``), ``province`` (``None`` unless the ID number is valid); ``phoneValid``;
    ``bankCardValid``; ``nameGiven``; ``ageMatches``, ``birthDateMatches``, ``sexMatches``;
    and always ``passed`` (every check true), ``failed`` (``[{"check", "code", "zh",
    "en"}]``) and ``codes`` (the failed checks' codes, each once, in check order).
    """
    out: dict[str, Any] = {}
    failed: list[dict[str, str]] = []
    identity: IdNumberCheck | None = None
    if "idNumber" in values:
        number = _text(values["idNumber"], "idNumber")
        identity = (IdNumberCheck(False, "ID09") if number is None
                    else check_id_number(number, on))
        out["idNumberValid"] = identity.valid
        out["age"] = None if identity.birth_date is None else age_on(identity.birth_date, on)
        out["sex"] = identity.sex
        out["province"] = identity.province
        if identity.code is not None:
            failed.append(reason("idNumberValid", identity.code))
    if "phone" in values:
        phone = _text(values["phone"], "phone")
        out["phoneValid"] = phone is not None and is_mobile_number(phone)
        if not out["phoneValid"]:
            failed.append(reason("phoneValid", "PH09" if phone is None else "PH01"))
    if "bankCard" in values:
        card = _text(values["bankCard"], "bankCard")
        problem = "BC09" if card is None else bank_card_problem(card)
        out["bankCardValid"] = problem is None
        if problem is not None:
            failed.append(reason("bankCardValid", problem))
    if "name" in values:
        name = _text(values["name"], "name")
        out["nameGiven"] = name is not None and name.strip() != ""
        if not out["nameGiven"]:
            failed.append(reason("nameGiven", "NM09"))
    for declared in DECLARED:
        if declared in values:
            check = f"{declared}Matches"
            code = _mismatch(declared, values[declared], identity, on)
            out[check] = code is None
            if code is not None:
                failed.append(reason(check, code))
    out["passed"] = not failed
    out["failed"] = failed
    # Each code once: two checks may fail for one cause (no valid ID number to compare the
    # declared age and sex with gives CN08 twice); ``failed`` keeps every check.
    out["codes"] = list(dict.fromkeys(entry["code"] for entry in failed))
    return out


def _mismatch(declared: str, value: Any, identity: IdNumberCheck | None, on: date
              ) -> str | None:
    """The code of a declared value that does not agree with the ID number, or ``None``."""
    # Read the value first, so that a wrong type is an error even when the ID is invalid.
    if declared == "age":
        given: Any = _age(value)
    elif declared == "birthDate":
        given = _birth_date(value)
    else:
        given = _sex(value)
    if given is None:
        return "CN09"
    if identity is None or identity.birth_date is None:
        return "CN08"
    if declared == "age":
        return None if given == age_on(identity.birth_date, on) else "CN01"
    if declared == "birthDate":
        return None if given == identity.birth_date else "CN02"
    return None if given == identity.sex else "CN03"


def _text(value: Any, field: str) -> str | None:
    if value is None or type(value) is str:
        return value
    # The value itself stays out of the message: it may be an ID or card number.
    raise InputValidationError(f"{field} must be text (send identifiers as JSON strings), "
                               f"got {_type_name(value)}", field=field)


def _age(value: Any) -> int | None:
    if value is None:
        return None
    whole = type(value) is int or (type(value) is float and value.is_integer())
    if whole and value >= 0:
        return int(value)
    raise InputValidationError(f"age must be a whole number of years >= 0, got "
                               f"{_type_name(value)}", field="age")


def _birth_date(value: Any) -> date | None:
    if value is None:
        return None
    if type(value) is str:
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            if len(text) == 8 and text.isdigit():
                return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            pass
    raise InputValidationError("birthDate must be a date as text, YYYY-MM-DD or YYYYMMDD",
                               field="birthDate")


def _sex(value: Any) -> str | None:
    if value is None:
        return None
    key = str(value).strip().lower() if type(value) in (str, int) else None
    sex = _SEXES.get(key) if key is not None else None
    if sex is None:
        raise InputValidationError("sex must be one of M/F, male/female, 男/女 or 1/2 "
                                   "(GB/T 2261.1)", field="sex")
    return sex


def _type_name(value: Any) -> str:
    if type(value) is bool:
        return "a boolean"
    if type(value) in (int, float):
        return "a number"
    if type(value) is str:
        return "text"
    if type(value) is list:
        return "a list"
    if type(value) is dict:
        return "an object"
    return type(value).__name__


__all__ = ["CHECKS", "PROVINCES", "REASONS", "IdNumberCheck", "age_on", "bank_card_problem",
           "check_id_number", "check_identity", "id_check_character", "is_mobile_number",
           "luhn_valid", "reason"]
