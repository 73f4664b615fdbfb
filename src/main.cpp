#include <exception>
#include <iostream>

#include "cli/commands.hpp"
#include "core/process.hpp"

int main(int argc, char** argv) {
  hush::process::ensure_standard_descriptors();
  // Everything inside one try: building the command line can throw too (bad_alloc, CLI11's
  // definition errors), and an escaped exception would end in std::terminate, not one line.
  try {
    hush::process::forbid_core_dumps();
    hush::process::remember_args(argc, argv);
    return hush::cli::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "hush: " << e.what() << "\n";
    return 1;
  }
}
