"""Chinese identity documents and contact points, generated in bulk.

Resident ID numbers (GB 11643-1999), +86 mobile numbers, 19-digit bank cards (Luhn), device
ids, IPv4 addresses and Chinese names (surname and given name apart, so families can share a
surname). Each generator takes a NumPy ``Generator`` and a count
and returns a fixed-width NumPy string array. Numbers are assembled as matrices of ASCII
digits and viewed as strings, so a million identities cost milliseconds, not a Python loop.

Numbers that identify someone (ID, phone, card, device, home IP) are drawn without
repetition: two applicants sharing a phone by accident would be a false link for the
fraud graph, and sharing is exactly what the synthetic fraud rings must make meaningful.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

DAY_MS = 86_400_000

# Where applicants are registered: a city, its weight (online consumer lending concentrates
# in large cities) and the district codes (the first six digits of an ID number) in use
# from a birth year on. Codes change with administrative reforms: a number keeps the code
# of the year it was assigned, so someone born in Guangzhou in 1975 has the pre-1983 city
# code, and one born in Chongqing in 1990 a Sichuan code (Chongqing was split off in 1997).
REGIONS: tuple[tuple[str, float, tuple[tuple[int, int], ...]], ...] = (
    ("北京", 8, ((110105, 0),)),  # 朝阳区
    ("北京", 6, ((110108, 0),)),  # 海淀区
    ("上海", 6, ((310104, 0),)),  # 徐汇区
    ("上海", 8, ((310107, 0),)),  # 普陀区
    ("天津", 3, ((120104, 0),)),  # 南开区
    ("广州", 7, ((440120, 0), (440104, 1983))),  # 市区, 越秀区
    ("深圳", 8, ((440320, 0), (440305, 1983))),  # 市区, 南山区
    ("杭州", 5, ((330120, 0), (330106, 1983))),  # 市区, 西湖区
    ("成都", 6, ((510120, 0), (510112, 1983))),  # 市区, 龙泉驿区
    ("武汉", 5, ((420120, 0), (420106, 1983))),  # 市区, 武昌区
    ("南京", 4, ((320120, 0), (320106, 1983))),  # 市区, 鼓楼区
    ("西安", 4, ((610120, 0), (610113, 1983))),  # 市区, 雁塔区
    ("重庆", 5, ((510220, 0), (510202, 1983), (500103, 1997))),  # 市区, 市中区, 渝中区
    ("济南", 3, ((370120, 0), (370102, 1983))),  # 市区, 历下区
    ("厦门", 2, ((350220, 0), (350203, 1983))),  # 市区, 思明区
    ("长沙", 4, ((430120, 0), (430104, 1983))),  # 市区, 岳麓区
    ("郑州", 4, ((410120, 0), (410105, 1983))),  # 市区, 金水区
    ("沈阳", 3, ((210120, 0), (210102, 1983))),  # 市区, 和平区
    ("昆明", 2, ((530120, 0), (530102, 1983))),  # 市区, 五华区
)


def region_codes(region: NDArray[np.int64], birth_year: NDArray[np.int64]) -> NDArray[np.int64]:
    """The district code of each ``REGIONS`` index as assigned in the year of birth."""
    tiers = max(len(codes) for _, _, codes in REGIONS)
    # Pad each region's tiers with its last one so they form a matrix.
    padded = [codes + codes[-1:] * (tiers - len(codes)) for _, _, codes in REGIONS]
    code = np.array([[code for code, _ in row] for row in padded], np.int64)
    since = np.array([[year for _, year in row] for row in padded], np.int64)
    tier = (since[region] <= birth_year[:, None]).sum(axis=1) - 1
    return code[region, tier]


# Mobile number prefixes by carrier (China Mobile, China Unicom, China Telecom).
MOBILE_PREFIXES: tuple[int, ...] = (
    134, 135, 136, 137, 138, 139, 147, 150, 151, 152, 157, 158, 159, 178, 182, 183, 184, 187,
    188, 198,  # China Mobile
    130, 131, 132, 145, 155, 156, 166, 175, 176, 185, 186,  # China Unicom
    133, 149, 153, 173, 177, 180, 181, 189, 199,  # China Telecom
)

# Issuer BINs of large Chinese banks' debit cards (ICBC, CCB, ABC, BOC, BoCom, CMB, PSBC).
CARD_BINS: tuple[int, ...] = (622202, 621700, 622848, 621661, 622262, 621483, 621799)

# First octets of address blocks allocated to Chinese networks (APNIC).
PUBLIC_FIRST_OCTETS: tuple[int, ...] = (
    58, 59, 60, 61, 101, 106, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121,
    122, 123, 124, 125, 171, 175, 180, 182, 183, 202, 210, 211, 218, 219, 220, 221, 222, 223,
)

SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 7.1), ("李", 7.0), ("张", 6.7), ("刘", 5.4), ("陈", 4.5), ("杨", 3.1), ("黄", 2.2),
    ("赵", 2.0), ("吴", 1.9), ("周", 1.9), ("徐", 1.5), ("孙", 1.5), ("马", 1.3), ("朱", 1.3),
    ("胡", 1.2), ("郭", 1.1), ("何", 1.1), ("高", 1.0), ("林", 1.0), ("罗", 0.9), ("郑", 0.9),
    ("梁", 0.9), ("谢", 0.8), ("宋", 0.7), ("唐", 0.7), ("许", 0.7), ("韩", 0.7), ("冯", 0.6),
)
GIVEN_NAME_CHARACTERS = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红娥玲芬燕彩春菊凤洁梅琳素云莲真环雪"
    "荣爱妹香月莺媛瑞凡佳嘉琼勤珍贞莉娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨"
    "仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢浩宇轩然子"
    "涵博文一鸣俊豪思远天佑懿煜城烨泽熠彤鸿煊霖祺智宸正昊"
)

_DIGIT_CODES = np.frombuffer(b"0123456789", dtype=np.uint8)
_HEX_CODES = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# GB 11643-1999: weight of position i is 2^(17-i) mod 11; the remainder picks the check
# character from this string.
_RIC_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
_RIC_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_OCTETS = np.array([str(octet) for octet in range(256)])


def _strings(codes: NDArray[np.uint8]) -> NDArray[np.str_]:
    """Rows of ASCII codes as fixed-width unicode strings."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    width = codes.shape[1]
    return codes.view(f"S{width}").ravel().astype(f"U{width}")


