// Boost.JSON, compiled once into the core library (its documented header-only mode).
#include <boost/json/src.hpp>
