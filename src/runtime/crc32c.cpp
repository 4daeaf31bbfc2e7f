// CRC32C (Castagnoli polynomial, as in iSCSI, ext4, RocksDB and Kafka's record batches): the
// checksum of checkpoint sections. SSE4.2's crc32 instruction does 8 bytes per cycle or so; a
// table-driven loop is the fallback on CPUs without it.
#include <array>
#include <cstring>

#include "lightflus/checkpoint.hpp"

namespace lightflus {
namespace {

constexpr std::uint32_t kPolynomial = 0x82F63B78;  // reversed Castagnoli

constexpr std::array<std::uint32_t, 256> makeTable() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPolynomial : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr auto kTable = makeTable();

std::uint32_t softwareCrc(const unsigned char* p, std::size_t n, std::uint32_t crc) {
  for (std::size_t i = 0; i < n; ++i) crc = kTable[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t hardwareCrc(const unsigned char* p, std::size_t n,
                                                            std::uint32_t crc) {
  std::uint64_t c = crc;
  while (n >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    c = __builtin_ia32_crc32di(c, word);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (n > 0) {
    c32 = __builtin_ia32_crc32qi(c32, *p++);
    --n;
  }
  return c32;
}
bool hasSse42() {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}
#endif

}  // namespace

std::uint32_t crc32c(std::string_view data, std::uint32_t crc) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  crc = ~crc;
#if defined(__x86_64__)
  if (hasSse42()) return ~hardwareCrc(p, data.size(), crc);
#endif
  return ~softwareCrc(p, data.size(), crc);
}

}  // namespace lightflus
