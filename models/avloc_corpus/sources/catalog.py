"""Which real pictures and sounds stand for each category, and where each comes from.

Every asset is a small dict: kind (how to load it), ref (where), package and licence (kept in the
manifest for attribution), and `prefer` — the split it should go to when a category has enough
assets (GCompris recordings/drawings and TimGM6mb renders lean to test, so that the test split is
also a change of recording and drawing style).
"""
from __future__ import annotations

from typing import Dict, List

TUX = ("tuxpaint-stamps-default", "GPL-2")
GC_SVG = ("gcompris-qt-data", "GPL-3+ / CC-BY-SA-4.0")
GC_OGG = ("gcompris-qt-data", "GPL-3+ / CC-Sampling-Plus-1.0")
NOTO = ("fonts-noto-color-emoji", "OFL-1.1")
FLUENT = ("@lobehub/fluent-emoji-3d", "MIT")
FLUID = ("fluid-soundfont-gm+gs", "MIT")
TIMGM = ("timgm6mb-soundfont", "GPL-2")
FDO = ("sound-theme-freedesktop", "CC-BY-SA / GPL-2")

TUX_DIR = "usr/share/tuxpaint/stamps/"
FARM = "explore_farm_animals:/gcompris/src/activities/explore_farm_animals/resource/animals/"
INSTR = "instruments:/gcompris/src/activities/instruments/resource/"


def _a(kind: str, ref: str, pkg_lic, prefer: str = "any", **extra) -> Dict:
    return dict(kind=kind, ref=ref, package=pkg_lic[0], license=pkg_lic[1], prefer=prefer, **extra)


def tux(rel: str) -> Dict:                      # picture (.png) or sound (.ogg)
    return _a("file", TUX_DIR + rel, TUX)


def tux_photo(rel: str, split: str) -> Dict:
    """A further Tux Paint photograph pinned to a split: pinned assets bypass the seeded shuffle,
    so adding them leaves every other asset's split as it was (built corpora stay valid)."""
    return dict(tux(rel), split=split)


def gc_svg(rel: str) -> Dict:
    return _a("rcc_svg", rel, GC_SVG, prefer="test")


def gc_ogg(rel: str) -> Dict:
    return _a("rcc_audio", rel, GC_OGG, prefer="test")


def noto(cp: str) -> Dict:
    return _a("noto", cp, NOTO)


def fluent(cp: str) -> Dict:
    return _a("fluent", cp, FLUENT)


def render(font: str, bank: int, program: int, n: int, drums: bool = False) -> List[Dict]:
    """n distinct renders (different seeded phrases) of one GM/GS sound; each is its own asset."""
    pkg = TIMGM if font == "TimGM6mb.sf2" else FLUID
    prefer = "test" if font == "TimGM6mb.sf2" else "any"
    return [_a("midi", f"{font}:{bank}:{program}:{i}", pkg, prefer=prefer, font=font, bank=bank,
               program=program, phrase=i, drums=drums) for i in range(n)]


GM, GS, TIM = "FluidR3_GM.sf2", "FluidR3_GS.sf2", "TimGM6mb.sf2"

