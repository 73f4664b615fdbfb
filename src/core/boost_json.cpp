// Boost.JSON's implementation, compiled once into the core library (its documented way to use it
// without linking a Boost.JSON library), for the layers that speak JSON: http and acme.
#include <boost/json/src.hpp>
