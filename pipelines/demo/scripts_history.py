"""The scripts of the four history demo videos: space exploration, the history of tea (in Chinese),
Grace Hopper, and President Kennedy's inaugural address (with a real recorded line).

Data only, one `VideoScript` each (the types: `script_types.py`); `scripts.py` lists every demo video.
"""

from __future__ import annotations

from pipelines.demo.script_types import Line, Scene, VideoScript, _lines

SPACE = VideoScript(
    video_id="space_exploration",
    title="A Brief History of Space Exploration",
    topic="space exploration: satellites, astronauts, rockets, telescopes",
    lang="en",
    voice="en-us",
    rate=150,
    scenes=(
        Scene(
            "title",
            "title",
            "A Brief History of Space Exploration",
            ("From Sputnik to Hubble",),
            _lines("This is a brief history of human space exploration."),
        ),
        Scene(
            "sputnik",
            "slide",
            "1957: Sputnik 1",
            ("First artificial satellite", "Launched by the Soviet Union", "Orbit took 96 minutes"),
            _lines(
                "In nineteen fifty seven, the Soviet Union launched Sputnik one, the first artificial satellite."
            ),
        ),
        Scene(
            "astronaut",
            "photo",
            "Astronaut Eileen Collins",
            narration=_lines(
                "Astronauts train for years before they fly to space.",
                "Eileen Collins became the first woman to pilot a space shuttle in nineteen ninety five.",
            ),
            photo="astronaut.png",
            objects=("person", "flag", "helmet"),
        ),
        Scene(
            "apollo",
            "slide",
            "1969: Apollo 11",
            ("First humans on the Moon", "Neil Armstrong and Buzz Aldrin", "21 hours on the lunar surface"),
            _lines(
                "In July nineteen sixty nine, Apollo eleven landed the first humans on the Moon.",
                "Neil Armstrong and Buzz Aldrin walked on the surface for about two and a half hours.",
            ),
        ),
        Scene(
            "rocket",
            "photo",
            "A Falcon 9 rocket on the launch pad",
            narration=_lines(
                "Here a Falcon nine rocket stands on the launch pad at Cape Canaveral, ready to lift off.",
                "Modern rockets like this one can land their first stage and fly again.",
            ),
            photo="rocket.jpg",
            objects=("rocket",),
        ),
        Scene(
            "hubble",
            "photo",
            "Hubble eXtreme Deep Field",
            narration=_lines(
                "The Hubble Space Telescope was launched in nineteen ninety.",
                "It photographed thousands of distant galaxies in a tiny patch of dark sky.",
            ),
            photo="hubble_deep_field.jpg",
            objects=("galaxies",),
        ),
    ),
)

TEA = VideoScript(
    video_id="tea_history_zh",
    title="茶的历史",
    topic="中国茶的历史：神农、陆羽《茶经》、茶马古道、六大茶类",
    lang="zh",
    # The plain "cmn" voice of espeak-ng 1.51 reads Chinese characters as English letters;
    # "cmn-latn-pinyin" speaks them. Of the variants tried, the female "f3" at a slightly
    # raised pitch is the one Whisper most often recognises as Chinese rather than Thai.
    voice="cmn-latn-pinyin+f3",
    rate=145,
    pitch=60,
    scenes=(
        Scene(
            "title",
            "title",
            "茶的历史",
            ("从神农到茶马古道",),
            _lines("欢迎观看这段关于茶的历史的短片。"),
        ),
        Scene(
            "origin",
            "slide",
            "茶的起源",
            ("传说神农发现了茶", "中国是茶的故乡", "云南有千年古茶树"),
            _lines("传说神农氏在四千多年前发现了茶。", "中国是茶的故乡。"),
        ),
        Scene(
            "luyu",
            "slide",
            "陆羽与《茶经》",
            ("唐代 陆羽", "世界上第一部茶学专著", "被后人称为茶圣"),
            _lines("唐代的陆羽写了世界上第一部关于茶的著作，叫做茶经。"),
        ),
        Scene(
            "coins",
            "photo",
            "古代钱币",
            narration=_lines("在古代，压紧的茶砖甚至可以像钱币一样用来交易。"),
            photo="coins.png",
            objects=("coins",),
        ),
        Scene(
            "horse",
            "photo",
            "茶马古道",
            narration=_lines("茶马古道是古代用茶叶交换马匹的贸易路线。"),
            photo="horse.png",
            objects=("horse",),
        ),
        Scene(
            "kinds",
            "slide",
            "六大茶类",
            ("绿茶  白茶  黄茶", "青茶  红茶  黑茶", "西湖龙井是著名的绿茶"),
            _lines(
                "中国茶分为六大类，有绿茶、白茶、黄茶、青茶、红茶和黑茶。", "西湖龙井是最有名的绿茶之一。"
            ),
        ),
    ),
)