CATEGORIES: Dict[str, Dict[str, List[Dict]]] = {
    "dog": dict(
        pictures=[tux("animals/mammals/dogs/dog.png"), gc_svg(FARM + "dog.svg"), noto("1f415"),
                  fluent("1f415"), fluent("1f436")],
        sounds=[tux("animals/mammals/dogs/dog.ogg"), gc_ogg(FARM + "dog.ogg")] + render(GS, 1, 123, 3)),
    "cat": dict(
        pictures=[tux("seasonal/halloween/blackcat.png"), gc_svg(FARM + "cat.svg"), noto("1f408"),
                  fluent("1f408"), fluent("1f431")],
        sounds=[tux("seasonal/halloween/blackcat.ogg"), gc_ogg(FARM + "cat.ogg")]),
    "cow": dict(
        pictures=[tux("animals/mammals/bovines/cow.png"), tux("animals/mammals/bovines/cow_white.png"),
                  tux("animals/mammals/bovines/bull.png"), gc_svg(FARM + "cow.svg"), noto("1f404"),
                  fluent("1f404"), fluent("1f42e")],
        sounds=[tux("animals/mammals/bovines/cow.ogg"), tux("animals/mammals/bovines/cow_white.ogg"),
                tux("animals/mammals/bovines/bull.ogg"), gc_ogg(FARM + "cow.ogg")]),
    "horse": dict(
        pictures=[tux("animals/mammals/equines/horse.png"), gc_svg(FARM + "horse.svg"), noto("1f40e"),
                  fluent("1f40e"), fluent("1f434")],
        sounds=[tux("animals/mammals/equines/horse.ogg"), gc_ogg(FARM + "horse.ogg")] + render(GS, 2, 123, 2)),
    "sheep": dict(
        pictures=[tux("animals/mammals/bovines/sheep.png"), tux("animals/mammals/bovines/sheep_lamb.png"),
                  gc_svg(FARM + "sheep.svg"), noto("1f411"), fluent("1f411"), fluent("1f40f")],
        sounds=[tux("animals/mammals/bovines/sheep.ogg"), tux("animals/mammals/bovines/sheep_lamb.ogg"),
                gc_ogg(FARM + "sheep.ogg")]),
    "pig": dict(
        pictures=[tux("animals/mammals/pig.png"), tux("animals/mammals/pig_golden.png"),
                  tux("animals/mammals/pig_golden2.png"), gc_svg(FARM + "pig.svg"), noto("1f416"),
                  fluent("1f416"), fluent("1f437")],
        sounds=[tux("animals/mammals/pig.ogg"), tux("animals/mammals/pig_golden.ogg"),
                tux("animals/mammals/pig_golden2.ogg"), gc_ogg(FARM + "pig.ogg")]),
    "chicken": dict(
        pictures=[tux("animals/birds/hen.png"), tux("animals/birds/rooster.png"),
                  tux("animals/birds/chicken_profile.png"), gc_svg(FARM + "chicken.svg"),
                  noto("1f413"), noto("1f414"), fluent("1f413"), fluent("1f414")],
        sounds=[tux("animals/birds/hen.ogg"), tux("animals/birds/rooster.ogg"), gc_ogg(FARM + "chickens.ogg")]),
    "duck": dict(
        pictures=[tux("animals/birds/duck.png"), tux("animals/birds/drake.png"), gc_svg(FARM + "duck.svg"),
                  noto("1f986"), fluent("1f986")],
        sounds=[tux("animals/birds/duck.ogg"), tux("animals/birds/drake.ogg"), gc_ogg(FARM + "duck.ogg")]),
    "owl": dict(
        pictures=[tux("animals/birds/owl.png"), gc_svg(FARM + "owl.svg"), noto("1f989"), fluent("1f989")],
        sounds=[tux("animals/birds/owl.ogg"), gc_ogg(FARM + "owl.ogg")]),
    "songbird": dict(
        pictures=[tux("animals/birds/blackbird.png"), tux("animals/birds/lark.png"),
                  tux("animals/birds/cuckoo.png"), noto("1f426"), fluent("1f426")],
        sounds=[tux("animals/birds/blackbird.ogg"), tux("animals/birds/lark.ogg"),
                tux("animals/birds/cuckoo.ogg")] + render(GM, 0, 123, 2) + render(GS, 3, 123, 2)
               + render(TIM, 0, 123, 2)),
    "violin": dict(
        pictures=[tux("hobbies/music/string/violin.png"), gc_svg(INSTR + "violin.svg"), noto("1f3bb"),
                  fluent("1f3bb")],
        sounds=[tux("hobbies/music/string/violin.ogg"), gc_ogg(INSTR + "violin.ogg")]
               + render(GM, 0, 40, 4) + render(TIM, 0, 40, 2)),
    "drumkit": dict(
        pictures=[tux("hobbies/music/percussion/drumkit.png"), gc_svg(INSTR + "drum_kit.svg"),
                  noto("1f941"), fluent("1f941")],
        sounds=[tux("hobbies/music/percussion/drumkit.ogg"), gc_ogg(INSTR + "drum_kit.ogg")]
               + render(GM, 128, 0, 4, drums=True) + render(TIM, 128, 0, 2, drums=True)),
    "trumpet": dict(
        pictures=[tux("hobbies/music/brass/trumpet.png"), gc_svg(INSTR + "trumpet.svg"), noto("1f3ba"),
                  fluent("1f3ba")],
        sounds=[gc_ogg(INSTR + "trumpet.ogg")] + render(GM, 0, 56, 4) + render(TIM, 0, 56, 2)),
    "piano": dict(
        pictures=[gc_svg(INSTR + "piano.svg"), noto("1f3b9"), fluent("1f3b9")],
        sounds=[gc_ogg(INSTR + "piano.ogg")] + render(GM, 0, 0, 4) + render(TIM, 0, 0, 2)),
    "guitar": dict(
        pictures=[tux("hobbies/music/string/guitar_classical.png"), tux("hobbies/music/string/guitar2.png"),
                  tux("hobbies/music/string/guitar_electric.png"), gc_svg(INSTR + "guitar.svg"),
                  noto("1f3b8"), fluent("1f3b8")],
        sounds=[gc_ogg(INSTR + "guitar.ogg")] + render(GM, 0, 24, 2) + render(GM, 0, 25, 2)
               + render(TIM, 0, 24, 2)),
    "telephone": dict(
        pictures=[noto("260e"), noto("1f4de"), fluent("260e-fe0f"), fluent("1f4de")],
        sounds=[_a("file", "usr/share/sounds/freedesktop/stereo/phone-incoming-call.oga", FDO, prefer="test")]
               + render(GM, 0, 124, 3) + render(TIM, 0, 124, 2)),
    "firetruck": dict(
        pictures=[tux("vehicles/emergency/firetruck.png"), tux("vehicles/emergency/cartoon/fire_engine.png"),
                  noto("1f692"), fluent("1f692")],
        sounds=render(GS, 5, 125, 4)),
    "helicopter": dict(
        pictures=[tux("vehicles/flight/cartoon/eddieCopter.png"), noto("1f681"), fluent("1f681")],
        sounds=render(GM, 0, 125, 3) + render(TIM, 0, 125, 2)),
    # ---- people speaking and vehicles: the classes a camera meets most (COCO's person, car,
    # train, airplane). Speech is real: Tux Paint's spoken stamp descriptions, one recording per
    # stamp and language, the languages (so the speakers) pinned to a split (SPEECH_SPLIT).
    "person": dict(
        pictures=[tux("people/fireman200b.png"), tux("people/fireman240a.png"), noto("1f9d1"), noto("1f468"),
                  noto("1f469"), fluent("1f9d1"), fluent("1f468"), fluent("1f469"), fluent("1f474"),
                  fluent("1f475"), fluent("1f466"), fluent("1f467")],
        sounds=[]),   # filled below from SPEECH_STAMPS x SPEECH_SPLIT
    "car": dict(
        pictures=[tux("vehicles/auto/sedan.png"), tux("vehicles/auto/beetle.png"), tux("vehicles/auto/sportscar2.png"),
                  tux("vehicles/emergency/sedan_police.png"), noto("1f697"), noto("1f695"), fluent("1f697"),
                  fluent("1f693"), fluent("1f695")],
        sounds=[gc_ogg("traffic:/gcompris/src/activities/traffic/resource/car.wav"),
                gc_ogg("memory-sound:/gcompris/src/activities/memory-sound/resource/LRStartAndStopCarEngine1LACut.ogg")]
               + render(GS, 1, 125, 3) + render(GS, 3, 125, 2)),
    "train": dict(
        pictures=[noto("1f682"), noto("1f686"), fluent("1f682"), fluent("1f686"), fluent("1f683")],
        sounds=[gc_ogg("railroad:/gcompris/src/activities/railroad/resource/sounds/train.wav")]
               + render(GS, 6, 125, 4)),
    "airplane": dict(
        pictures=[tux("vehicles/flight/planes/747.png"), noto("2708"), fluent("2708-fe0f"), fluent("1f6eb")],
        sounds=render(GS, 7, 125, 4)),
    # ---- held out: never in training or validation, only in test (unseen categories)
    "elephant": dict(
        pictures=[tux("animals/mammals/elephant.png"), noto("1f418"), fluent("1f418")],
        sounds=[tux("animals/mammals/elephant.ogg")]),
    "lion": dict(
        pictures=[tux("animals/mammals/cats/lion.png"), tux("animals/mammals/cats/lion-2.png"),
                  noto("1f981"), fluent("1f981")],
        sounds=[tux("animals/mammals/cats/lion.ogg")]),
    "frog": dict(
        pictures=[tux("animals/amphibians/frog.png"), tux("animals/amphibians/frog-1.png"), noto("1f438"),
                  fluent("1f438")],
        sounds=[tux("animals/amphibians/frog.ogg")]),
    "saxophone": dict(
        pictures=[gc_svg(INSTR + "saxophone.svg"), noto("1f3b7"), fluent("1f3b7")],
        sounds=[gc_ogg(INSTR + "saxophone.ogg")] + render(TIM, 0, 65, 2)),
}


