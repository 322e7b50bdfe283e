// The stb_image / stb_image_write implementations for a header-only library:
// compiled with STB_IMAGE_STATIC / STB_IMAGE_WRITE_STATIC, so every translation unit
// that includes this header gets its own internal-linkage copy and no symbol
// is duplicated across TUs or clashes with a consumer's own stb (or Debian's
// libstb). Include it only through data/image.hpp. If a consumer includes
// <stb_image.h> (non-static) before freqcap's headers in the same TU, the
// implementation would be skipped by stb's include guard; the #error below
// reports that at compile time instead of an obscure link failure.
#pragma once

#include <cassert>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(STBI_INCLUDE_STB_IMAGE_H) && !defined(FREQCAP_STB_IMAGE_INCLUDED)
#error "freqcap/data/image.hpp must be included before <stb_image.h> (it compiles a private static stb_image)"
#endif
#define FREQCAP_STB_IMAGE_INCLUDED 1

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#endif

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#include <stb_image.h>
#undef STB_IMAGE_IMPLEMENTATION

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#undef STB_IMAGE_WRITE_IMPLEMENTATION

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
