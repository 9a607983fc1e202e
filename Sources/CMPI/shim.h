// Open MPI (https://www.open-mpi.org), from the system: Debian's libopenmpi-dev, found
// through pkg-config (ompi-c).
#ifndef CMPI_SHIM_H
#define CMPI_SHIM_H

#include <mpi.h>

// Open MPI's handles are macros that take the address of a library global
// (`&ompi_mpi_comm_world`), which Swift cannot import; these are the same handles as
// functions.
static inline MPI_Comm cmpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype cmpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype cmpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Op cmpi_sum(void) { return MPI_SUM; }
static inline MPI_Errhandler cmpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int cmpi_success(void) { return MPI_SUCCESS; }
static inline int cmpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int cmpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }

#endif