# More photographs (Tux Paint's photo stamps) for the categories, each pinned to a split: a camera
# sees photographs, and the corpus' pictures are mostly emoji and drawings (scenes/photo_corpus.py).
EXTRA_PHOTOS = {
    "dog": [("animals/mammals/dogs/dingo.png", "train")],
    "cow": [("animals/mammals/bovines/zebu.png", "train"), ("animals/mammals/bovines/yak.png", "val")],
    "sheep": [("animals/mammals/bovines/ram.png", "train")],
    "pig": [("animals/mammals/wildboar.png", "train")],
    "duck": [("animals/birds/gander.png", "train")],
    "songbird": [("animals/birds/magpie.png", "train"), ("animals/birds/crow.png", "train"), ("animals/birds/pigeon.png", "train"), ("animals/birds/rainbow-lorikeet.png", "val"), ("animals/birds/adelaide-rosella.png", "test")],
    "car": [("vehicles/race/indycar.png", "train")],
    "drumkit": [("hobbies/music/percussion/drum_tomtom_floor.png", "train")],
    "guitar": [("hobbies/music/string/guitar_electric_bass.png", "train")],
    "airplane": [("military/vehicles/f22_raptor.png", "train")],
}
for _cat, _photos in EXTRA_PHOTOS.items():
    CATEGORIES[_cat]["pictures"] += [tux_photo(rel, split) for rel, split in _photos]

