// lightflus_typescript_code_cache OUTPUT: writes V8's code cache of the embedded typescript.js
// to OUTPUT. Run by the build; the result is embedded into lightflus::js (see transpiler.hpp).
#include <cstdio>
#include <exception>
#include <fstream>
#include <string>
#include <vector>

#include "transpiler.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT\n", argv[0]);
    return 2;
  }
  try {
    std::vector<std::uint8_t> cache = lightflus::js::Transpiler().createCodeCache();
    if (cache.empty()) {
      std::fprintf(stderr, "%s: V8 made no code cache for typescript.js\n", argv[0]);
      return 1;
    }
    // Written beside and renamed, so that a failed run leaves no truncated cache behind.
    std::string temporary = std::string(argv[1]) + ".tmp";
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(cache.data()),
              static_cast<std::streamsize>(cache.size()));
    out.close();
    if (!out || std::rename(temporary.c_str(), argv[1]) != 0) {
      std::fprintf(stderr, "%s: cannot write %s\n", argv[0], argv[1]);
      return 1;
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s: %s\n", argv[0], error.what());
    return 1;
  }
  return 0;
}
