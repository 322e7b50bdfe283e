# FindFFTW3: finds FFTW 3 (fftw3.h and its libraries) without relying on the
# FFTW3Config.cmake some distributions ship (Debian's is broken).
#
# Components (default: float):
#   float          libfftw3f          -> imported target FFTW3::fftw3f
#   double         libfftw3           -> FFTW3::fftw3
#   long           libfftw3l          -> FFTW3::fftw3l
#   float_omp      libfftw3f_omp      -> FFTW3::fftw3f_omp      (links FFTW3::fftw3f)
#   float_threads  libfftw3f_threads  -> FFTW3::fftw3f_threads  (links FFTW3::fftw3f)
# Result variables: FFTW3_FOUND, FFTW3_INCLUDE_DIR, FFTW3_<component>_FOUND,
# FFTW3_<component>_LIBRARY.
include(FindPackageHandleStandardArgs)

set(_fftw3_lib_float fftw3f)
set(_fftw3_lib_double fftw3)
set(_fftw3_lib_long fftw3l)
set(_fftw3_lib_float_omp fftw3f_omp)
set(_fftw3_lib_float_threads fftw3f_threads)

if(NOT FFTW3_FIND_COMPONENTS)
  set(FFTW3_FIND_COMPONENTS float)
  set(FFTW3_FIND_REQUIRED_float TRUE)
endif()

find_path(FFTW3_INCLUDE_DIR NAMES fftw3.h)
mark_as_advanced(FFTW3_INCLUDE_DIR)

foreach(_comp IN LISTS FFTW3_FIND_COMPONENTS)
  if(NOT DEFINED _fftw3_lib_${_comp})
    message(FATAL_ERROR "FindFFTW3: unknown component '${_comp}' "
                        "(known: float double long float_omp float_threads)")
  endif()
  find_library(FFTW3_${_comp}_LIBRARY NAMES ${_fftw3_lib_${_comp}})
  mark_as_advanced(FFTW3_${_comp}_LIBRARY)
  if(FFTW3_${_comp}_LIBRARY AND FFTW3_INCLUDE_DIR)
    set(FFTW3_${_comp}_FOUND TRUE)
  else()
    set(FFTW3_${_comp}_FOUND FALSE)
  endif()
endforeach()

find_package_handle_standard_args(FFTW3
  REQUIRED_VARS FFTW3_INCLUDE_DIR
  HANDLE_COMPONENTS)

if(FFTW3_FOUND)
  # The threaded libraries need their base library, so make the base ones first.
  foreach(_comp float double long float_omp float_threads)
    set(_target FFTW3::${_fftw3_lib_${_comp}})
    if(FFTW3_${_comp}_FOUND AND NOT TARGET ${_target})
      add_library(${_target} UNKNOWN IMPORTED)
      set_target_properties(${_target} PROPERTIES
        IMPORTED_LOCATION "${FFTW3_${_comp}_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${FFTW3_INCLUDE_DIR}")
      if(_comp MATCHES "^float_" AND TARGET FFTW3::fftw3f)
        set_property(TARGET ${_target} APPEND PROPERTY INTERFACE_LINK_LIBRARIES FFTW3::fftw3f)
      endif()
    endif()
  endforeach()
endif()
