# FindStb: finds the header-only stb libraries (Debian's libstb-dev puts them
# in /usr/include/stb) and provides the imported target Stb::stb, whose
# include directory (the one holding stb_image.h) is a SYSTEM include.
# Result variables: Stb_FOUND, Stb_INCLUDE_DIR.
include(FindPackageHandleStandardArgs)

find_path(Stb_INCLUDE_DIR NAMES stb_image.h PATH_SUFFIXES stb)
mark_as_advanced(Stb_INCLUDE_DIR)

find_package_handle_standard_args(Stb REQUIRED_VARS Stb_INCLUDE_DIR)

if(Stb_FOUND AND NOT TARGET Stb::stb)
  add_library(Stb::stb INTERFACE IMPORTED)
  set_target_properties(Stb::stb PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${Stb_INCLUDE_DIR}")
endif()
