// zlib (https://zlib.net), from the system: Debian's zlib1g-dev, found through pkg-config.
#ifndef CZLIB_SHIM_H
#define CZLIB_SHIM_H

#include <zlib.h>

// `inflateInit2` is a macro, which Swift cannot call; this is the same call as a function.
static inline int czlib_inflateInit2(z_streamp stream, int windowBits) {
  return inflateInit2(stream, windowBits);
}

#endif