HELD_OUT = ("elephant", "lion", "frog", "saxophone")

SPEECH_STAMPS = ["animals/amphibians/frog", "animals/birds/crow", "animals/birds/penguin", "animals/birds/pigeon",
                 "animals/birds/seagull", "animals/insects/bee", "animals/lizards/iguana",
                 "animals/mammals/aquatic/dolphin", "animals/mammals/bears/bear", "animals/mammals/bovines/goat"]
# language -> split: a language's recordings come from its translator(s), so whole languages are
# pinned and no voice is both trained on and tested
SPEECH_SPLIT = {"be": "train", "bg": "train", "ca": "train", "es": "train", "fr": "train", "ro": "train",
                "ru": "train", "nl": "val", "el": "test", "da": "test"}
CATEGORIES["person"]["sounds"] = [dict(tux(f"{stamp}_desc_{lang}.ogg"), split=split)
                                  for stamp in SPEECH_STAMPS for lang, split in SPEECH_SPLIT.items()]

# Iconify emoji names per category, looked up in every set of packages.ICONIFY_SETS (a set that
# lacks a name simply contributes nothing). Whole sets are pinned to a split, so test pictures are
# also a change of drawing style: OpenMoji (line art) and EmojiOne are never trained on.
ICON_NAMES: Dict[str, List[str]] = {
    "dog": ["dog", "dog-face", "guide-dog", "service-dog", "dogside"],
    "cat": ["cat", "cat-face", "black-cat"],
    "cow": ["cow", "cow-face", "cowface"],
    "horse": ["horse", "horse-face", "horseface"],
    "sheep": ["ewe", "ram", "sheep", "ewe-1", "ewe-2"],
    "pig": ["pig", "pig-face", "pigside"],
    "chicken": ["chicken", "rooster"],
    "duck": ["duck"],
    "owl": ["owl"],
    "songbird": ["bird", "black-bird", "bird-1", "bird-2"],
    "violin": ["violin"],
    "drumkit": ["drum"],
    "trumpet": ["trumpet"],
    "piano": ["musical-keyboard", "musicalkeyboard"],
    "guitar": ["guitar"],
    "telephone": ["telephone", "blacktelephone", "black-touch-tone-telephone", "blacktouchtonetelephone"],
    "firetruck": ["fire-engine", "oncoming-fire-engine"],
    "helicopter": ["helicopter"],
    "elephant": ["elephant"],
    "lion": ["lion", "lion-face"],
    "frog": ["frog", "frog-face"],
    "saxophone": ["saxophone"],
    "person": ["man", "woman", "person", "boy", "girl", "older-person", "old-man", "old-woman"],
    "car": ["automobile", "police-car", "taxi"],
    "train": ["locomotive", "train", "high-speed-train"],
    "airplane": ["airplane"],
}
ICON_SPLIT = {"openmoji": "test", "emojione": "test", "emojione-v1": "test", "streamline-emojis": "val"}


def icon(set_name: str, name: str, license: str) -> Dict:
    return dict(kind="iconify", ref=f"{set_name}:{name}", package=f"@iconify-json/{set_name}",
                license=license, prefer="any", split=ICON_SPLIT.get(set_name, "train"))


def pictures(category: str, icon_sets: Dict[str, Dict]) -> List[Dict]:
    """The category's pictures: the hand-listed ones plus every Iconify set's matching emoji.
    icon_sets maps set name -> (licence, icons.json)."""
    out = list(CATEGORIES[category]["pictures"])
    for set_name, (license, icons) in sorted(icon_sets.items()):
        out += [icon(set_name, n, license) for n in ICON_NAMES.get(category, []) if n in icons["icons"]]
    return out


def style(asset: str) -> str:
    """The kind of picture an asset id ("kind:ref") is: a real photograph (Tux Paint's photo
    stamps), a drawing, or an emoji (reports/controls.py breaks test scores down by it,
    scenes/photo_corpus.py keeps only the photographs)."""
    kind, _, ref = asset.partition(":")
    if kind == "file" and "tuxpaint" in ref and "/cartoon/" not in ref:
        return "photo"
    if kind in ("rcc_svg", "file", "openclipart"):
        return "drawing"
    return "emoji"

BACKGROUND_PACKAGES = {
    "mate": ("mate-backgrounds", "GPL-2+ / CC-BY-SA"),
    "plasma": ("plasma-workspace-wallpapers", "LGPL-3 / CC-BY-SA-4.0"),
}
