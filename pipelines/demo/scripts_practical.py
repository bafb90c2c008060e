"""The scripts of the three practical demo videos: brewing coffee, keeping a cat, maintaining a motorcycle.

Data only, one `VideoScript` each (the types: `script_types.py`); `scripts.py` lists every demo video.
"""

from __future__ import annotations

from pipelines.demo.script_types import Scene, VideoScript, _lines

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
