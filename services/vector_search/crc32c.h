#ifndef QUARRY_SERVICES_VECTOR_SEARCH_CRC32C_H_
#define QUARRY_SERVICES_VECTOR_SEARCH_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace quarry::vector_search {

// CRC-32C (Castagnoli), as in iSCSI/ext4: Crc32c("123456789") == 0xE3069283.
// Uses the SSE4.2 instruction when the CPU has it. `crc` chains calls.
uint32_t Crc32c(const void* data, size_t size, uint32_t crc = 0);

}  // namespace quarry::vector_search

#endif  // QUARRY_SERVICES_VECTOR_SEARCH_CRC32C_H_
