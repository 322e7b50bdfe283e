// The one Catch2 main for freqcap's test executable; every tests/test_*.cpp joins it.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
