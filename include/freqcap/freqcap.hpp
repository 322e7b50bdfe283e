// freqcap's umbrella header: include this one file to get the whole public API.
#pragma once

#include "freqcap/version.hpp"
#include "freqcap/core/error.hpp"
