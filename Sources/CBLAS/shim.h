// The C interface of OpenBLAS, as Debian's libopenblas-dev installs it: cblas.h lives
// in the directory that `pkg-config --cflags openblas` names, which SwiftPM adds to the
// include path of this system library.
#include <cblas.h>

// OpenBLAS's thread-pool size, set and read. OpenBLAS's cblas.h declares them; a reference CBLAS header
// found first on the include path would not, and identical redeclarations are harmless.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
