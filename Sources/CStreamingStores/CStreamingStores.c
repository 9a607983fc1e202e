// The functions are static inline in the header, so that Swift inlines them into the
// kernels' loops; this file only gives the target a source to compile.
#include "CStreamingStores.h"
