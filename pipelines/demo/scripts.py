"""The demo videos as data: scenes, on-screen text, photographs and narration.

Every video has its own topic so that each query in `queries.py` has exactly one right
source. Numbers in English narration are written as words where espeak-ng would read
the digits differently from how a person says them (years, model numbers).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    """One narration sentence. With `recording`, the sentence is real speech read from
    the shared audio folder and `text` is its known transcript."""

    text: str
    recording: str | None = None


@dataclass(frozen=True)
class Scene:
    key: str  # stable name that queries point at
    kind: str  # "title", "slide" or "photo"
    heading: str  # title, slide heading, or photo caption
    body: tuple[str, ...] = ()  # subtitle or bullet lines shown on screen
    narration: tuple[Line, ...] = ()
    photo: str | None = None  # a bundled sample photo: "coffee.png" (scikit-image) or "matplotlib:<file>"
    objects: tuple[str, ...] = ()  # objects visible in the photo
    min_duration: float = 0.0  # hold the shot at least this long (seconds)


@dataclass(frozen=True)
class VideoScript:
    video_id: str
    title: str
    topic: str
    lang: str  # "en" or "zh"
    voice: str  # espeak-ng voice
    rate: int  # espeak-ng words per minute
    scenes: tuple[Scene, ...]
    pitch: int = 50  # espeak-ng pitch, 0-99

    @property
    def file_name(self) -> str:
        return f"{self.video_id}.mp4"

    @property
    def recordings(self) -> tuple[str, ...]:
        return tuple(line.recording for s in self.scenes for line in s.narration if line.recording)

    def scene(self, key: str) -> Scene:
        for s in self.scenes:
            if s.key == key:
                return s
        raise KeyError(f"{self.video_id} has no scene {key!r}")


def _lines(*texts: str) -> tuple[Line, ...]:
    return tuple(Line(t) for t in texts)


COFFEE = VideoScript(
    video_id="coffee_brewing",
    title="Brewing Better Coffee at Home",
    topic="coffee brewing: espresso and pour-over",
    lang="en",
    voice="en-us",
    rate=150,
    scenes=(
        Scene(
            "title",
            "title",
            "Brewing Better Coffee at Home",
            ("A short guide to espresso and pour-over",),
            _lines("Welcome to this short guide to brewing better coffee at home."),
        ),
        Scene(
            "cup",
            "photo",
            "A fresh espresso on a red saucer",
            narration=_lines(
                "Here is a freshly made espresso in a red cup on a matching saucer.",
                "A good espresso has a thick golden layer of foam on top, called the crema.",
            ),
            photo="coffee.png",
            objects=("cup", "saucer", "spoon"),
        ),
        Scene(
            "ratio",
            "slide",
            "The Brewing Ratio",
            ("1 g of coffee per 16 g of water", "Water at 92 to 96 °C", "Bloom: 30 seconds"),
            _lines(
                "For pour-over coffee, use one gram of coffee for every sixteen grams of water.",
                "The water should be between ninety two and ninety six degrees Celsius.",
            ),
        ),
        Scene(
            "grind",
            "slide",
            "Grind Just Before Brewing",
            ("Espresso: fine, like table salt", "Pour-over: medium", "French press: coarse"),
            _lines(
                "Grind the beans just before brewing, because ground coffee loses its aroma within minutes.",
                "For espresso, the grind should be as fine as table salt.",
            ),
        ),
        Scene(
            "shot",
            "slide",
            "Pulling the Shot",
            ("Target time: 25 to 30 seconds", "Too fast? Grind finer", "Too slow? Grind coarser"),
            _lines(
                "An espresso shot should take about twenty five to thirty seconds to pull.",
                "If the shot runs too fast, make the grind finer.",
            ),
        ),
        Scene(
            "storage",
            "slide",
            "Storing Beans",
            ("Airtight container", "Away from heat and light", "Never in the fridge"),
            _lines("Finally, store your beans in an airtight container, away from heat and light."),
        ),
    ),
)

CATS = VideoScript(
    video_id="cats_as_pets",
    title="Cats as Pets: A Beginner's Guide",
    topic="keeping a cat as a pet: feeding, sleep, health",
    lang="en",
    voice="en-us",
    rate=150,
    scenes=(
        Scene(
            "title",
            "title",
            "Cats as Pets",
            ("A beginner's guide",),
            _lines("This video is a beginner's guide to keeping a cat as a pet."),
        ),
        Scene(
            "chelsea",
            "photo",
            "Chelsea, a young tabby cat",
            narration=_lines(
                "Meet Chelsea, a young tabby cat with striped fur and long white whiskers.",
                "Tabby is a coat pattern, not a breed.",
            ),
            photo="chelsea.png",
            objects=("cat",),
        ),
        Scene(
            "feeding",
            "slide",
            "Feeding Your Cat",
            (
                "Meat-based food with taurine",
                "Two small meals a day",
                "Never feed onions, garlic or chocolate",
            ),
            _lines(
                "Cats are obligate carnivores, so they need meat based food that contains taurine.",
                "An adult cat usually needs two small meals a day.",
            ),
        ),
        Scene(
            "sleep",
            "slide",
            "Sleep and Play",
            ("12 to 16 hours of sleep a day", "Play twice a day", "Scratching posts save furniture"),
            _lines(
                "Adult cats sleep between twelve and sixteen hours a day.",
                "Play with your cat for fifteen minutes twice a day to keep it active.",
            ),
        ),
        Scene(
            "health",
            "slide",
            "Health Care",
            ("Yearly vet checkup", "Vaccinations", "Indoor cats live longer"),
            _lines(
                "Take your cat to the vet once a year for a checkup and vaccinations.",
                "Indoor cats often live fifteen years or more.",
            ),
        ),
    ),
)

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

MOTORCYCLE = VideoScript(
    video_id="motorcycle_maintenance",
    title="Motorcycle Maintenance Basics",
    topic="motorcycle maintenance: pre-ride checks, chain, oil",
    lang="en",
    voice="en-us",
    rate=150,
    scenes=(
        Scene(
            "title",
            "title",
            "Motorcycle Maintenance Basics",
            ("Keep your bike safe and reliable",),
            _lines("Here are the basics of motorcycle maintenance."),
        ),
        Scene(
            "bike",
            "photo",
            "A red motorcycle in the workshop",
            narration=_lines("This red motorcycle is parked in a workshop, ready for its spring service."),
            photo="motorcycle_left.png",
            objects=("motorcycle",),
        ),
        # The long static shot: one slide held for more than twenty seconds.
        Scene(
            "checklist",
            "slide",
            "Pre-ride Checklist: T-CLOCS",
            (
                "T - Tires and wheels",
                "C - Controls",
                "L - Lights and electrics",
                "O - Oil and fluids",
                "C - Chassis",
                "S - Stands",
            ),
            _lines(
                "Before every ride, walk through the T clocks checklist.",
                "T stands for tires and wheels. Check the pressure while the tires are cold.",
                "C stands for controls, such as the levers, the cables and the throttle.",
                "L stands for lights and electrics, including the horn and the turn signals.",
                "O stands for oil and other fluids. Check the oil level in the sight glass.",
                "C stands for chassis, including the frame and the suspension.",
                "S stands for stands. The side stand must spring back firmly.",
            ),
            min_duration=22.0,
        ),
        Scene(
            "chain",
            "slide",
            "Chain Care",
            ("Lubricate every 500 to 800 km", "Slack: 25 to 35 mm", "Replace chain and sprockets together"),
            _lines(
                "Clean and lubricate the drive chain every five hundred to eight hundred kilometres.",
                "The chain slack should be about twenty five to thirty five millimetres.",
            ),
        ),
        Scene(
            "oil",
            "slide",
            "Oil Change",
            ("Every 5,000 km or once a year", "Replace the oil filter too", "Warm the engine first"),
            _lines("Change the engine oil every five thousand kilometres, or once a year."),
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

VIDEOS: tuple[VideoScript, ...] = (COFFEE, CATS, SPACE, MOTORCYCLE, TEA, HOPPER, JFK)
