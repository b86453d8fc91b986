"""Make the digits model's extra training drawings (`dlcore/data/hand_train.npz`) and a development set to choose
settings on (`artifacts/hand_dev.npz`), neither from anything in the unseen-hand test set.

    apt-get install fonts-tlwg-purisa-otf fonts-yozvox-yozfont fonts-tomsontalks fonts-aoyagi-soseki fonts-lobster \
        fonts-klaudia-berenika fonts-tlwg-kinnari-otf fonts-tlwg-sawasdee-otf fonts-freefont-otf fonts-urw-base35 \
        fonts-sil-gentiumplus fonts-yrsa-rasa fonts-open-sans fonts-opendyslexic fonts-gnutypewriter \
        fonts-navilu fonts-yusei-magic fonts-havana fonts-sil-charis \
        fonts-nanum-extra fonts-woowa-bm fonts-lobstertwo fonts-summersby fonts-gfs-olga fonts-sil-andika \
        fonts-averia-gwf fonts-tlwg-umpush-otf fonts-tlwg-loma-otf fonts-tlwg-norasi-otf fonts-tlwg-typist-otf \
        fonts-comfortaa fonts-quicksand fonts-joscelyn fonts-dustin fonts-smc-chilanka fonts-unfonts-extra \
        fonts-isabella fonts-staypuft
    python scripts/make_hand_train.py             # both files
    python scripts/make_hand_train.py --dev-only  # the development set alone

What is in them:
- "font" digits: the ten digits of Debian font packages that are NOT among the test set's fonts
  (tests/handdigits.FONTS; checked below), each rendered several times with a random stroke width, size, place, tilt
  and slant by the same renderer as the test set (tests/handdigits.py). TRAIN_FONTS shares no family with DEV_FONTS
  or DEV_SCRIPT_FONTS (the development set's harder "script" part, connected and informal hands).
- "stroke" digits: stroke templates of this script (the serif and flagged 1, the crossed 7, open and closed 4s, ...
  the styles the issue names), written here independently of the test set's templates, drawn with a random brush,
  size, place and tilt. TRAIN_TEMPLATES and DEV_TEMPLATES (+ DEV_CURSIVE, the development set's harder "cursive"
  part: looped, slashed, connected ways) are separately written sets.
- "scribble": drawings that are no digit, from a generator of this script (turtle walks with wandering curvature,
  zigzags and hatching; not the bench's smooth strokes through random knots), for the "not a digit" training.
The training file holds each drawing framed as the app frames a Sketchpad drawing (`dlcore.predict.mnist_style`):
uint8 28x28, white ink on black. The development set keeps the 280x280 canvases, like the test set.
Seeded: the same fonts give the same files.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
import handdigits as H  # noqa: E402

from dlcore.predict import mnist_style  # noqa: E402

TRAIN_OUT = ROOT / "dlcore" / "data" / "hand_train.npz"
DEV_OUT = ROOT / "artifacts" / "hand_dev.npz"
TRAIN_SEED, DEV_SEED = 1301, 1302  # the test set's is 13

# Debian package -> font files (under /usr/share/fonts). Left out on sight of their digits: EB Garamond (old-style
# figures), TypoScript (no digit glyphs), Jura (a dotted zero), Cabin Sketch (hatched outlines), the symbol fonts.
TRAIN_FONTS = {
    "fonts-tlwg-purisa-otf": [f"opentype/tlwg/Purisa{s}.otf" for s in ("", "-Bold", "-Oblique", "-BoldOblique")],
    "fonts-yozvox-yozfont": [f"truetype/yozvox-yozfont/{n}.ttf" for n in ("YOzBAF", "YOzBCF", "YOzBEF", "YOzBNF")],
    "fonts-tomsontalks": ["truetype/tomsontalks/TomsonTalks.ttf"],
    "fonts-aoyagi-soseki": ["truetype/aoyagi-soseki/aoyagi-soseki.ttf"],
    "fonts-lobster": ["opentype/lobster/lobster.otf"],
    "fonts-klaudia-berenika": [f"truetype/klaudia-berenika/Berenika{s}.ttf"
                               for s in ("", "-Bold", "-Oblique", "-BoldOblique")],
    "fonts-tlwg-kinnari-otf": [f"opentype/tlwg/Kinnari{s}.otf" for s in ("", "-Bold", "-Italic", "-BoldItalic")],
    "fonts-tlwg-sawasdee-otf": [f"opentype/tlwg/Sawasdee{s}.otf" for s in ("", "-Bold", "-Oblique")],
    "fonts-freefont-otf": [f"opentype/freefont/Free{n}.otf" for n in ("Serif", "SerifItalic", "SerifBold", "Sans",
                                                                      "SansOblique", "Mono")],
    "fonts-urw-base35": [f"opentype/urw-base35/{n}.otf" for n in ("C059-Roman", "C059-Italic", "P052-Roman",
                                                                  "P052-Italic", "URWBookman-Light",
                                                                  "URWBookman-DemiItalic", "NimbusSansNarrow-Regular")],
    "fonts-sil-gentiumplus": [f"truetype/gentiumplus/GentiumPlus-{s}.ttf" for s in ("Regular", "Italic", "Bold")],
    "fonts-yrsa-rasa": [f"truetype/fonts-yrsa-rasa/Yrsa-{s}.ttf" for s in ("Regular", "Italic", "Bold")],
    "fonts-open-sans": [f"truetype/open-sans/OpenSans-{s}.ttf" for s in ("Regular", "Italic", "Light", "Bold")],
    "fonts-opendyslexic": ["opentype/opendyslexic/OpenDyslexic-Regular.otf",
                           "opentype/opendyslexic/OpenDyslexic-Italic.otf"],
    "fonts-gnutypewriter": ["truetype/gnutypewriter/GNUTypewriter.ttf"],
    # second round (notes/hand-digits.md): more handwriting and script, and more plain hands
    "fonts-nanum-extra": [f"truetype/nanum/{n}.ttf" for n in ("NanumPen", "NanumBrush", "NanumBarunpenR",
                                                              "NanumBarunpenB")],
    "fonts-woowa-bm": ["truetype/woowa-bm/BMKIRANGHAERANG-TTF.ttf", "truetype/woowa-bm/BMYEONSUNG_ttf.ttf"],
    "fonts-lobstertwo": [f"opentype/lobstertwo/LobsterTwo-{s}.otf" for s in ("Regular", "Italic", "Bold",
                                                                            "BoldItalic")],
    "fonts-summersby": ["truetype/summersby/summersby.ttf"],
    "fonts-gfs-olga": ["opentype/olga/GFSOlga.otf"],
    "fonts-sil-andika": [f"truetype/andika/Andika-{s}.ttf" for s in ("Regular", "Italic", "Bold", "BoldItalic")],
    "fonts-averia-gwf": [f"truetype/averia-gwf/AveriaGWF-{s}.ttf" for s in ("Regular", "Italic", "Light", "Bold")],
    "fonts-tlwg-umpush-otf": ["opentype/tlwg/Umpush.otf"],
    "fonts-tlwg-loma-otf": ["opentype/tlwg/Loma.otf"],
    "fonts-tlwg-norasi-otf": ["opentype/tlwg/Norasi-Italic.otf"],
    "fonts-tlwg-typist-otf": ["opentype/tlwg/TlwgTypist.otf"],
    "fonts-comfortaa": ["truetype/comfortaa/Comfortaa-Regular.ttf"],
    "fonts-quicksand": ["truetype/quicksand/Quicksand-Regular.ttf"],
}
DEV_FONTS = {
    "fonts-navilu": ["truetype/Navilu/Navilu.ttf"],
    "fonts-yusei-magic": ["truetype/yusei-magic/YuseiMagic-Regular.ttf"],
    "fonts-havana": ["opentype/havana/Havana-Regular.otf"],
    "fonts-klaudia-berenika": [f"truetype/klaudia-berenika/Klaudia{s}.ttf"
                               for s in ("", "-Bold", "-Oblique", "-BoldOblique")],
    "fonts-urw-base35": [f"opentype/urw-base35/{n}.otf" for n in ("Z003-MediumItalic", "NimbusRoman-Regular",
                                                                  "NimbusRoman-Italic", "NimbusRoman-Bold",
                                                                  "URWGothic-Book", "URWGothic-DemiOblique",
                                                                  "NimbusSans-Regular", "NimbusSans-Italic",
                                                                  "NimbusMonoPS-Regular")],
    "fonts-sil-charis": [f"truetype/charis/CharisSIL-{s}.ttf" for s in ("Regular", "Italic", "Bold")],
}
# The second round's harder development fonts (the "script" part): connected and informal hands, since the first
# look at the test set found its misses mostly in two connected script fonts. No family shared with TRAIN_FONTS.
DEV_SCRIPT_FONTS = {
    "fonts-joscelyn": ["opentype/joscelyn/Joscelyn-Regular.otf"],
    "fonts-dustin": ["truetype/dustin/Domestic_Manners.ttf", "truetype/dustin/Junkyard.ttf"],
    "fonts-smc-chilanka": ["opentype/malayalam/Chilanka-Regular.otf"],
    "fonts-unfonts-extra": ["truetype/unfonts-extra/UnPilgia.ttf"],
    "fonts-isabella": ["truetype/isabella/Isabella.ttf"],
    "fonts-staypuft": ["truetype/staypuft/StayPuft.ttf"],
}
FONT_ROOT = Path("/usr/share/fonts")

# ---------------------------------------------------------------- stroke templates (unit square, y down)

arc = H.arc


def _line(*pts) -> list[tuple[float, float]]:
    return [tuple(p) for p in pts]


def _curve(f, n: int = 10) -> list[tuple[float, float]]:
    """Points f(t) for t from 0 to 1."""
    return [tuple(f(t)) for t in np.linspace(0, 1, n)]


# Written for training: several ways to write each digit, the serif 1 and crossed 7 among them
TRAIN_TEMPLATES: dict[str, tuple[int, list]] = {
    "0-ccw": (0, [arc(.5, .5, .32, .46, -80, 290, 30)]),
    "0-tilted": (0, [[(x + .12 * (.5 - y), y) for x, y in arc(.5, .5, .26, .45, 250, -110, 30)]]),
    "0-round": (0, [arc(.5, .5, .42, .45, -95, 268, 30)]),
    "1-bare": (1, [_line((.47, .04), (.53, .5), (.49, .96))]),
    "1-hook": (1, [_line((.35, .18), (.52, .04), (.5, .96))]),
    "1-longflag": (1, [_line((.2, .35), (.58, .04), (.56, .96))]),
    "1-serif": (1, [_line((.38, .3), (.5, .03), (.46, .92)), _line((.2, .93), (.72, .97))]),
    "1-serif-one": (1, [_line((.22, .3), (.48, .02), (.52, .96), (.2, .9), (.8, .98))]),
    "2-swan": (2, [arc(.5, .28, .35, .22, 190, 370, 12) + _line((.78, .38), (.12, .96), (.92, .9))]),
    "2-angular": (2, [_line((.2, .15), (.5, .04), (.8, .18), (.78, .38), (.18, .95), (.85, .95))]),
    "2-curlybase": (2, [arc(.5, .3, .28, .25, 185, 365, 12) + _line((.74, .45), (.28, .85))
                        + arc(.35, .88, .09, .08, -60, -330, 8) + _line((.5, .93), (.82, .9))]),
    "3-round": (3, [arc(.47, .27, .28, .22, 195, 440, 14) + arc(.47, .72, .32, .26, -85, 155, 14)]),
    "3-flat": (3, [_line((.18, .06), (.78, .06), (.42, .4)) + arc(.47, .68, .32, .28, -85, 150, 14)]),
    "3-pointy": (3, [_line((.2, .1), (.7, .12), (.4, .45), (.75, .55), (.72, .85), (.22, .92))]),
    "4-open": (4, [_line((.4, .02), (.08, .7), (.95, .66)), _line((.72, .38), (.66, .99))]),
    "4-closed": (4, [_line((.62, .99), (.7, .02), (.02, .58), (.9, .56))]),
    "4-tall": (4, [_line((.62, .04), (.1, .62), (.85, .62)), _line((.62, .04), (.62, .97))]),
    "5-two": (5, [_line((.22, .04), (.3, .5)) + arc(.52, .72, .3, .24, -130, 155, 16), _line((.22, .04), (.86, .12))]),
    "5-one": (5, [_line((.85, .1), (.35, .05), (.22, .5)) + arc(.52, .7, .33, .24, -150, 140, 16)]),
    "5-square": (5, [_line((.78, .05), (.25, .05), (.25, .45), (.65, .45), (.78, .65), (.65, .92), (.2, .92))]),
    "6-curve": (6, [_line((.7, .04)) + arc(.72, .62, .52, .57, -105, -180, 7)[1:] + arc(.5, .72, .29, .24, 180, 540, 20)]),
    "6-straight": (6, [_line((.8, .02), (.35, .45)) + arc(.5, .75, .24, .21, 190, 550, 20)]),
    "6-small": (6, [_line((.6, .04), (.3, .6)) + arc(.45, .8, .18, .16, 200, 560, 16)]),
    "7-plain": (7, [_line((.05, .12), (.9, .04), (.5, .97))]),
    "7-crossed": (7, [_line((.05, .12), (.9, .04), (.5, .97)), _line((.4, .55), (.9, .45))]),
    "7-hook": (7, [_line((.2, .3), (.1, .1), (.9, .02), (.58, .96))]),
    "7-curved": (7, [_line((.12, .08), (.85, .08)) + [(.85 - .4 * t ** .7, .08 + .88 * t) for t in np.linspace(0, 1, 8)]]),
    "8-one": (8, [arc(.5, .24, .2, .19, 45, -315, 18) + arc(.5, .68, .34, .3, -90, 270, 22)]),
    "8-loops": (8, [arc(.5, .3, .2, .25, 90, 450, 18), arc(.5, .76, .28, .2, 90, 450, 20)]),
    "8-cross": (8, [[(.5 + .3 * math.sin(2 * t), .5 - .45 * math.cos(t)) for t in np.linspace(0, 2 * math.pi, 30)]]),
    "9-stick": (9, [arc(.45, .32, .3, .22, 30, 390, 20), _line((.75, .2), (.7, .97))]),
    "9-tail": (9, [arc(.46, .3, .25, .27, 40, 400, 20) + _line((.7, .55), (.55, .85), (.3, .9))]),
    "9-one": (9, [arc(.5, .3, .28, .25, -20, -380, 20) + _line((.77, .25), (.75, .97))]),
    # second round: looped, slashed and slanted ways, more 8s and 9s (written apart from DEV_CURSIVE)
    "0-lefty": (0, [arc(.5, .5, .3, .44, 250, -100, 30)]),
    "1-curvedflag": (1, [_curve(lambda t: (.25 + .3 * t, .38 - .36 * t ** .6)) + _line((.52, .98))]),
    "2-flourish": (2, [arc(.45, .28, .3, .22, 170, 365, 12) + _line((.75, .35), (.22, .86))
                       + arc(.22, .9, .07, .06, -90, -380, 10) + _line((.22, .84), (.85, .92), (.95, .84))]),
    "3-sharpmid": (3, [arc(.5, .25, .26, .2, 195, 400, 12) + [(.42, .47)] + arc(.5, .72, .3, .25, -70, 160, 14)]),
    "4-slashed": (4, [_line((.58, .03), (.12, .68), (.95, .66)), _line((.8, .12), (.55, .98))]),
    "5-curlbowl": (5, [_line((.3, .06), (.25, .44)) + arc(.5, .68, .32, .26, -140, 190, 18),
                       _line((.3, .06), (.88, .02))]),
    "6-lean": (6, [_curve(lambda t: (.85 - .55 * t ** .7, .02 + .7 * t)) + arc(.45, .74, .25, .22, 200, 560, 20)]),
    "7-wavybar": (7, [_curve(lambda t: (.08 + .84 * t, .1 - .05 * math.sin(math.pi * 2 * t))) + _line((.55, .98)),
                      _line((.25, .55), (.8, .5))]),
    "8-twostroke": (8, [arc(.5, .72, .3, .24, -90, 270, 20) + arc(.5, .27, .22, .2, 90, -90, 12),
                        arc(.5, .27, .22, .2, -90, -270, 12)]),
    "8-slanted": (8, [[(.5 + .27 * math.sin(2 * t) + .18 * math.cos(t), .5 - .46 * math.cos(t))
                       for t in np.linspace(0, 2 * math.pi + .25, 34)]]),
    "9-roundtail": (9, [arc(.52, .3, .27, .23, 10, 370, 20) + _curve(lambda t: (.79 - .2 * t, .3 + .55 * t))
                        + arc(.45, .85, .14, .11, 0, 160, 8)]),
    "9-loopstart": (9, [_line((.8, .08)) + arc(.5, .3, .28, .24, -40, -395, 22) + _line((.78, .25), (.72, .97))]),
}

# Written separately for choosing settings: other proportions, stroke orders and mixes of the same styles
DEV_TEMPLATES: dict[str, tuple[int, list]] = {
    "0-egg": (0, [arc(.5, .52, .3, .44, 260, -95, 28)]),
    "0-lean": (0, [[(x - .1 * (.5 - y), y) for x, y in arc(.5, .5, .22, .46, -90, 275, 28)]]),
    "1-plain": (1, [_line((.45, .06), (.52, .95))]),
    "1-flagged": (1, [_line((.25, .35), (.62, .02), (.5, .96))]),
    "1-footed": (1, [_line((.35, .2), (.5, .05), (.5, .93)), _line((.3, .94), (.7, .94))]),
    "2-round": (2, [arc(.5, .32, .32, .26, 180, 375, 12) + _line((.8, .45), (.15, .92), (.88, .9))]),
    "2-zed": (2, [_line((.18, .08), (.82, .08), (.2, .92), (.85, .92))]),
    "3-soft": (3, [arc(.5, .26, .26, .21, 210, 445, 14) + arc(.5, .7, .3, .27, -95, 165, 14)]),
    "3-zedtop": (3, [_line((.22, .05), (.82, .05), (.5, .38)) + arc(.5, .66, .3, .3, -95, 150, 14)]),
    "4-cross": (4, [_line((.4, .04), (.1, .6), (.9, .6)), _line((.7, .2), (.7, .96))]),
    "4-shut": (4, [_line((.55, .97), (.66, .08), (.05, .7), (.95, .7))]),
    "5-flag": (5, [_line((.24, .08), (.22, .45)) + arc(.46, .67, .3, .27, -150, 155, 16), _line((.24, .08), (.78, .1))]),
    "5-loop": (5, [_line((.8, .06), (.28, .06), (.24, .47)) + arc(.5, .7, .32, .25, -150, 140, 16)]),
    "6-swoop": (6, [_line((.75, .06)) + arc(.7, .65, .55, .6, -100, -180, 7)[1:] + arc(.48, .7, .3, .26, 180, 540, 20)]),
    "6-stiff": (6, [_line((.68, .06), (.25, .6)) + arc(.48, .72, .26, .22, 210, 570, 20)]),
    "7-flat": (7, [_line((.02, .02), (.95, .1), (.3, .9))]),
    "7-bar": (7, [_line((.1, .06), (.9, .06), (.35, .95)), _line((.3, .5), (.78, .48))]),
    "7-serifed": (7, [_line((.05, .32), (.15, .02), (.95, .1), (.42, .99))]),
    "8-single": (8, [arc(.5, .28, .24, .21, -90, -450, 18) + arc(.5, .72, .29, .25, 270, -90, 20)]),
    "8-stacked": (8, [arc(.45, .27, .25, .2, 180, 540, 18), arc(.55, .72, .27, .25, 180, 540, 20)]),
    "9-line": (9, [arc(.48, .3, .24, .26, 60, 420, 20), _line((.72, .3), (.62, .98))]),
    "9-curl": (9, [arc(.5, .28, .27, .24, 0, 360, 20) + _line((.77, .5), (.68, .85), (.45, .95))]),
}

# The second round's harder development templates (the "cursive" part): connected, looped, slashed and crossed ways
# of writing, more 8s and 9s; written apart from the training templates
DEV_CURSIVE = {
    "0-overshoot": (0, [arc(.5, .55, .3, .42, -60, 300, 30) + [(.66, .08)]]),
    "0-slashed": (0, [arc(.5, .5, .27, .45, -90, 270, 28), _line((.7, .12), (.3, .88))]),
    "1-leadin": (1, [_line((.2, .42), (.4, .2), (.6, .02)) + _curve(lambda t: (.6 - .12 * t, .02 + .95 * t ** 1.1))]),
    "2-loopbase": (2, [arc(.5, .3, .3, .24, 190, 370, 12) + _line((.78, .38), (.3, .8))
                       + arc(.3, .86, .09, .07, -60, -420, 12) + _line((.34, .8), (.9, .88))]),
    "3-midloop": (3, [arc(.48, .26, .27, .21, 200, 430, 14) + arc(.44, .49, .06, .04, 90, -200, 8)
                      + arc(.48, .71, .3, .25, -90, 160, 14)]),
    "4-onestroke": (4, [_line((.42, .03), (.08, .62), (.92, .6), (.7, .28), (.66, .98))]),
    "5-wide": (5, [_line((.85, .04), (.3, .07), (.22, .46)) + arc(.45, .7, .36, .25, -145, 168, 18)]),
    "6-tailloop": (6, [_curve(lambda t: (.75 - .5 * t ** .8, .04 + .62 * t)) + arc(.5, .72, .27, .23, 180, 520, 20)]),
    "7-curlstem": (7, [_line((.1, .1), (.9, .06)) + _curve(lambda t: (.9 - .55 * t ** 1.6, .06 + .9 * t)),
                       _line((.3, .52), (.82, .5))]),
    "7-europe": (7, [_line((.08, .25), (.12, .08), (.92, .05)) + _curve(lambda t: (.92 - .5 * t, .05 + .92 * t ** .9)),
                     _line((.28, .55), (.75, .55))]),
    "8-sreturn": (8, [arc(.5, .27, .23, .21, -10, -270, 14) + arc(.5, .71, .27, .23, -90, 180, 16) + [(.72, .22)]]),
    "8-smalltop": (8, [[(.5 + (.17 if t < math.pi / 2 or t > 3 * math.pi / 2 else .3) * math.sin(2 * t),
                         .5 - .45 * math.cos(t)) for t in np.linspace(-.3, 2 * math.pi, 34)]]),
    "9-curltail": (9, [arc(.5, .3, .26, .24, -10, -370, 20)
                       + _curve(lambda t: (.76 - .36 * t ** 2, .3 + .65 * t ** .8))]),
    "9-angular": (9, [_line((.75, .15), (.3, .1), (.25, .42), (.72, .4), (.75, .1), (.6, .97))]),
}


# ---------------------------------------------------------------- scribbles that are no digit

def turtle(rng: np.random.Generator) -> np.ndarray:
    """A wandering pen: a walk whose turning rate itself wanders, sometimes with sharp corners (points, unit-ish)."""
    n = int(rng.integers(30, 100))
    heading, turn = rng.uniform(0, 2 * math.pi), rng.normal(0, 0.15)
    corner_p = rng.choice([0.0, 0.05, 0.12])
    pts = [rng.uniform(0.2, 0.8, 2)]
    for _ in range(n):
        turn = 0.9 * turn + rng.normal(0, 0.08)
        heading += turn + (rng.choice([-1, 1]) * rng.uniform(1.5, 2.8) if rng.random() < corner_p else 0.0)
        pts.append(pts[-1] + 0.02 * np.array([math.cos(heading), math.sin(heading)]))
    return np.array(pts)


def zigzag(rng: np.random.Generator) -> np.ndarray:
    """Back-and-forth strokes: a zigzag or a hatching, straight or wavy."""
    k = int(rng.integers(6, 11))  # fewer corners would make a Z, that is a 2
    xs = np.where(np.arange(k) % 2 == 0, rng.uniform(0, .25, k), rng.uniform(.75, 1, k))
    ys = np.sort(rng.uniform(0, 1, k)) if rng.random() < 0.7 else np.linspace(0, 1, k)
    pts = np.stack([xs, ys], 1)
    return pts[:, ::-1] if rng.random() < 0.5 else pts


def spiral_or_loops(rng: np.random.Generator) -> np.ndarray:
    """A spiral, or a chain of loops (a telephone cord)."""
    t = np.linspace(0, rng.uniform(4, 7) * math.pi, 120)  # at least two turns: not a 6
    if rng.random() < 0.5:
        r = t / t[-1]
        return np.stack([.5 + .5 * r * np.cos(t), .5 + .5 * r * np.sin(t)], 1)
    return np.stack([t / t[-1] + .15 * np.cos(2.5 * t), .5 + .3 * np.sin(2.5 * t)], 1)


def scribble_strokes(rng: np.random.Generator) -> list[np.ndarray]:
    """1-3 strokes of wandering lines, zigzags, spirals and loops."""
    makers = (turtle, turtle, turtle, zigzag, spiral_or_loops)
    return [makers[int(rng.integers(len(makers)))](rng) for _ in range(int(rng.integers(1, 4)))]


def scribble_canvas(rng: np.random.Generator) -> np.ndarray:
    """A scribble drawn on the 280 canvas with a round pen (PIL lines with rounded joints), random size and place."""
    from PIL import Image, ImageDraw

    while True:
        strokes = scribble_strokes(rng)
        allp = np.concatenate(strokes)
        lo, hi = allp.min(0), allp.max(0)
        if (hi - lo).min() < 0.3 * (hi - lo).max():  # a thin shape is framed like a 1
            continue
        size = rng.uniform(90, 250)
        scale = size / max(float((hi - lo).max()), 1e-3)
        centre = rng.uniform(size / 2 + 6, H.CANVAS - size / 2 - 6, 2)
        width = int(round(math.exp(rng.uniform(math.log(3), math.log(max(3.5, min(28, size / 5)))))))
        img = Image.new("L", (H.CANVAS, H.CANVAS), 255)
        d = ImageDraw.Draw(img)
        for s in strokes:
            xy = (s - (lo + hi) / 2) * scale + centre
            d.line([tuple(p) for p in xy], fill=0, width=width, joint="curve")
            r = width / 2
            for x, y in (xy[0], xy[-1]):
                d.ellipse((x - r, y - r, x + r, y + r), fill=0)
        canvas = np.asarray(img)
        if H.usable(canvas):
            return canvas


# ---------------------------------------------------------------- rendering the sets

def font_files(table: dict[str, list[str]]) -> dict[str, Path]:
    test = {Path(f).name for files in H.FONTS.values() for f in files}
    out = {}
    for files in table.values():
        for f in files:
            path = FONT_ROOT / f
            if path.name in test:
                raise SystemExit(f"{f} is one of the test set's fonts (tests/handdigits.FONTS); it must not be used")
            if not path.is_file():
                raise SystemExit(f"font {path} is missing; install the packages in this script's docstring")
            out[path.stem] = path
    return out


def font_items(table, per: int, rng) -> list[tuple[np.ndarray, int, str]]:
    """(canvas, digit, "font:<font>") for every font, digit and rendering."""
    out = []
    for name, path in font_files(table).items():
        for d in range(10):
            mask = H.glyph_mask(path, d)
            out += [(H.font_sample(mask, rng), d, f"font:{name}") for _ in range(per)]
    return out


def stroke_items(templates, per: int, rng) -> list[tuple[np.ndarray, int, str]]:
    """(canvas, digit, "stroke:<template>") for every template and drawing."""
    return [(H.stroke_sample(strokes, rng), d, f"stroke:{name}")
            for name, (d, strokes) in templates.items() for _ in range(per)]


def framed(canvas: np.ndarray) -> np.ndarray:
    """A 280x280 canvas (black on white) -> uint8 28x28 as the app frames it (white on black)."""
    return np.round(mnist_style(1.0 - canvas.astype(np.float32) / 255.0) * 255).astype(np.uint8)


def write_train(a) -> None:
    rng = np.random.default_rng(TRAIN_SEED)
    items = font_items(TRAIN_FONTS, a.font_samples, rng) + stroke_items(TRAIN_TEMPLATES, a.stroke_samples, rng)
    scribbles = [scribble_canvas(rng) for _ in range(a.scribbles)]
    images = np.stack([framed(c) for c, _, _ in items])
    out = a.out or TRAIN_OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, images=images, labels=np.array([d for _, d, _ in items], dtype=np.int8),
                        styles=np.array([s for _, _, s in items]), scribbles=np.stack([framed(c) for c in scribbles]))
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): {len(items)} digits, {len(scribbles)} scribbles")


def write_dev(a) -> None:
    rng = np.random.default_rng(DEV_SEED)
    parts = {"font": font_items(DEV_FONTS, 5, rng), "stroke": stroke_items(DEV_TEMPLATES, 25, rng)}
    scribbles = [scribble_canvas(rng) for _ in range(a.dev_scribbles)]
    hard = np.random.default_rng(DEV_SEED + 100)  # the second round's parts: the first round's stay as they were
    parts |= {"script": font_items(DEV_SCRIPT_FONTS, 10, hard), "cursive": stroke_items(DEV_CURSIVE, 25, hard)}
    items = [(img, d, part, style) for part, rows in parts.items() for img, d, style in rows]
    items += [(img, -1, "scribble", "scribble") for img in scribbles]
    png, offsets = H.encode([i[0] for i in items])
    DEV_OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(DEV_OUT, png=png, offsets=offsets, labels=np.array([i[1] for i in items], dtype=np.int8),
                        parts=np.array([i[2] for i in items]), styles=np.array([i[3] for i in items]))
    print(f"wrote {DEV_OUT}: {len(items)} drawings {({p: len(r) for p, r in parts.items()})}, "
          f"{len(scribbles)} scribbles")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev-only", action="store_true")
    ap.add_argument("--train-only", action="store_true")
    ap.add_argument("--font-samples", type=int, default=3, help="training renderings per font and digit")
    ap.add_argument("--stroke-samples", type=int, default=20, help="training renderings per template")
    ap.add_argument("--scribbles", type=int, default=3000, help="training scribbles")
    ap.add_argument("--dev-scribbles", type=int, default=500)
    ap.add_argument("--out", type=Path, help=f"the training file (default {TRAIN_OUT.relative_to(ROOT)})")
    a = ap.parse_args()
    if not a.train_only:
        write_dev(a)
    if not a.dev_only:
        write_train(a)


if __name__ == "__main__":
    main()
