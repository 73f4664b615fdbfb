// Writes seed inputs for fuzz_envelope into the directory given as argv[1]: envelopes sealed
// under the fixed fuzzing key, in the input layout of envelope_input.hpp. Run once by hand:
//   cmake --build --preset fuzz --target make_envelope_seeds
//   build/fuzz/tests/fuzz/make_envelope_seeds tests/fuzz/corpus/fuzz_envelope
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "envelope_input.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_envelope_seeds DIR\n");
    return 2;
  }
  const auto key = hush::fuzz::fixed_envelope_key();
  struct seed {
    const char* file;
    std::uint32_t key_id;
    std::string context;
    std::string plaintext;
  };
  const std::vector<seed> seeds = {
      {"sealed-message", 1, "hush/message/1", "the newest secret"},
      {"sealed-empty-plaintext", 7, "hush/message/42", ""},
      {"sealed-no-context", 0xfffffffe, "", "no associated data"},
      {"sealed-data-key", 2, "hush/data-key/2", std::string(32, '\x5a')},
      {"sealed-utf8", 3, "hush/message/9",
       "\xc3\xbc\xc3\xb1\xc3\xaf\x63\xc3\xb6\x64\xc3\xa9 \xe2\x9c\x93"},
  };
  for (const auto& s : seeds) {
    const auto sealed = hush::crypto::envelope::seal(
        key, s.key_id,
        std::span(reinterpret_cast<const std::uint8_t*>(s.plaintext.data()), s.plaintext.size()),
        s.context);
    std::ofstream out(std::string(argv[1]) + "/" + s.file, std::ios::binary);
    out.put(static_cast<char>(s.context.size()));
    out.write(s.context.data(), static_cast<std::streamsize>(s.context.size()));
    out.write(reinterpret_cast<const char*>(sealed.data()),
              static_cast<std::streamsize>(sealed.size()));
    if (!out) {
      std::perror(s.file);
      return 1;
    }
  }
  return 0;
}
