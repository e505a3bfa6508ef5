"""Older romanisations of Chinese names: Wade-Giles from pinyin, Hong Kong Cantonese from Han."""

from __future__ import annotations

import logging

__all__ = ["cantonese", "wade_giles"]

logger = logging.getLogger(__name__)

_WG_WHOLE = {
    "zi": "tzu",
    "ci": "tzu",
    "si": "ssu",
    "zhi": "chih",
    "chi": "chih",
    "shi": "shih",
    "ri": "jih",
    "er": "erh",
    "you": "yu",
    "yan": "yen",
    "ye": "yeh",
    "yi": "i",
    "yong": "yung",
    "yue": "yueh",
    "e": "o",
}
_WG_INITIALS = (
    ("zh", "ch"),
    ("ch", "ch"),
    ("sh", "sh"),
    ("b", "p"),
    ("p", "p"),
    ("d", "t"),
    ("t", "t"),
    ("g", "k"),
    ("k", "k"),
    ("z", "ts"),
    ("c", "ts"),
    ("s", "s"),
    ("h", "h"),
    ("j", "ch"),
    ("q", "ch"),
    ("x", "hs"),
    ("r", "j"),
)


def wade_giles(syllable: str) -> str:
    """A toneless pinyin syllable in Wade-Giles, aspiration marks and umlauts left out
    (zhang -> chang, xiao -> hsiao, guo -> kuo, zhuo -> cho)."""
    if syllable in _WG_WHOLE:
        return _WG_WHOLE[syllable]
    initial, final = "", syllable
    for pinyin, wg in _WG_INITIALS:
        if syllable.startswith(pinyin):
            initial, final = wg, syllable[len(pinyin) :]
            break
    source = syllable[: len(syllable) - len(final)]
    if final.endswith("ong"):
        final = final[:-3] + "ung"
    elif final == "ui" and source in ("g", "k"):
        final = "uei"  # gui kuei, kui k'uei
    elif final == "ian":
        final = "ien"
    elif final == "ie":
        final = "ieh"
    elif final == "ue":
        final = "ueh"
    elif final == "uo" and source not in ("g", "k", "h", "sh"):
        final = "o"
    elif final == "e" and source in ("g", "k", "h"):
        final = "o"
    return initial + final


# Hong Kong government romanisation of common surname and given-name characters
# (simplified and traditional forms both listed)
_CANTONESE_TABLE = """
陈陳 chan|林 lam|黄黃 wong|王 wong|李 lee|张張 cheung|刘劉 lau|梁 leung|吴吳 ng|何 ho
郭 kwok|国國 kwok|豪 ho|邓鄧 tang|周 chow|郑鄭 cheng|杨楊 yeung|徐 tsui|朱 chu|马馬 ma
胡 wu|罗羅 law|谢謝 tse|叶葉 yip|冯馮 fung|曾 tsang|蔡 choi|潘 poon|袁 yuen|许許 hui
苏蘇 so|卢盧 lo|蒋蔣 tseung|麦麥 mak|钟鍾 chung|方 fong|余 yu|孙孫 suen|赵趙 chiu|韩韓 hon
唐 tong|高 ko|莫 mok|杜 to|彭 pang|萧蕭 siu|邱 yau|区區 au|关關 kwan|温溫 wan|廖 liu
雷 lui|严嚴 yim|江 kong|汤湯 tong|甘 kam|金 kam|孔 hung|石 shek|龙龍 lung|范 fan
志 chi|明 ming|伟偉 wai|华華 wah|文 man|强強 keung|美 mei|玲 ling|家 ka|嘉 ka|俊 chun
杰傑 kit|健 kin|建 kin|德 tak|永 wing|荣榮 wing|英 ying|丽麗 lai|敏 man|慧 wai|芳 fong
秀 sau|子 tsz|天 tin|海 hoi|东東 tung|成 sing|辉輝 fai|光 kwong|锦錦 kam|宝寶 po|淑 shuk
燕 yin|兰蘭 lan|小 siu|晓曉 hiu|思 sze|诗詩 sze|欣 yan|恩 yan|仁 yan|达達 tat|耀 yiu
浩 ho|立 lap|力 lik|新 san|信 shun|雅 nga|安 on|平 ping|红紅 hung|云雲 wan|刚剛 kong
军軍 kwan|勇 yung|涛濤 to|亮 leung|鹏鵬 pang|飞飛 fei|峰 fung|磊 lui|超 chiu|斌 pan
宇 yu|轩軒 hin|博 pok|晨 san|佳 kai|怡 yi|静靜 ching|婷 ting|娜 na|琳 lam|颖穎 wing
霞 ha|萍 ping|玉 yuk|珍 chun|凤鳳 fung|梅 mui|莲蓮 lin|春 chun|秋 chau|月 yuet|清 ching
志 chi|远遠 yuen|庆慶 hing|栋棟 tung|涛濤 to|鸿鴻 hung|振 chun|威 wai|万萬 man|福 fuk
贵貴 kwai|富 fu|昌 cheong|盛 shing|兴興 hing|泰 tai|祥 cheung|瑞 sui|顺順 shun|宏 wang
"""
_CANTONESE = {
    char: reading
    for row in _CANTONESE_TABLE.split("\n")
    for cell in row.split("|")
    if cell.strip()
    for chars, reading in [cell.split()]
    for char in chars
}


def cantonese(characters: str) -> list[str] | None:
    """The Cantonese readings of the characters, or None if one is not in the table."""
    readings = [_CANTONESE.get(char) for char in characters]
    if any(reading is None for reading in readings):
        return None
    return [r for r in readings if r is not None]
