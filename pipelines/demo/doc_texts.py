"""The demo documents as data. Each has its own topic, unrelated to the videos.

For the PDF every section is one page, so a fact's page number is its section's
position (1-based); the queries rely on that.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: tuple[str, ...]
    lang: str = "en"


@dataclass(frozen=True)
class DocumentText:
    doc_id: str
    file_name: str
    format: str  # "pdf", "markdown", "html", "text"
    title: str
    topic: str
    sections: tuple[Section, ...]

    @property
    def langs(self) -> list[str]:
        return sorted({s.lang for s in self.sections})


HONEYBEES = DocumentText(
    doc_id="honeybee_field_guide",
    file_name="honeybee_field_guide.pdf",
    format="pdf",
    title="Honeybees: A Field Guide",
    topic="honeybee biology and beekeeping",
    sections=(
        Section(
            "The Colony",
            (
                "A honeybee colony is a single family living in one hive. In summer a healthy colony "
                "holds between 20,000 and 60,000 bees, but only one queen.",
                "The queen can lay up to 2,000 eggs a day. Worker bees are all female; the males, "
                "called drones, do not sting and do not collect food.",
                "Workers change jobs as they age: they clean cells, feed larvae, build wax comb, "
                "guard the entrance and finally fly out as foragers.",
            ),
        ),
        Section(
            "The Waggle Dance",
            (
                "A forager that finds a rich patch of flowers tells her sisters where it is with the "
                "waggle dance, performed on the vertical comb inside the dark hive.",
                "The angle of the waggle run from vertical equals the angle between the food and the "
                "sun, and the length of the run encodes the distance.",
                "Karl von Frisch decoded the dance and shared the Nobel Prize in Physiology or "
                "Medicine in 1973 for this work.",
            ),
        ),
        Section(
            "Making Honey",
            (
                "Honey is made from flower nectar. To produce one pound of honey, about 450 grams, "
                "the bees of a colony visit roughly two million flowers.",
                "Nectar is about 80 percent water. The bees add enzymes and fan it with their wings "
                "until the water content falls to about 18 percent, then seal the cell with wax.",
                "A single worker makes only about one twelfth of a teaspoon of honey in her life.",
            ),
        ),
        Section(
            "Keeping Bees",
            (
                "Most beekeepers use the Langstroth hive, patented by Lorenzo Langstroth in 1852. "
                "Its removable frames are spaced by the bee space of 6 to 9 millimetres, a gap the "
                "bees leave open instead of filling it with comb.",
                "In spring, inspect the hive every 7 to 10 days to look for queen cells and signs "
                "of swarming. Always use a smoker and a veil.",
                "The varroa mite is the most serious pest of honeybees worldwide; check the mite "
                "level at least four times a year.",
            ),
        ),
        Section(
            "中文摘要：蜜蜂",
            (
                "蜜蜂是一种社会性昆虫，一个蜂群里只有一只蜂王。",
                "夏天，一只工蜂的寿命大约只有六个星期，它们几乎是累死的。",
                "蜂蜜的含水量一般在百分之十八左右，所以可以长期保存而不变质。",
            ),
            lang="zh",
        ),
    ),
)

SOURDOUGH = DocumentText(
    doc_id="sourdough_baking",
    file_name="sourdough_baking.md",
    format="markdown",
    title="Sourdough Bread Baking Guide",
    topic="baking sourdough bread",
    sections=(
        Section(
            "The Starter",
            (
                "A sourdough starter is a culture of wild yeast and lactic acid bacteria living in "
                "a paste of flour and water. A new starter takes about 7 days to become active.",
                "Feed the starter once a day at a 1:1:1 ratio by weight: one part starter, one part "
                "flour and one part water. It is ready when it doubles within 4 to 6 hours.",
            ),
        ),
        Section(
            "Mixing and Hydration",
            (
                "Hydration is the weight of water divided by the weight of flour. A beginner's loaf "
                "works well at 70 to 75 percent hydration.",
                "Mix the flour and water first and let them rest for 30 minutes before adding the "
                "salt and starter. This rest is called the autolyse.",
                "Use 2 percent salt relative to the flour weight.",
            ),
        ),
        Section(
            "Bulk Fermentation",
            (
                "During bulk fermentation, perform four sets of stretch and folds, 30 minutes apart.",
                "At 24 degrees Celsius the bulk takes about 5 hours; the dough should grow by half.",
            ),
        ),
        Section(
            "Baking",
            (
                "Preheat the oven with a Dutch oven inside to 250 degrees Celsius.",
                "Bake covered for 20 minutes so the steam lets the loaf rise, then uncover and bake "
                "for another 20 to 25 minutes until the crust is deep brown.",
                "Let the bread cool for at least one hour before slicing.",
            ),
        ),
    ),
)

ROSETTA = DocumentText(
    doc_id="rosetta_stone",
    file_name="rosetta_stone.html",
    format="html",
    title="The Rosetta Stone",
    topic="the Rosetta Stone and the decipherment of hieroglyphs",
    sections=(
        Section(
            "Discovery",
            (
                "The Rosetta Stone was found in July 1799 by French soldiers rebuilding a fort near "
                "the town of Rashid, which Europeans called Rosetta, in the Nile Delta.",
                "It is a slab of granodiorite about 112 centimetres tall that weighs roughly 760 kilograms.",
            ),
        ),
        Section(
            "Three Scripts",
            (
                "The stone carries one decree of King Ptolemy V, issued in 196 BC, written three "
                "times: in hieroglyphs, in Demotic script and in Ancient Greek.",
                "Because scholars could read the Greek, the stone became the key to the two Egyptian "
                "scripts.",
            ),
        ),
        Section(
            "Decipherment",
            (
                "Thomas Young showed that the cartouches spelled the name Ptolemy. Jean-François "
                "Champollion announced the decipherment of hieroglyphs in 1822.",
            ),
        ),
        Section(
            "The Stone Today",
            (
                "Under the Treaty of Alexandria the stone passed to the British in 1801. It has been "
                "shown in the British Museum in London since 1802 and is its most visited object.",
            ),
        ),
    ),
)

GREAT_WALL = DocumentText(
    doc_id="great_wall_zh",
    file_name="great_wall_zh.txt",
    format="text",
    title="长城简介",
    topic="长城的历史与数据",
    sections=(
        Section(
            "修建历史",
            (
                "长城是中国古代的军事防御工程，最早修建于春秋战国时期。",
                "公元前二二一年，秦始皇统一六国以后，把各国的长城连接起来，形成了“万里长城”。",
                "今天人们看到的大部分砖石长城修建于明朝。",
            ),
            lang="zh",
        ),
        Section(
            "长度",
            (
                "二〇一二年国家文物局公布，历代长城的总长度为21196.18千米。",
                "其中明长城长约8851.8千米，东起辽宁虎山，西到甘肃嘉峪关。",
            ),
            lang="zh",
        ),
        Section(
            "著名地段",
            (
                "八达岭长城位于北京市延庆区，是最早向游客开放的长城地段。",
                "山海关被称为“天下第一关”，是长城东部的重要关口。",
                "一九八七年，长城被列入联合国教科文组织《世界遗产名录》。",
            ),
            lang="zh",
        ),
    ),
)

GIANT_PANDA = DocumentText(
    doc_id="giant_panda_zh",
    file_name="giant_panda_zh.md",
    format="markdown",
    title="大熊猫知识手册",
    topic="大熊猫的习性与保护",
    sections=(
        Section(
            "分布",
            (
                "野生大熊猫生活在中国四川、陕西和甘肃的山区竹林里，其中四川的数量最多。",
                "第四次全国大熊猫调查显示，野生大熊猫共有1864只。",
            ),
            lang="zh",
        ),
        Section(
            "食性",
            (
                "大熊猫虽然属于食肉目，但百分之九十九的食物是竹子。",
                "一只成年大熊猫每天要吃十二到三十八公斤竹子，每天有十多个小时在进食。",
            ),
            lang="zh",
        ),
        Section(
            "繁殖",
            (
                "大熊猫幼崽刚出生时只有一百克左右，大约是母亲体重的千分之一。",
                "雌性大熊猫一般每两年最多繁殖一次。",
            ),
            lang="zh",
        ),
        Section(
            "保护",
            (
                "二〇一六年，世界自然保护联盟把大熊猫的受威胁等级从“濒危”降为“易危”。",
                "四川卧龙国家级自然保护区建立于一九六三年，是最早保护大熊猫的保护区之一。",
            ),
            lang="zh",
        ),
    ),
)

DOCUMENTS: tuple[DocumentText, ...] = (HONEYBEES, SOURDOUGH, ROSETTA, GREAT_WALL, GIANT_PANDA)