HOPPER = VideoScript(
    video_id="grace_hopper",
    title="Grace Hopper and the First Computer Bug",
    topic="computing history: Grace Hopper, the first bug, compilers and COBOL",
    lang="en",
    voice="en-us",
    rate=150,
    scenes=(
        Scene(
            "title",
            "title",
            "Grace Hopper and the First Computer Bug",
            ("A pioneer of programming",),
            _lines("This video tells the story of Grace Hopper, a pioneer of computer programming."),
        ),
        Scene(
            "portrait",
            "photo",
            "Rear Admiral Grace Hopper",
            narration=_lines(
                "Grace Hopper served in the United States Navy and retired as a rear admiral.",
                "She earned a doctorate in mathematics from Yale in nineteen thirty four.",
            ),
            photo="matplotlib:grace_hopper.jpg",
            objects=("person", "flag"),
        ),
        Scene(
            "bug",
            "slide",
            "1947: The First Bug",
            ("A moth stuck in a relay", "Harvard Mark II computer", "Taped into the logbook"),
            _lines(
                "In nineteen forty seven, engineers found a moth stuck in a relay of the Harvard Mark two computer.",
                "They taped it into the logbook as the first actual case of a bug being found.",
            ),
        ),
        Scene(
            "cobol",
            "slide",
            "Compilers and COBOL",
            ("A-0 compiler, 1952", "FLOW-MATIC, 1955", "COBOL, 1959"),
            _lines(
                "Hopper built one of the first compilers, a program that turns readable instructions into machine code.",
                "Her ideas shaped COBOL, a business programming language that banks still use today.",
            ),
        ),
        Scene(
            "nanosecond",
            "slide",
            "A Nanosecond of Wire",
            ("About 30 cm of wire", "How far light travels in a billionth of a second"),
            _lines(
                "In her lectures she handed out pieces of wire about thirty centimetres long, "
                "the distance light travels in one nanosecond.",
            ),
        ),
    ),
)

JFK = VideoScript(
    video_id="jfk_inaugural",
    title="The 1961 Inaugural Address",
    topic="President Kennedy's 1961 inaugural address (real recorded speech)",
    lang="en",
    voice="en-us",
    rate=150,
    scenes=(
        Scene(
            "title",
            "title",
            "The 1961 Inaugural Address",
            ("John F. Kennedy, Washington, D.C.",),
            _lines(
                "This video presents a famous line from the inaugural address of President John Kennedy.",
                "He delivered it in Washington in January nineteen sixty one.",
            ),
        ),
        Scene(
            "press",
            "photo",
            "A cameraman at work",
            narration=_lines(
                "Photographers and camera crews recorded the ceremony for newspapers and television."
            ),
            photo="camera.png",
            objects=("person", "camera", "tripod"),
        ),
        Scene(
            "quote",
            "slide",
            "\u201cAsk not what your country can do for you\u201d",
            ("Inaugural address", "January 20, 1961"),
            (
                Line(
                    "And so, my fellow Americans, ask not what your country can do for you, "
                    "ask what you can do for your country.",
                    recording="jfk.flac",
                ),
            ),
        ),
        Scene(
            "legacy",
            "slide",
            "Why It Still Matters",
            ("A call to public service", "Inspired the Peace Corps"),
            _lines("The speech called on citizens to serve their country, and it inspired the Peace Corps."),
        ),
    ),
)