def _digit_matrix(values: NDArray[np.int64], width: int) -> NDArray[np.int64]:
    """Decimal digits of non-negative integers, most significant first, zero-padded."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers) % 10


def _distinct(draw: Callable[[int], NDArray[np.int64]], count: int) -> NDArray[np.int64]:
    """``count`` distinct values from ``draw(size)``, in draw order (so still seeded)."""
    size = count + count // 50 + 16
    while True:
        values = np.asarray(draw(size), dtype=np.int64)
        _, first = np.unique(values, return_index=True)
        if len(first) >= count:
            return values[np.sort(first)[:count]]
        size *= 2


def resident_id_numbers(
    region_codes: NDArray[np.int64], birth_days: NDArray[np.int64], sequence: NDArray[np.int64]
) -> NDArray[np.str_]:
    """18-character resident ID numbers: region, birth date, sequence, check character.

    ``birth_days`` are days since 1970-01-01; ``sequence`` is the 3-digit order code (odd for
    men, even for women) that the caller keeps unique per region and birth date.
    """
    birth = birth_days.astype("datetime64[D]")
    year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    month = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (birth - birth.astype("datetime64[M]")).astype(np.int64) + 1
    body = np.concatenate(
        [
            _digit_matrix(region_codes, 6),
            _digit_matrix(year * 10_000 + month * 100 + day, 8),
            _digit_matrix(sequence, 3),
        ],
        axis=1,
    )
    check = _RIC_CHECK[(body @ _RIC_WEIGHTS) % 11]
    return _strings(np.concatenate([_DIGIT_CODES[body], check[:, None]], axis=1))


def mobile_numbers(rng: np.random.Generator, count: int) -> NDArray[np.str_]:
    """Distinct 11-digit mainland mobile numbers with real carrier prefixes."""
    prefixes = np.array(MOBILE_PREFIXES, dtype=np.int64)

    def draw(size: int) -> NDArray[np.int64]:
        return rng.choice(prefixes, size) * 10**8 + rng.integers(0, 10**8, size)

    return _strings(_DIGIT_CODES[_digit_matrix(_distinct(draw, count), 11)])


def bank_card_numbers(rng: np.random.Generator, count: int) -> NDArray[np.str_]:
    """Distinct 19-digit debit card numbers: a bank BIN, an account part, a Luhn digit."""
    bins = np.array(CARD_BINS, dtype=np.int64)

    def draw(size: int) -> NDArray[np.int64]:
        return rng.choice(bins, size) * 10**12 + rng.integers(0, 10**12, size)

    payload = _digit_matrix(_distinct(draw, count), 18)
    # Luhn doubles every second digit counting from the right of the payload, because the
    # check digit will sit to its right.
    doubled = payload[:, ::-2] * 2
    total = (doubled - 9 * (doubled > 9)).sum(axis=1) + payload[:, -2::-2].sum(axis=1)
    check = (10 - total % 10) % 10
    return _strings(_DIGIT_CODES[np.concatenate([payload, check[:, None]], axis=1)])


def device_ids(rng: np.random.Generator, count: int) -> NDArray[np.str_]:
    """Distinct 16-hex-character device ids, like an Android ID."""
    values = _distinct(lambda size: rng.integers(0, 2**63 - 1, size, dtype=np.int64), count)
    nibbles = (values[:, None] >> np.arange(60, -1, -4, dtype=np.int64)) & 15
    return _strings(_HEX_CODES[nibbles])


def _dotted(first: NDArray[np.int64], rest: NDArray[np.int64]) -> NDArray[np.str_]:
    """Dotted quads from a first octet and the 24 low bits."""
    octets = [first, (rest >> 16) & 255, (rest >> 8) & 255, rest & 255]
    text = _OCTETS[octets[0]]
    for octet in octets[1:]:
        text = np.char.add(np.char.add(text, "."), _OCTETS[octet])
    return text.astype("U15")


def public_ips(rng: np.random.Generator, count: int) -> NDArray[np.str_]:
    """Distinct public IPv4 addresses in blocks allocated to Chinese networks."""
    firsts = np.array(PUBLIC_FIRST_OCTETS, dtype=np.int64)

    def draw(size: int) -> NDArray[np.int64]:
        # Host parts 1..254 keep clear of network and broadcast addresses.
        return (rng.choice(firsts, size) << 24) + (rng.integers(0, 2**16, size) << 8) + (
            rng.integers(1, 255, size)
        )

    values = _distinct(draw, count)
    return _dotted(values >> 24, values & 0xFFFFFF)


def private_ips(rng: np.random.Generator, count: int) -> NDArray[np.str_]:
    """Private addresses as a device SDK reports its Wi-Fi LAN address (192.168/16, 10/8)."""
    home_router = rng.random(count) < 0.8
    first = np.where(home_router, 192, 10).astype(np.int64)
    second = np.where(home_router, 168, rng.integers(0, 256, count))
    rest = (second << 16) + (rng.integers(0, 256, count) << 8) + rng.integers(2, 255, count)
    return _dotted(first, rest)


def surnames(rng: np.random.Generator, count: int) -> NDArray[np.str_]:
    """Common surnames, weighted by how frequent they are."""
    names = np.array([surname for surname, _ in SURNAMES])
    weights = np.array([weight for _, weight in SURNAMES])
    return names[rng.choice(len(names), count, p=weights / weights.sum())]


def given_names(rng: np.random.Generator, count: int) -> NDArray[np.str_]:
    """Given names of one or two characters (about a third have one)."""
    characters = np.array(list(GIVEN_NAME_CHARACTERS))
    first = characters[rng.integers(0, len(characters), count)]
    second = np.where(
        rng.random(count) < 0.35, "", characters[rng.integers(0, len(characters), count)]
    )
    return np.char.add(first, second).astype("U2")
