"""The labelled retrieval queries, and their resolution to files, time spans and pages.

Queries point at a scene (and a narration sentence) by key rather than by time, because
the times come from the synthesised speech; `resolve_queries` turns them into the
`queries.jsonl` contract: {"query", "lang", "source", "kind", and "t0"/"t1" or "page"}.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.demo.manifest import DocumentEntry, VideoEntry

KINDS = ("speech", "on_screen_text", "visual_object", "document")


@dataclass(frozen=True)
class QuerySpec:
    query: str
    lang: str
    kind: str
    source: str  # video_id or doc_id
    scene: str | None = None  # scene key, for video queries
    line: int | None = None  # narration sentence within the scene, for speech queries
    page: int | None = None  # 1-based PDF page, for PDF queries


def _speech(q: str, lang: str, video: str, scene: str, line: int) -> QuerySpec:
    return QuerySpec(q, lang, "speech", video, scene=scene, line=line)


def _screen(q: str, lang: str, video: str, scene: str) -> QuerySpec:
    return QuerySpec(q, lang, "on_screen_text", video, scene=scene)


def _visual(q: str, lang: str, video: str, scene: str) -> QuerySpec:
    return QuerySpec(q, lang, "visual_object", video, scene=scene)


def _doc(q: str, lang: str, doc: str, page: int | None = None) -> QuerySpec:
    return QuerySpec(q, lang, "document", doc, page=page)


QUERIES: tuple[QuerySpec, ...] = (
    # What the narration says.
    _speech(
        "How many grams of water should I use per gram of coffee for pour-over?",
        "en",
        "coffee_brewing",
        "ratio",
        0,
    ),
    _speech("What water temperature is best for brewing coffee?", "en", "coffee_brewing", "ratio", 1),
    _speech("How long should an espresso shot take to pull?", "en", "coffee_brewing", "shot", 0),
    _speech("What is the golden foam on top of an espresso called?", "en", "coffee_brewing", "cup", 1),
    _speech("How many hours a day do adult cats sleep?", "en", "cats_as_pets", "sleep", 0),
    _speech("Which nutrient must a cat's meat-based food contain?", "en", "cats_as_pets", "feeding", 0),
    _speech("Is tabby a breed of cat?", "en", "cats_as_pets", "chelsea", 1),
    _speech("When was the first artificial satellite launched?", "en", "space_exploration", "sputnik", 0),
    _speech("Who was the first woman to pilot a space shuttle?", "en", "space_exploration", "astronaut", 1),
    _speech("How long did Armstrong and Aldrin walk on the Moon?", "en", "space_exploration", "apollo", 1),
    _speech(
        "Which rockets can land their first stage and fly again?", "en", "space_exploration", "rocket", 1
    ),
    _speech(
        "When should I check the tire pressure on my motorcycle?",
        "en",
        "motorcycle_maintenance",
        "checklist",
        1,
    ),
    _speech("What must the motorcycle side stand do?", "en", "motorcycle_maintenance", "checklist", 6),
    _speech(
        "How often should a motorcycle drive chain be lubricated?", "en", "motorcycle_maintenance", "chain", 0
    ),
    _speech(
        "How often should I change the engine oil of a motorcycle?", "en", "motorcycle_maintenance", "oil", 0
    ),
    _speech("Where was the first computer bug found?", "en", "grace_hopper", "bug", 0),
    _speech(
        "Which business programming language did Grace Hopper's ideas shape?",
        "en",
        "grace_hopper",
        "cobol",
        1,
    ),
    _speech("How long is a nanosecond of wire?", "en", "grace_hopper", "nanosecond", 0),
    _speech("ask not what your country can do for you", "en", "jfk_inaugural", "quote", 0),
    _speech(
        "Which volunteer program did Kennedy's inaugural speech inspire?", "en", "jfk_inaugural", "legacy", 0
    ),
    _speech("谁写了世界上第一部关于茶的著作？", "zh", "tea_history_zh", "luyu", 0),
    _speech("传说是谁发现了茶？", "zh", "tea_history_zh", "origin", 0),
    _speech("中国茶分为哪六大类？", "zh", "tea_history_zh", "kinds", 0),
    _speech("茶马古道是什么样的贸易路线？", "zh", "tea_history_zh", "horse", 0),
    _speech("古代茶砖可以当作钱币使用吗？", "zh", "tea_history_zh", "coins", 0),
    # Text shown on a slide but never spoken.
    _screen("Which foods should never be fed to a cat?", "en", "cats_as_pets", "feeding"),
    _screen("How long is the bloom for pour-over coffee?", "en", "coffee_brewing", "ratio"),
    _screen("What grind size should I use for a French press?", "en", "coffee_brewing", "grind"),
    _screen("How many minutes did one orbit of Sputnik 1 take?", "en", "space_exploration", "sputnik"),
    _screen("Should the chain and sprockets be replaced together?", "en", "motorcycle_maintenance", "chain"),
    _screen("Should the engine be warm before an oil change?", "en", "motorcycle_maintenance", "oil"),
    _screen("In which year was the A-0 compiler written?", "en", "grace_hopper", "cobol"),
    _screen("On what date was the 1961 inaugural address given?", "en", "jfk_inaugural", "quote"),
    _screen("哪里有千年古茶树？", "zh", "tea_history_zh", "origin"),
    _screen("谁被后人称为茶圣？", "zh", "tea_history_zh", "luyu"),
    # What the photographs show.
    _visual("a photo of a cat", "en", "cats_as_pets", "chelsea"),
    _visual("a cup of coffee on a saucer", "en", "coffee_brewing", "cup"),
    _visual("a red motorcycle in a garage", "en", "motorcycle_maintenance", "bike"),
    _visual(
        "an astronaut in an orange spacesuit next to an American flag", "en", "space_exploration", "astronaut"
    ),
    _visual("a rocket on a launch pad at night", "en", "space_exploration", "rocket"),
    _visual("many galaxies in a deep space image", "en", "space_exploration", "hubble"),
    _visual("a man filming with a camera on a tripod", "en", "jfk_inaugural", "press"),
    _visual("an elderly woman in a navy uniform wearing glasses", "en", "grace_hopper", "portrait"),
    _visual("戴眼镜的海军女军官", "zh", "grace_hopper", "portrait"),
    _visual("一张猫的照片", "zh", "cats_as_pets", "chelsea"),
    _visual("一辆红色的摩托车", "zh", "motorcycle_maintenance", "bike"),
    _visual("古代钱币的照片", "zh", "tea_history_zh", "coins"),
    _visual("一匹马的剪影", "zh", "tea_history_zh", "horse"),
    # Facts in the documents.
    _doc("How many bees live in a healthy honeybee colony in summer?", "en", "honeybee_field_guide", 1),
    _doc("Who decoded the honeybee waggle dance and won a Nobel Prize?", "en", "honeybee_field_guide", 2),
    _doc("How many flowers do bees visit to make one pound of honey?", "en", "honeybee_field_guide", 3),
    _doc("What is the bee space in a Langstroth hive?", "en", "honeybee_field_guide", 4),
    _doc("夏天一只工蜂能活多久？", "zh", "honeybee_field_guide", 5),
    _doc("What feeding ratio should I use for a sourdough starter?", "en", "sourdough_baking"),
    _doc("What is the autolyse rest in bread making?", "en", "sourdough_baking"),
    _doc("What oven temperature should I bake sourdough at in a Dutch oven?", "en", "sourdough_baking"),
    _doc("When was the Rosetta Stone discovered?", "en", "rosetta_stone"),
    _doc("Which three scripts are carved on the Rosetta Stone?", "en", "rosetta_stone"),
    _doc("Who deciphered Egyptian hieroglyphs in 1822?", "en", "rosetta_stone"),
    _doc("长城的总长度是多少千米？", "zh", "great_wall_zh"),
    _doc("长城是哪一年被列入世界遗产名录的？", "zh", "great_wall_zh"),
    _doc("哪个关口被称为天下第一关？", "zh", "great_wall_zh"),
    _doc("野生大熊猫一共有多少只？", "zh", "giant_panda_zh"),
    _doc("一只成年大熊猫每天吃多少竹子？", "zh", "giant_panda_zh"),
    _doc("大熊猫的受威胁等级什么时候从濒危降为易危？", "zh", "giant_panda_zh"),
)


def resolve_queries(
    videos: dict[str, VideoEntry], documents: dict[str, DocumentEntry]
) -> list[dict[str, object]]:
    """The `queries.jsonl` rows for the sources that were built; queries whose source was
    skipped are left out."""
    rows: list[dict[str, object]] = []
    for q in QUERIES:
        row: dict[str, object] = {"query": q.query, "lang": q.lang, "kind": q.kind}
        if q.source in videos:
            video = videos[q.source]
            scene = next(s for s in video.scenes if s.key == q.scene)
            span = scene.narration[q.line] if q.kind == "speech" and q.line is not None else scene
            row |= {"source": _name(video.file), "t0": span.t0, "t1": span.t1}
        elif q.source in documents:
            row["source"] = _name(documents[q.source].file)
            if q.page is not None:
                row["page"] = q.page
        else:
            continue
        rows.append(row)
    return rows


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]
