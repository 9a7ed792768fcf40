// Open MPI's C interface (Debian: libopenmpi-dev). The include path comes from pkg-config `ompi-c`.
// Open MPI defines its handles (MPI_COMM_WORLD, MPI_DOUBLE, MPI_MAX, ...) as macros over the addresses of global
// objects, which Swift cannot import; these static inline functions return them.
#include <mpi.h>

static inline MPI_Comm cmpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype cmpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype cmpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype cmpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype cmpi_int(void) { return MPI_INT; }
static inline MPI_Datatype cmpi_long_long(void) { return MPI_LONG_LONG; }
static inline MPI_Op cmpi_max(void) { return MPI_MAX; }
static inline MPI_Op cmpi_min(void) { return MPI_MIN; }
static inline MPI_Op cmpi_sum(void) { return MPI_SUM; }
static inline MPI_Status *cmpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline void *cmpi_in_place(void) { return MPI_IN_PLACE; }
static inline int cmpi_success(void) { return MPI_SUCCESS; }
static inline MPI_Errhandler cmpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int cmpi_any_source(void) { return MPI_ANY_SOURCE; }
static inline int cmpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline int cmpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline MPI_Info cmpi_info_null(void) { return MPI_INFO_NULL; }
