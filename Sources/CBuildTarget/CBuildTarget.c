// The functions are static inline in the header; this file only gives the target a
// source to compile.
#include "CBuildTarget.h"
