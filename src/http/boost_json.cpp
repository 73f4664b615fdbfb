// Boost.JSON's implementation, compiled once into the http library (its documented way to use it
// without linking a Boost.JSON library).
#include <boost/json/src.hpp>
