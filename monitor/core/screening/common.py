"""Name frequency tables of Chinese names and the very-common-name test built on them."""

from __future__ import annotations

import logging

__all__ = ["GIVEN_CHARACTERS", "SURNAMES", "is_common_name"]

logger = logging.getLogger(__name__)

# (simplified, traditional, pinyin, relative frequency): common surnames, most frequent first;
# frequencies are rounded shares per thousand people, from public census summaries
SURNAMES: tuple[tuple[str, str, str, int], ...] = tuple(
    (row.split()[0], row.split()[1], row.split()[2], int(row.split()[3]))
    for row in """
王 王 wang 71|李 李 li 70|张 張 zhang 68|刘 劉 liu 54|陈 陳 chen 45|杨 楊 yang 31|黄 黃 huang 22
赵 趙 zhao 22|吴 吳 wu 20|周 周 zhou 17|徐 徐 xu 13|孙 孫 sun 12|马 馬 ma 11|朱 朱 zhu 11
胡 胡 hu 10|郭 郭 guo 10|何 何 he 9|高 高 gao 9|林 林 lin 9|罗 羅 luo 8|郑 鄭 zheng 8
梁 梁 liang 7|谢 謝 xie 6|宋 宋 song 5|唐 唐 tang 5|许 許 xu 5|韩 韓 han 5|冯 馮 feng 4
邓 鄧 deng 4|曹 曹 cao 4|彭 彭 peng 4|曾 曾 zeng 4|肖 肖 xiao 4|田 田 tian 4|董 董 dong 4
袁 袁 yuan 3|潘 潘 pan 3|于 于 yu 3|蒋 蔣 jiang 3|蔡 蔡 cai 3|余 余 yu 3|杜 杜 du 3|叶 葉 ye 3
程 程 cheng 3|苏 蘇 su 3|魏 魏 wei 3|吕 呂 lu 3|丁 丁 ding 3|任 任 ren 3|沈 沈 shen 3
姚 姚 yao 2|卢 盧 lu 2|姜 姜 jiang 2|崔 崔 cui 2|钟 鍾 zhong 2|谭 譚 tan 2|陆 陸 lu 2
汪 汪 wang 2|范 范 fan 2|金 金 jin 2|石 石 shi 2|廖 廖 liao 2|贾 賈 jia 2|夏 夏 xia 2
韦 韋 wei 2|付 付 fu 2|方 方 fang 2|白 白 bai 2|邹 鄒 zou 2|孟 孟 meng 2|熊 熊 xiong 2
秦 秦 qin 2|邱 邱 qiu 2|江 江 jiang 2|尹 尹 yin 2|薛 薛 xue 2|欧阳 歐陽 ouyang 1|司马 司馬 sima 1
""".replace("\n", "|").split("|")
    if row.strip()
)
# (simplified, traditional, pinyin, relative frequency): characters of given names
GIVEN_CHARACTERS: tuple[tuple[str, str, str, int], ...] = tuple(
    (row.split()[0], row.split()[1], row.split()[2], int(row.split()[3]))
    for row in """
伟 偉 wei 30|芳 芳 fang 20|娜 娜 na 18|敏 敏 min 18|静 靜 jing 18|丽 麗 li 17|强 強 qiang 16
磊 磊 lei 15|军 軍 jun 15|洋 洋 yang 14|勇 勇 yong 14|艳 艷 yan 14|杰 傑 jie 14|涛 濤 tao 13
明 明 ming 13|超 超 chao 12|秀 秀 xiu 12|霞 霞 xia 12|平 平 ping 12|刚 剛 gang 12|桂 桂 gui 11
英 英 ying 11|华 華 hua 11|建 建 jian 11|国 國 guo 11|文 文 wen 10|辉 輝 hui 10|玲 玲 ling 10
海 海 hai 10|红 紅 hong 10|志 志 zhi 10|晓 曉 xiao 10|小 小 xiao 9|俊 俊 jun 9|鹏 鵬 peng 9
飞 飛 fei 9|波 波 bo 9|斌 斌 bin 8|宇 宇 yu 8|浩 浩 hao 8|豪 豪 hao 8|博 博 bo 8|晨 晨 chen 8
嘉 嘉 jia 8|佳 佳 jia 8|怡 怡 yi 8|婷 婷 ting 8|琳 琳 lin 8|颖 穎 ying 7|雪 雪 xue 7|梅 梅 mei 7
兰 蘭 lan 7|凤 鳳 feng 7|玉 玉 yu 7|萍 萍 ping 7|燕 燕 yan 7|丹 丹 dan 7|宁 寧 ning 6
欣 欣 xin 6|泽 澤 ze 6|轩 軒 xuan 6|子 子 zi 6|梓 梓 zi 6|涵 涵 han 6|睿 睿 rui 6|铭 銘 ming 6
远 遠 yuan 6|庆 慶 qing 6|栋 棟 dong 6|德 德 de 6|永 永 yong 6|荣 榮 rong 6|成 成 cheng 6
峰 峰 feng 6|东 東 dong 6|天 天 tian 5|新 新 xin 5|思 思 si 5|雨 雨 yu 5|春 春 chun 5
林 林 lin 5|振 振 zhen 5|兴 興 xing 5|亮 亮 liang 5|宏 宏 hong 5|贵 貴 gui 5|福 福 fu 5
""".replace("\n", "|").split("|")
    if row.strip()
)
_TOP_SURNAMES = frozenset(pinyin for _, _, pinyin, weight in SURNAMES if weight >= 5)
# two-syllable given names borne by very many people
_COMMON_GIVEN = frozenset(
    "xiuying guiying xiulan yuying guilan xiuzhen fengying yulan xiumei jianhua jianguo "
    "jianjun haiyan guohua jianping xiaohong lihua xiaoyan xiaoli jianxin "
    "zhiqiang jun".split()
)


def is_common_name(orders: tuple[str, ...]) -> bool:
    """True when a reading of the name (`Form.orders`, "surname given") is one of the most
    frequent surnames with a one-syllable or very common given name (Li Bo, Wang Wei,
    Zhang Xiuying): such a name is borne by many people, so a name alone says little."""
    from monitor.core.screening.transliterate import syllables

    known = syllables()
    for order in orders:
        surname, _, given = order.partition(" ")
        if surname in _TOP_SURNAMES and given and (given in known or given in _COMMON_GIVEN):
            return True
    return False
