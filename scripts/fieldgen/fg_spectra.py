"""Surface reflectance of the scene's materials in four bands, order (blue, green, red, NIR).

Values are hemispherical-directional reflectance at band centres ~475/560/668/840 nm as a
consumer RGB+NIR rig sees them, chosen from published spectra (see README): green leaves reflect
~4-5 % blue, 8-10 % green, 4-6 % red and 35-50 % NIR; waxy (glaucous) leaves of poppy and
brassicas scatter more in the visible, above all in blue; cannabis leaves are yellow-green with high
NIR; petals carry their pigment in the visible and are bright in NIR; soils have NIR ~1.2-1.3 x red.
"""
import numpy as np


def S(b, g, r, n):
    return np.array([b, g, r, n], np.float32)


SPEC = {
    # crops and weeds
    "leaf_green": S(0.040, 0.085, 0.050, 0.42),
    "weed": S(0.045, 0.095, 0.060, 0.38),
    "poppy_leaf": S(0.078, 0.125, 0.088, 0.40),      # glaucous blue-green
    "poppy_leaf_young": S(0.066, 0.120, 0.080, 0.37),
    "capsule": S(0.085, 0.135, 0.100, 0.36),          # grey-green, bloom
    "bud": S(0.060, 0.110, 0.075, 0.34),
    "stamen": S(0.090, 0.300, 0.380, 0.50),
    "petal_white": S(0.560, 0.600, 0.620, 0.58),
    "petal_red": S(0.050, 0.045, 0.430, 0.52),
    "petal_pink": S(0.380, 0.250, 0.600, 0.56),
    "petal_purple": S(0.290, 0.100, 0.250, 0.48),
    "petal_lilac": S(0.440, 0.330, 0.460, 0.55),
    "petal_blotch": S(0.030, 0.020, 0.040, 0.22),
    "cabbage_outer": S(0.088, 0.135, 0.095, 0.46),
    "cabbage_head": S(0.095, 0.190, 0.145, 0.50),
    "cabbage_old": S(0.070, 0.140, 0.130, 0.36),
    "cannabis_leaf": S(0.036, 0.145, 0.095, 0.53),
    "cannabis_deep": S(0.020, 0.065, 0.040, 0.36),
    "mustard_leaf": S(0.050, 0.105, 0.065, 0.44),
    "mustard_flower": S(0.055, 0.360, 0.460, 0.52),
    "buckwheat_leaf": S(0.040, 0.100, 0.065, 0.42),
    "buckwheat_stem": S(0.050, 0.060, 0.110, 0.35),
    "buck_white": S(0.440, 0.460, 0.500, 0.55),
    "buck_pink": S(0.360, 0.300, 0.500, 0.52),
    "maize_dry": S(0.130, 0.190, 0.250, 0.33),
    "maize_brown": S(0.080, 0.110, 0.150, 0.27),
    "maize_green": S(0.042, 0.095, 0.060, 0.45),
    "tea": S(0.028, 0.060, 0.036, 0.36),
    "tea_flush": S(0.040, 0.100, 0.062, 0.42),
    # trees
    "forest_ever": S(0.025, 0.055, 0.032, 0.32),
    "forest_pine": S(0.024, 0.045, 0.030, 0.24),
    "bamboo": S(0.040, 0.100, 0.070, 0.42),
    "decid_bare": S(0.070, 0.080, 0.092, 0.22),
    "autumn": S(0.040, 0.090, 0.160, 0.35),
    "understory": S(0.030, 0.050, 0.045, 0.22),
    "blossom_pink": S(0.420, 0.330, 0.600, 0.50),
    "blossom_white": S(0.570, 0.600, 0.620, 0.55),
    "branch": S(0.050, 0.055, 0.065, 0.18),
    # background vegetation
    "grass_green": S(0.045, 0.085, 0.060, 0.36),
    "grass_dry": S(0.085, 0.120, 0.150, 0.29),
    "bracken": S(0.060, 0.090, 0.150, 0.28),
    "shrub": S(0.030, 0.065, 0.040, 0.34),
    "shrub_grey": S(0.050, 0.075, 0.060, 0.30),
    "straw": S(0.150, 0.210, 0.270, 0.34),
    # soils (NIR ~ 1.2-1.3 x red)
    "soil_red": S(0.060, 0.085, 0.145, 0.180),
    "soil_brown": S(0.065, 0.085, 0.112, 0.140),
    "soil_grey": S(0.100, 0.115, 0.130, 0.160),
    "stone": S(0.220, 0.230, 0.240, 0.270),
    # built
    "concrete": S(0.220, 0.230, 0.235, 0.260),
    "roof_zinc": S(0.200, 0.212, 0.220, 0.240),
    "roof_rust": S(0.060, 0.090, 0.180, 0.250),
    "roof_blue": S(0.250, 0.170, 0.100, 0.240),
    "roof_red": S(0.080, 0.070, 0.260, 0.300),
    "roof_tile": S(0.080, 0.120, 0.300, 0.350),
    "roof_fibro": S(0.190, 0.200, 0.210, 0.230),
    "roof_thatch": S(0.080, 0.110, 0.140, 0.220),
}

SOILS = ("soil_red", "soil_brown", "soil_grey")
