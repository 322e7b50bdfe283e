// Fashion Scenes v1, the built-in captioning data set (/work/shared/SCENES.md,
// docs/scenes.md). Rendering lives in data/scene_render.hpp; this header adds
// scene sampling, captions and set generation (in progress).
#pragma once

#include "freqcap/data/scene_render.hpp"
